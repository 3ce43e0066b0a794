//! The channel between runr and the container's init: a SOCK_SEQPACKET
//! socketpair carrying one small message per packet, with an optional fd
//! (SCM_RIGHTS). Each side of `create` reads like a conversation over it.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// parent → init: namespaces are mapped and the cgroup is set; go on.
    Go,
    /// init → parent: mounts are done; run prestart and createRuntime hooks.
    RuntimeHooks,
    /// parent → init: hooks ran; go on to pivot_root. Carries the state JSON
    /// for the hooks the init runs itself.
    HooksDone(String),
    /// init → parent: here is the seccomp notify listener (fd attached).
    SeccompListener,
    /// parent → init: the listener reached the agent.
    Ack,
    /// init → parent: everything is set up; init now waits on exec.fifo.
    Ready,
    /// either way: a failure, with its message.
    Error(String),
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let (tag, text) = match self {
            Msg::Go => (1, ""),
            Msg::RuntimeHooks => (2, ""),
            Msg::HooksDone(s) => (3, s.as_str()),
            Msg::SeccompListener => (4, ""),
            Msg::Ack => (5, ""),
            Msg::Ready => (6, ""),
            Msg::Error(e) => (7, e.as_str()),
        };
        let mut v = Vec::with_capacity(1 + text.len());
        v.push(tag);
        v.extend_from_slice(text.as_bytes());
        v
    }

    fn decode(buf: &[u8]) -> Result<Msg> {
        Ok(match buf.first() {
            Some(1) => Msg::Go,
            Some(2) => Msg::RuntimeHooks,
            Some(3) => Msg::HooksDone(String::from_utf8_lossy(&buf[1..]).into_owned()),
            Some(4) => Msg::SeccompListener,
            Some(5) => Msg::Ack,
            Some(6) => Msg::Ready,
            Some(7) => Msg::Error(String::from_utf8_lossy(&buf[1..]).into_owned()),
            Some(t) => bail!("sync: unknown message tag {t}"),
            None => bail!("sync: the other side closed the channel"),
        })
    }
}

pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating sync socketpair")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Msg, fd: Option<RawFd>) -> Result<()> {
        let data = msg.encode();
        let iov = [IoSlice::new(&data)];
        let fds;
        let cmsg: Vec<ControlMessage> = match fd {
            Some(f) => {
                fds = [f];
                vec![ControlMessage::ScmRights(&fds)]
            }
            None => vec![],
        };
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .context("sync: sending message")?;
        Ok(())
    }

    pub fn recv(&self) -> Result<Msg> {
        Ok(self.recv_with_fd()?.0)
    }

    pub fn recv_with_fd(&self) -> Result<(Msg, Option<OwnedFd>)> {
        match self.try_recv_with_fd()? {
            Some(m) => Ok(m),
            None => bail!("sync: the other side closed the channel"),
        }
    }

    /// None when the other side closed its end (for exec: the process exec'd).
    pub fn try_recv_with_fd(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 1 << 16];
        let mut cbuf = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cbuf),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(r) => {
                    let mut fd = None;
                    for c in r.cmsgs().context("sync: reading control message")? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            // SAFETY: the kernel just installed these fds in our table; we own them now.
                            fd = fds.first().map(|&f| unsafe { OwnedFd::from_raw_fd(f) });
                        }
                    }
                    break (r.bytes, fd);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("sync: receiving message"),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        Ok(Some((Msg::decode(&buf[..len])?, fd)))
    }

    /// Waits for `want`; an `Error` from the other side becomes our error.
    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()? {
            m if m == want => Ok(()),
            Msg::Error(e) => bail!("{e}"),
            m => bail!("sync: expected {want:?}, got {m:?}"),
        }
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_fds() {
        let (a, b) = pair().unwrap();
        a.send(&Msg::Error("mounting proc: EPERM".into())).unwrap();
        assert_eq!(b.recv().unwrap(), Msg::Error("mounting proc: EPERM".into()));
        let f = std::fs::File::open("/dev/null").unwrap();
        b.send_with_fd(&Msg::SeccompListener, Some(f.as_raw_fd()))
            .unwrap();
        let (m, fd) = a.recv_with_fd().unwrap();
        assert_eq!(m, Msg::SeccompListener);
        assert!(fd.is_some());
        drop(b);
        assert!(a.recv().is_err());
    }
}
