//! Waiting for a container's process as its parent or subreaper.
use anyhow::{Context, Result};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// What [`reap`] found about the awaited process.
#[derive(Debug, PartialEq)]
pub enum Reaped {
    /// It exited with this status (128+N when killed by signal N).
    Exited(i32),
    /// It is still running (or was not reaped yet).
    Alive,
    /// We have no children left: it is not ours to wait for.
    NoChildren,
}

/// Reaps every exited child without blocking (a subreaper inherits the
/// container's orphans) and says whether `pid` was among them.
pub fn reap(pid: i32) -> Result<Reaped> {
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => {
                return Ok(Reaped::Exited(code))
            }
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return Ok(Reaped::Exited(128 + sig as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(Reaped::Alive),
            Err(nix::errno::Errno::ECHILD) => return Ok(Reaped::NoChildren),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).with_context(|| format!("waiting for process {pid}")),
        }
    }
}

/// Makes the calling process the reaper of its orphaned descendants, so a
/// container's init started by a runtime that exits becomes our child.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaps_the_exit_status_of_a_child() {
        // Reaped by `reap`, not by Child::wait.
        #[allow(clippy::zombie_processes)]
        let c = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match reap(pid).unwrap() {
                Reaped::Exited(code) => break assert_eq!(code, 7),
                _ if std::time::Instant::now() > deadline => panic!("no exit"),
                _ => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
    }
}
