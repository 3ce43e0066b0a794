//! `linux.netDevices`: host interfaces moved into the container's network
//! namespace (renamed when asked) with one RTM_NEWLINK each, by runr on the
//! host side once the init exists. The interfaces go where the kernel puts
//! them when the namespace dies: virtual ones are destroyed, physical ones
//! return to the initial namespace.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxNamespaceType, LinuxNetDevice, Spec};

fn devices(spec: &Spec) -> Option<&HashMap<String, LinuxNetDevice>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
}

fn valid_ifname(n: &str) -> bool {
    !n.is_empty()
        && n.len() < libc::IFNAMSIZ
        && n != "."
        && n != ".."
        && !n.contains(|c: char| c == '/' || c == ':' || c.is_whitespace())
}

/// Checked before anything exists: a new network namespace (never the
/// host's), valid names, no two devices with one name, each on the host.
pub fn validate(spec: &Spec) -> Result<()> {
    let Some(devs) = devices(spec) else {
        return Ok(());
    };
    let new_netns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|n| {
            n.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
        });
    if !new_netns {
        bail!("linux.netDevices needs a new network namespace");
    }
    let mut targets = std::collections::HashSet::new();
    for (host, d) in devs {
        let target = d.name().as_deref().unwrap_or(host);
        if !valid_ifname(host) || !valid_ifname(target) {
            bail!("linux.netDevices: invalid interface name {host:?} -> {target:?}");
        }
        if !targets.insert(target) {
            bail!("linux.netDevices: two devices are named {target:?} in the container");
        }
        if ifindex(host).is_none() {
            bail!("linux.netDevices: no interface {host:?} in runr's network namespace");
        }
    }
    Ok(())
}

fn ifindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Moves every listed device into the network namespace of `pid`.
pub fn move_into(spec: &Spec, pid: i32) -> Result<()> {
    let Some(devs) = devices(spec) else {
        return Ok(());
    };
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .context("opening the container's network namespace")?;
    let sock = route_socket()?;
    for (seq, (host, d)) in devs.iter().enumerate() {
        let target = d.name().as_deref().unwrap_or(host);
        let index =
            ifindex(host).with_context(|| format!("linux.netDevices: no interface {host:?}"))?;
        let msg = newlink_msg(seq as u32 + 1, index, ns.as_raw_fd() as u32, target);
        request(&sock, &msg).with_context(|| {
            format!("moving interface {host:?} into the container as {target:?}")
        })?;
    }
    Ok(())
}

fn route_socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("opening a netlink socket");
    }
    // SAFETY: fd was just returned by socket and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn push_attr(buf: &mut Vec<u8>, typ: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// RTM_NEWLINK for an existing link: IFLA_NET_NS_FD moves it, IFLA_IFNAME
/// names it in the new namespace (the kernel renames as it moves).
fn newlink_msg(seq: u32, index: u32, ns_fd: u32, name: &str) -> Vec<u8> {
    const IFLA_IFNAME: u16 = 3;
    const IFLA_NET_NS_FD: u16 = 28;
    let mut b = vec![0u8; 16];
    // struct ifinfomsg: family, pad, type, index, flags, change.
    b.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&[0u8; 8]);
    push_attr(&mut b, IFLA_NET_NS_FD, &ns_fd.to_ne_bytes());
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    push_attr(&mut b, IFLA_IFNAME, &n);
    let len = b.len() as u32;
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    b[0..4].copy_from_slice(&len.to_ne_bytes());
    b[4..6].copy_from_slice(&libc::RTM_NEWLINK.to_ne_bytes());
    b[6..8].copy_from_slice(&flags.to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    b
}

/// Sends one request and reads its ack (an nlmsgerr with error 0).
fn request(sock: &OwnedFd, msg: &[u8]) -> Result<()> {
    nix::unistd::write(sock, msg).context("sending to netlink")?;
    let mut buf = [0u8; 4096];
    let n = nix::unistd::read(sock.as_raw_fd(), &mut buf).context("reading from netlink")?;
    if n < 20 {
        bail!("short netlink reply");
    }
    let typ = u16::from_ne_bytes([buf[4], buf[5]]);
    if typ != libc::NLMSG_ERROR as u16 {
        bail!("unexpected netlink reply type {typ}");
    }
    let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    if err != 0 {
        return Err(std::io::Error::from_raw_os_error(-err).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_the_kernel_accepts() {
        assert!(valid_ifname("eth0") && valid_ifname("dummy-1"));
        for bad in ["", "a/b", "a b", "x:1", "0123456789abcdef", ".."] {
            assert!(!valid_ifname(bad), "{bad:?}");
        }
    }

    #[test]
    fn newlink_message_is_aligned_and_sized() {
        let m = newlink_msg(1, 7, 5, "eth1");
        assert_eq!(m.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
    }
}
