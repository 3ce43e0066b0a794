use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::runtime::cgroups;
use crate::runtime::cli::{Cli, Kill};
use crate::runtime::signals;
use crate::runtime::state::{ContainerState, StateDir, Status};

pub fn run(cli: &Cli, k: &Kill) -> Result<()> {
    let sig = signals::parse(&k.signal)?;
    let dir = StateDir::open(&cli.root, &k.id)?;
    let state = dir.load()?;
    if state.status(&dir) == Status::Stopped {
        // runc: with --all, a stopped container's leftover processes (if its
        // cgroup still exists) are signalled, and none left is not an error.
        if k.all {
            let _ = signal(&state, sig, true);
            return Ok(());
        }
        bail!("container not running");
    }
    signal(&state, sig, k.all)
}

/// Signals the init, or with `all` every process of the container's cgroup.
pub fn signal(state: &ContainerState, sig: i32, all: bool) -> Result<()> {
    let signal = Signal::try_from(sig).ok();
    // Without a cgroup (rootless) only the init can be reached.
    if state.cgroup_owned && (all || (!state.own_pid_ns && signal == Some(Signal::SIGKILL))) {
        let pids = cgroups::pids(&state.cgroup_path, state.systemd_cgroup, &state.id)?;
        for p in pids {
            let _ = send(p, sig);
        }
        return Ok(());
    }
    send(state.pid, sig).with_context(|| format!("sending signal {sig} to pid {}", state.pid))
}

fn send(pid: i32, sig: i32) -> nix::Result<()> {
    match Signal::try_from(sig) {
        Ok(s) => kill(Pid::from_raw(pid), s),
        // Real-time signals have no nix::Signal; use the raw call.
        // SAFETY: kill(2) with plain integers.
        Err(_) => nix::errno::Errno::result(unsafe { libc::kill(pid, sig) }).map(drop),
    }
}
