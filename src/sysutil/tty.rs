//! The host terminal of a foreground container or exec: raw mode for as
//! long as a pty is proxied, and window sizes passed on to the pty.
use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsFd, RawFd};

/// Puts the terminal on stdin in raw mode while alive; restores it on drop
/// (errors, panics and returns alike). Nothing happens when stdin is not a
/// terminal.
pub struct RawMode(Option<Termios>);

impl Default for RawMode {
    fn default() -> Self {
        Self::new()
    }
}

impl RawMode {
    pub fn new() -> RawMode {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode(saved)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// The window size of the terminal `fd` as (rows, cols); None when it is
/// not a terminal or has no size yet.
pub fn winsize(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ writes one winsize struct on our stack.
    let ws = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) != 0 {
            return None;
        }
        ws
    };
    (ws.ws_row != 0).then_some((ws.ws_row, ws.ws_col))
}

/// Sets the window size of the terminal (a pty master) `fd`.
pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) {
    // SAFETY: TIOCSWINSZ reads one winsize struct from our stack.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        ws.ws_row = rows;
        ws.ws_col = cols;
        libc::ioctl(fd, libc::TIOCSWINSZ, &ws);
    }
}

/// Gives the pty `to` the size of the terminal `from`.
pub fn copy_winsize(from: RawFd, to: RawFd) {
    if let Some((rows, cols)) = winsize(from) {
        set_winsize(to, rows, cols);
    }
}
