//! The receiving end of `--console-socket`: a unix socket on which the
//! runtime sends the pty master with SCM_RIGHTS.

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub struct ConsoleSocket {
    pub path: PathBuf,
    received: mpsc::Receiver<Result<OwnedFd, String>>,
}

impl ConsoleSocket {
    /// Listens on `path` and accepts one connection in the background.
    pub fn listen(path: &Path) -> ConsoleSocket {
        let listener =
            UnixListener::bind(path).unwrap_or_else(|e| panic!("binding {}: {e}", path.display()));
        listener.set_nonblocking(true).unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            && Instant::now() < deadline =>
                    {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("accept: {e}")));
                        return;
                    }
                }
            };
            stream.set_nonblocking(false).unwrap();
            let _ = tx.send(receive_fd(&stream));
        });
        ConsoleSocket {
            path: path.to_path_buf(),
            received: rx,
        }
    }

    /// The pty master the runtime sent.
    pub fn master(&self, timeout: Duration) -> OwnedFd {
        match self.received.recv_timeout(timeout) {
            Ok(Ok(fd)) => fd,
            Ok(Err(e)) => panic!("receiving the pty master on {}: {e}", self.path.display()),
            Err(_) => panic!(
                "no pty master received on {} within {timeout:?}",
                self.path.display()
            ),
        }
    }
}

fn receive_fd(stream: &std::os::unix::net::UnixStream) -> Result<OwnedFd, String> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    for cmsg in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                // The kernel just installed this fd for us; nothing else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err("message carried no file descriptor".into())
}

/// Reads the pty until the other side is closed (EIO) or `timeout`.
pub fn read_all(master: OwnedFd, timeout: Duration) -> String {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break, // EIO once the last slave fd is closed
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    let _ = tx.send(Some(String::from_utf8_lossy(&out).into_owned()));
                }
            }
        }
        let _ = tx.send(None);
    });
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(Some(text)) => last = text,
            Ok(None) | Err(_) => break,
        }
    }
    last
}

/// Creates and starts the bundle's container with `--console-socket`, and
/// returns what its process wrote to the pty it received.
pub fn run_on_console(b: &crate::common::Bundle, timeout: Duration) -> String {
    b.write_config();
    b.track(b.id());
    let sock = ConsoleSocket::listen(&b.dir().join("console.sock"));
    let bundle = b.bundle_dir().display().to_string();
    let path = sock.path.display().to_string();
    b.rt_args(&[
        "create",
        "--bundle",
        &bundle,
        "--console-socket",
        &path,
        b.id(),
    ])
    .ok();
    let master = sock.master(timeout);
    b.start().ok();
    read_all(master, timeout)
}
