use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};

use super::create;
use crate::cli::{Cli, Run};
use runtime::foreground;
use runtime::lifecycle::{destroy, signal, start_created};
use runtime::state::StateDir;

pub fn run(cli: &Cli, r: &Run) -> Result<i32> {
    if r.detach {
        let c = create::create(cli, &r.opts, None)?;
        if let Err(e) = start_created(&c.dir, &c.state) {
            let _ = destroy(c.dir, &c.state);
            return Err(e);
        }
        return Ok(0);
    }
    let mask = foreground::block_signals()?;
    nix::sys::prctl::set_child_subreaper(true).context("becoming a subreaper")?;
    // A terminal without --console-socket: runr holds the pty master itself.
    let (ours, theirs) = if r.opts.console_socket.is_none() {
        let (a, b) = UnixStream::pair().context("creating console socketpair")?;
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let c = create::create(cli, &r.opts, theirs)?;
    let master = match (
        &ours,
        c.state.config.process().as_ref().and_then(|p| p.terminal()),
    ) {
        (Some(sock), Some(true)) => Some(foreground::recv_master(sock)?),
        _ => None,
    };
    if let Err(e) = start_created(&c.dir, &c.state) {
        let _ = destroy(c.dir, &c.state);
        return Err(e);
    }
    let state = c.state;
    // Release the lock so `runr state/kill` work while the container runs.
    drop(c.dir);
    let code = foreground::wait(state.pid, &mask, master)?;
    if !r.keep {
        let dir = StateDir::open(&cli.root, &state.id)?;
        if !state.own_pid_ns {
            let _ = signal(&state, libc::SIGKILL, true);
        }
        destroy(dir, &state)?;
    }
    Ok(code)
}
