//! The channel between runr and the container's init: a SOCK_SEQPACKET
//! socketpair carrying typed messages, with an optional fd (SCM_RIGHTS).
//! Each side of `create` reads like a conversation over it. A message of
//! any size (the state JSON carries the annotations, megabytes of them with
//! some clients) goes as a run of packets of at most `CHUNK` bytes, each
//! but the last marked `MORE`: one packet is bounded by the socket buffer.

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
    /// parent → init: state.json is written; stop dying with runr (the init
    /// answers `Ack`).
    Committed,
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
            Msg::Committed => (8, ""),
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
            Some(8) => Msg::Committed,
            Some(t) => bail!("sync: unknown message tag {t}"),
            None => bail!("sync: the other side closed the channel"),
        })
    }
}

/// Payload bytes per packet, well under the default socket buffer.
const CHUNK: usize = 32 << 10;
/// Set on the tag byte of every packet but a message's last.
const MORE: u8 = 0x80;

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
        let (tag, body) = (data[0], &data[1..]);
        let mut parts = body.chunks(CHUNK).peekable();
        let mut first = true;
        loop {
            let part = parts.next().unwrap_or_default();
            let more = parts.peek().is_some();
            let head = [if more { tag | MORE } else { tag }];
            self.send_packet(&head, part, if first { fd } else { None })?;
            first = false;
            if !more {
                return Ok(());
            }
        }
    }

    fn send_packet(&self, head: &[u8], part: &[u8], fd: Option<RawFd>) -> Result<()> {
        let iov = [IoSlice::new(head), IoSlice::new(part)];
        let fds;
        let cmsg: Vec<ControlMessage> = match fd {
            Some(f) => {
                fds = [f];
                vec![ControlMessage::ScmRights(&fds)]
            }
            None => vec![],
        };
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                &cmsg,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("sync: sending message"),
            }
        }
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
        let mut msg = Vec::new();
        let mut fd = None;
        loop {
            let Some((packet, got)) = self.recv_packet()? else {
                if msg.is_empty() {
                    return Ok(None);
                }
                bail!("sync: the other side closed the channel in the middle of a message");
            };
            fd = fd.or(got);
            let tag = packet[0];
            if msg.is_empty() {
                msg.push(tag & !MORE);
            }
            msg.extend_from_slice(&packet[1..]);
            if tag & MORE == 0 {
                return Ok(Some((Msg::decode(&msg)?, fd)));
            }
        }
    }

    /// One packet (never empty: each starts with its tag), or None at EOF.
    fn recv_packet(&self) -> Result<Option<(Vec<u8>, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; CHUNK + 1];
        let mut cbuf = nix::cmsg_space!([RawFd; 1]);
        loop {
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
                    let len = r.bytes;
                    if len == 0 {
                        return Ok(None);
                    }
                    buf.truncate(len);
                    return Ok(Some((buf, fd)));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                // The other side died before reading what we sent it: gone too.
                Err(nix::errno::Errno::ECONNRESET) => return Ok(None),
                Err(e) => return Err(e).context("sync: receiving message"),
            }
        }
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

    #[test]
    fn a_peer_that_died_with_unread_messages_reads_as_closed() {
        let (a, b) = pair().unwrap();
        a.send(&Msg::Go).unwrap();
        drop(b);
        assert!(a.try_recv_with_fd().unwrap().is_none());
    }

    #[test]
    fn a_message_larger_than_a_packet_arrives_whole() {
        let (a, b) = pair().unwrap();
        let big = "x".repeat(3 * CHUNK + 17);
        let t = std::thread::spawn(move || {
            a.send(&Msg::HooksDone(big)).unwrap();
            a.send(&Msg::Committed).unwrap();
        });
        match b.recv().unwrap() {
            Msg::HooksDone(s) => assert_eq!(s.len(), 3 * CHUNK + 17),
            m => panic!("got {m:?}"),
        }
        assert_eq!(b.recv().unwrap(), Msg::Committed);
        t.join().unwrap();
    }
}
