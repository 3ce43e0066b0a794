use anyhow::{Context, Result};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{create, delete, start};
use crate::runtime::cli::{Cli, Run};
use crate::runtime::state::StateDir;

pub fn run(cli: &Cli, r: &Run) -> Result<i32> {
    if r.detach {
        let c = create::create(cli, &r.opts, false)?;
        if let Err(e) = start::start(&c.dir, &c.state) {
            let _ = delete::destroy(c.dir, &c.state);
            return Err(e);
        }
        return Ok(0);
    }
    // Block signals before the container exists: its exit (SIGCHLD) and any
    // signal meant for it stay pending until we wait for them. The init
    // resets its mask before exec.
    let mask = forwarded_signals();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    nix::sys::prctl::set_child_subreaper(true).context("becoming a subreaper")?;

    let c = create::create(cli, &r.opts, true)?;
    if let Err(e) = start::start(&c.dir, &c.state) {
        let _ = delete::destroy(c.dir, &c.state);
        return Err(e);
    }
    let state = c.state;
    // Release the lock so `runr state/kill` work while the container runs.
    drop(c.dir);
    let code = wait_for_exit(state.pid, &mask)?;
    if !r.keep {
        let dir = StateDir::open(&cli.root, &state.id)?;
        if !state.own_pid_ns {
            let _ = super::kill::signal(&state, libc::SIGKILL, true);
        }
        delete::destroy(dir, &state)?;
    }
    Ok(code)
}

fn forwarded_signals() -> SigSet {
    let mut s = SigSet::all();
    for sync_sig in [
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGABRT,
        Signal::SIGTRAP,
    ] {
        s.remove(sync_sig);
    }
    s
}

/// Reaps children until the init exits, forwarding every other signal to it.
/// Reaps before each wait, so an exit that happened before we got here is seen.
fn wait_for_exit(init: i32, mask: &SigSet) -> Result<i32> {
    loop {
        loop {
            match waitpid(
                Pid::from_raw(-1),
                Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
            ) {
                Ok(WaitStatus::Exited(p, code)) if p.as_raw() == init => return Ok(code),
                Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == init => {
                    return Ok(128 + sig as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => break,
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("waiting for the container"),
            }
        }
        let sig = mask.wait().context("waiting for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = kill(Pid::from_raw(init), sig);
        }
    }
}
