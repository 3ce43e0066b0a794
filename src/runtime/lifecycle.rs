//! A container's life after `create` (see `launch`): start, signal, pause,
//! resume, delete, as plain functions over a state root and an id. The
//! refusals a caller may want to tell apart are [`Refused`] values (inside
//! the `anyhow::Error`), worded as runc words them.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill as send_signal, Signal};
use nix::unistd::Pid;

use crate::cgroups;
use crate::hooks;
use crate::pending;
use crate::state::{ContainerState, StateDir, Status};

/// A command refused for the container's state.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("container not running")]
    NotRunning,
    #[error("container not paused")]
    NotPaused,
    #[error("cannot start a container that has stopped")]
    Stopped,
    #[error("cannot start an already {0} container")]
    AlreadyStarted(&'static str),
    #[error("cannot delete container {id} that is not stopped: {status}")]
    NotStopped { id: String, status: &'static str },
}

/// `start`: lets a created container's process run.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let state = dir.load()?;
    start_created(&dir, &state)
}

/// Releases a created container: opening exec.fifo lets the init exec.
pub fn start_created(dir: &StateDir, state: &ContainerState) -> Result<()> {
    match state.status(dir) {
        Status::Created => {}
        Status::Stopped => return Err(Refused::Stopped.into()),
        s => return Err(Refused::AlreadyStarted(s.as_str()).into()),
    }
    let fifo_path = dir.fifo_path();
    let mut fifo = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .context("opening exec fifo")?;
    // The init opens the fifo for writing and writes one byte; if it died
    // instead, notice it rather than waiting forever.
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => {
                let mut b = [0u8; 1];
                match fifo.read(&mut b) {
                    Ok(1) => break,
                    Ok(_) | Err(_) if !state.init_alive() => return Err(Refused::Stopped.into()),
                    _ => std::thread::sleep(std::time::Duration::from_millis(1)),
                }
            }
            Err(e) => return Err(e).context("waiting on exec fifo"),
        }
        if !state.init_alive() {
            return Err(Refused::Stopped.into());
        }
    }
    std::fs::remove_file(&fifo_path).context("removing exec fifo")?;
    wait_for_exec(&mut fifo, state)?;
    if let Some(h) = state
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststart().as_ref())
    {
        hooks::run_all_warn("poststart", h, &state.oci_state(Status::Running));
    }
    Ok(())
}

/// The init keeps its end of the fifo open (close-on-exec) through the
/// startContainer hooks until its execve: end of file means the container's
/// process runs (or the init died), and only then do poststart hooks run.
fn wait_for_exec(fifo: &mut File, state: &ContainerState) -> Result<()> {
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {
                if !state.init_alive() {
                    return Ok(());
                }
            }
            Ok(_) => {
                let mut b = [0u8; 64];
                match fifo.read(&mut b) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("reading exec fifo"),
                }
            }
            Err(e) => return Err(e).context("waiting on exec fifo"),
        }
    }
}

/// `kill [--all] SIG`: signals a created, running or paused container.
pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let state = dir.load()?;
    if state.status(&dir) == Status::Stopped {
        // runc: with --all, a stopped container's leftover processes (if its
        // cgroup still exists) are signalled, and none left is not an error.
        if all {
            let _ = signal(&state, sig, true);
            return Ok(());
        }
        return Err(Refused::NotRunning.into());
    }
    signal(&state, sig, all)
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
        Ok(s) => send_signal(Pid::from_raw(pid), s),
        // Real-time signals have no nix::Signal; use the raw call.
        // SAFETY: kill(2) with plain integers.
        Err(_) => nix::errno::Errno::result(unsafe { libc::kill(pid, sig) }).map(drop),
    }
}

/// Freezes the container's cgroup.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let state = dir.load()?;
    match state.status(&dir) {
        Status::Running | Status::Created => {}
        // runc refuses a second pause the same way.
        _ => return Err(Refused::NotRunning.into()),
    }
    state.require_cgroup("pause")?;
    cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, true)
}

/// Thaws the container's cgroup.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let state = dir.load()?;
    if state.status(&dir) != Status::Paused {
        return Err(Refused::NotPaused.into());
    }
    state.require_cgroup("resume")?;
    cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, false)
}

/// `delete [--force]`: removes a stopped (or, forced, any) container, and what
/// a create killed before it committed left.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let dir = match StateDir::open(root, id) {
        Ok(dir) => dir,
        Err(e) => {
            // A create killed before it committed: remove what its record
            // names. With --force a missing container is not an error (runc).
            if crate::spec::validate_id(id).is_ok() {
                if let Some(partial) = StateDir::open_uncommitted(root, id, true)? {
                    pending::clean(partial)?;
                }
            }
            if force {
                return Ok(());
            }
            return Err(e);
        }
    };
    let state = dir.load()?;
    match state.status(&dir) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&state)?,
        s if force => {
            if s == Status::Paused {
                let _ = cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, false);
            }
            kill_and_wait(&state)?
        }
        s => {
            return Err(Refused::NotStopped {
                id: id.to_string(),
                status: s.as_str(),
            }
            .into())
        }
    }
    destroy(dir, &state)
}

fn kill_and_wait(state: &ContainerState) -> Result<()> {
    signal(state, libc::SIGKILL, !state.own_pid_ns)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_micros(200);
    while state.init_alive() {
        if Instant::now() > deadline {
            bail!("container init {} did not die after SIGKILL", state.pid);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}

/// Removes what a stopped container still holds, then runs poststop hooks.
pub fn destroy(dir: StateDir, state: &ContainerState) -> Result<()> {
    let cg = if state.cgroup_owned {
        cgroups::remove(&state.cgroup_path, state.systemd_cgroup, &state.id)
    } else {
        Ok(())
    };
    if let Err(e) = crate::intel_rdt::remove(&state.config, &state.id) {
        log::warn!("{e:#}");
    }
    // Without a mount namespace its mounts are in ours (rootfs.rs).
    let mntns = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Mount)
        });
    if !mntns {
        crate::rootfs::unmount_under(&state.rootfs);
    }
    if let Some(h) = state
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
    {
        hooks::run_all_warn("poststop", h, &state.oci_state(Status::Stopped));
    }
    dir.remove()?;
    cg
}
