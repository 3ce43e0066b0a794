//! The attach protocol between a container's monitor and `rdock attach`
//! (also `run -it`, `start -a`), on `<dir>/attach.sock`: the client sends
//! one byte, `i` (it will send stdin), `o` (output only) or `r` (window
//! sizes, 4 bytes each: rows and cols, u16 big-endian), then its data; the
//! monitor sends docker's stdcopy frames (stream byte 1 stdout, 2 stderr,
//! 0 0 0, u32 big-endian length, data), and a last frame of stream
//! [`EXIT_FRAME`] carrying the exit code in ASCII.
use anyhow::{Context, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The frame stream that carries the exit code at the end of an attach.
pub const EXIT_FRAME: u8 = 3;

/// A path to `name` in `dir` short enough for a unix socket (108 bytes),
/// through our open fd on the directory; valid for other processes too.
pub fn socket_path(dir: &File, name: &str) -> PathBuf {
    PathBuf::from(format!(
        "/proc/{}/fd/{}/{name}",
        std::process::id(),
        dir.as_raw_fd()
    ))
}

pub fn open_dir(dir: &Path) -> Result<File> {
    File::open(dir).with_context(|| format!("opening {}", dir.display()))
}

/// Binds the attach socket (before the container starts, so that `run -d`
/// followed by `attach` never misses it).
pub fn bind_attach(dir: &Path) -> Result<UnixListener> {
    let d = open_dir(dir)?;
    let p = socket_path(&d, "attach.sock");
    let _ = std::fs::remove_file(&p);
    UnixListener::bind(&p).with_context(|| format!("binding {}", dir.join("attach.sock").display()))
}

/// Connects to a container's attach socket.
pub fn connect_attach(dir: &Path) -> Result<UnixStream> {
    let d = open_dir(dir)?;
    UnixStream::connect(socket_path(&d, "attach.sock"))
        .with_context(|| format!("connecting to {}", dir.join("attach.sock").display()))
}

/// One stdcopy frame.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// Sends the exit frame to the clients and closes them.
pub fn send_exit(clients: Vec<UnixStream>, code: i32) {
    for c in clients {
        send_all(&c, &frame(EXIT_FRAME, code.to_string().as_bytes()));
    }
}

/// Writes to an attach client without SIGPIPE: a client that detached or
/// died must not kill the monitor (rdock keeps SIGPIPE's default action).
pub fn send_all(conn: &UnixStream, mut data: &[u8]) -> bool {
    use nix::sys::socket::{send, MsgFlags};
    while !data.is_empty() {
        match send(conn.as_raw_fd(), data, MsgFlags::MSG_NOSIGNAL) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// What an attach client is, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Not known yet: the first byte has not come.
    Unknown,
    /// Output only (`o`).
    Output,
    /// Output, and it sends the container's stdin (`i`).
    Interactive,
    /// Sends window sizes, gets no output (`r`).
    Resizer,
}

impl Mode {
    pub fn from_byte(b: u8) -> Mode {
        match b {
            b'i' => Mode::Interactive,
            b'r' => Mode::Resizer,
            _ => Mode::Output,
        }
    }
}

/// The last window size in a resizer's data: (rows, cols).
pub fn last_winsize(data: &[u8]) -> Option<(u16, u16)> {
    let ws = data.rchunks_exact(4).next()?;
    Some((
        u16::from_be_bytes([ws[0], ws[1]]),
        u16::from_be_bytes([ws[2], ws[3]]),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_follow_docker_stdcopy() {
        let f = super::frame(2, b"hi");
        assert_eq!(f, vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }

    #[test]
    fn the_last_complete_window_size_counts() {
        assert_eq!(
            super::last_winsize(&[0, 24, 0, 80, 0, 50, 0, 132]),
            Some((50, 132))
        );
        assert_eq!(super::last_winsize(&[0, 24]), None);
    }
}
