//! A foreground `run` or `exec`: runr stays the parent, forwards signals to the
//! container process, proxies the terminal when there is one, and returns the
//! process's exit status (128+N when killed by signal N).

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::unistd::Pid;
use sysutil::child::{reap, Reaped};
use sysutil::tty;

/// Signals runr forwards; synchronous faults stay with runr.
pub fn forwarded_signals() -> SigSet {
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

/// Blocks the forwarded signals before the container process exists, so its
/// exit (SIGCHLD) and signals meant for it wait for us. The child resets the mask.
pub fn block_signals() -> Result<SigSet> {
    let mask = forwarded_signals();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    Ok(mask)
}

/// Receives the pty master that the container sent over our console socketpair.
pub fn recv_master(sock: &UnixStream) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut cbuf = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cbuf),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("receiving the pty master")?;
    for c in msg.cmsgs().context("reading the pty master message")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    anyhow::bail!("the container sent no pty master")
}

/// Waits for `pid`, forwarding signals, proxying `master` <-> stdio if given.
pub fn wait(pid: i32, mask: &SigSet, master: Option<OwnedFd>) -> Result<i32> {
    // Non-blocking: the loop below drains it and must not sleep in read.
    let sigfd = SignalFd::with_flags(mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .context("creating signalfd")?;
    let _raw = master.as_ref().map(|m| {
        tty::copy_winsize(0, m.as_raw_fd());
        tty::RawMode::new()
    });
    let mut stdin_open = master.is_some();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // Reap first: an exit that happened before we got here is not missed.
        if let Reaped::Exited(code) = reap(pid)? {
            if let Some(m) = &master {
                drain(m.as_raw_fd(), &mut buf);
            }
            return Ok(code);
        }
        let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN)];
        let stdin = std::io::stdin();
        if let Some(m) = &master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            while let Ok(Some(si)) = sigfd.read_signal() {
                let sig = si.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    continue;
                }
                if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        tty::copy_winsize(0, m.as_raw_fd());
                        continue;
                    }
                }
                if let Ok(s) = Signal::try_from(sig) {
                    let _ = kill(Pid::from_raw(pid), s);
                }
            }
        }
        if let Some(m) = &master {
            if ready.get(1) == Some(&true) && !pump(m.as_raw_fd(), 1, &mut buf) {
                // The pty closed: the process is exiting; SIGCHLD follows.
            }
            if ready.get(2) == Some(&true) && !pump(0, m.as_raw_fd(), &mut buf) {
                stdin_open = false;
            }
        }
    }
}

/// Copies one read's worth; false on EOF or error.
fn pump(from: RawFd, to: RawFd, buf: &mut [u8]) -> bool {
    match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut off = 0;
            while off < n {
                // SAFETY: to is an open fd for the duration; write from our buffer.
                let w = unsafe { libc::write(to, buf[off..n].as_ptr().cast(), n - off) };
                if w <= 0 {
                    return false;
                }
                off += w as usize;
            }
            true
        }
    }
}

/// Whatever the process wrote before exiting still reaches the user.
fn drain(master: RawFd, buf: &mut [u8]) {
    // SAFETY: making our own fd non-blocking.
    unsafe { libc::fcntl(master, libc::F_SETFL, libc::O_NONBLOCK) };
    while pump(master, 1, buf) {}
}
