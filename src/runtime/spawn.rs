//! Starting runr's children: a fork-like clone(2) with namespace flags, and
//! the same through a short-lived helper that first enters namespaces runr
//! itself could not come back from (a user namespace).

use std::os::fd::AsRawFd;

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// clone(2) running `child` in the new process; returns its pid.
pub fn raw_clone(flags: CloneFlags, child: impl FnOnce()) -> nix::Result<i32> {
    // SAFETY: a fork-like clone (no CLONE_VM, no new stack) of a single-threaded
    // process; the child only runs `child`, which never returns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if r == 0 {
        // A panic must never unwind out of the child into runr's own code.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
        // SAFETY: not reached (the child execs or exits); never return into runr's code as the child.
        unsafe { libc::_exit(1) }
    }
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(r as i32)
}

/// A helper process runs `enter` (joining namespaces), then clones `child`
/// with `flags` and CLONE_PARENT, so the child is still runr's own (for
/// waitpid and pdeathsig); the helper reports the pid, or its error, through
/// a pipe and exits.
pub fn via_helper(
    enter: impl FnOnce() -> Result<()>,
    flags: CloneFlags,
    child: impl FnOnce(),
) -> Result<i32> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating a pipe")?;
    let helper = move || {
        let r: Result<i32> = enter().and_then(|()| {
            let wr_raw = wr.as_raw_fd();
            raw_clone(flags | CloneFlags::CLONE_PARENT, move || {
                // SAFETY: the child's inherited copy of the helper's pipe end, never used there.
                unsafe { libc::close(wr_raw) };
                child()
            })
            .context("clone from the namespace helper")
        });
        let msg = match r {
            Ok(pid) => format!("pid {pid}"),
            Err(e) => format!("{e:#}"),
        };
        let _ = nix::unistd::write(&wr, msg.as_bytes());
    };
    let helper_pid =
        raw_clone(CloneFlags::empty(), helper).context("fork of the namespace helper")?;
    // One message, written in one write() of less than PIPE_BUF.
    let mut buf = vec![0u8; 4096];
    let n =
        nix::unistd::read(rd.as_raw_fd(), &mut buf).context("reading from the namespace helper");
    let _ = waitpid(Pid::from_raw(helper_pid), None);
    let text = String::from_utf8_lossy(&buf[..n?]).into_owned();
    match text.strip_prefix("pid ").and_then(|p| p.parse().ok()) {
        Some(pid) => Ok(pid),
        None if text.is_empty() => bail!("the namespace helper died without a word"),
        None => bail!("{text}"),
    }
}
