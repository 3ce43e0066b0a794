use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::runtime::cli::Cli;
use crate::runtime::hooks;
use crate::runtime::state::{ContainerState, StateDir, Status};

pub fn run(cli: &Cli, id: &str) -> Result<()> {
    let dir = StateDir::open(&cli.root, id)?;
    let state = dir.load()?;
    start(&dir, &state)
}

/// Releases a created container: opening exec.fifo lets the init exec.
pub fn start(dir: &StateDir, state: &ContainerState) -> Result<()> {
    match state.status(dir) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        s => bail!("cannot start an already {} container", s.as_str()),
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
                    Ok(_) | Err(_) if !state.init_alive() => {
                        bail!("cannot start a container that has stopped")
                    }
                    _ => std::thread::sleep(std::time::Duration::from_millis(1)),
                }
            }
            Err(e) => return Err(e).context("waiting on exec fifo"),
        }
        if !state.init_alive() {
            bail!("cannot start a container that has stopped");
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
