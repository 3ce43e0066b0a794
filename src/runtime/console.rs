//! The container's terminal: a pty made inside the container (from its own
//! devpts), the slave as stdio and /dev/console, the master sent to
//! `--console-socket` with SCM_RIGHTS.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;

/// Connects to the console socket on the host side, before any namespace change.
pub fn connect(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path)
        .with_context(|| format!("connecting to console socket {}", path.display()))
}

/// Inside the container, after pivot_root: make the pty and wire it up.
/// `bind_console`: the container's init also gets it as /dev/console; an exec'd process does not.
pub fn setup(
    socket: &UnixStream,
    size: Option<(u16, u16)>,
    uid: u32,
    bind_console: bool,
) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("opening /dev/ptmx")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let name = ptsname_r(&master).context("ptsname")?;
    let slave_fd = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {name}"))?;
    // SAFETY: open just returned this fd; we own it.
    let slave: OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(slave_fd) };
    // The pty is the container's own (its devpts), so giving it to the user
    // is safe. Only the owner changes: the group stays devpts' (tty, gid=5
    // in the usual options), as runc leaves it.
    nix::unistd::fchown(slave.as_raw_fd(), Some(uid.into()), None).context("chown of the pty")?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct that lives across the call.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("sending the pty master to the console socket")?;
    drop(master);

    if bind_console {
        // /dev/console is the slave, as a bind mount over an empty file.
        let console = Path::new("/dev/console");
        if !console.exists() {
            std::fs::File::create(console).context("creating /dev/console")?;
        }
        mount(
            Some(name.as_str()),
            console,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .context("bind-mounting the pty on /dev/console")?;
    }

    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).context("making the pty the process's stdio")?;
    }
    // SAFETY: TIOCSCTTY with arg 0 on our own new session's terminal.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(nix::errno::Errno::last()).context("setting the controlling terminal");
    }
    Ok(())
}
