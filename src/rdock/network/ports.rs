//! `-p` port publishing: docker's spec grammar, the check that a host port is
//! free (netavark's DNAT rules would not notice a port already in use), and
//! docker's ways of showing a mapping.
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

/// One published port, in netavark's `port_mappings` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Empty for every host address.
    pub host_ip: String,
    pub container_port: u16,
    /// 0 until a random port is chosen at start (`-p 80`).
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

impl PortMapping {
    fn host_addr(&self) -> Ipv4Addr {
        self.host_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// `0.0.0.0:8080->80/tcp`, as `ps` shows it.
    pub fn display(&self) -> String {
        format!(
            "{}:{}->{}/{}",
            self.host_addr(),
            self.host_port,
            self.container_port,
            self.protocol
        )
    }
}

fn port_number(s: &str, spec: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("invalid port specification: \"{spec}\""),
    }
}

/// `[ip:][hostPort:]containerPort[/tcp|udp]`
pub fn parse(spec: &str) -> Result<PortMapping> {
    let (addr, protocol) = match spec.rsplit_once('/') {
        Some((a, p @ ("tcp" | "udp"))) => (a, p),
        Some((_, p)) => bail!("invalid proto: {p}"),
        None => (spec, "tcp"),
    };
    let parts: Vec<&str> = addr.split(':').collect();
    let (host_ip, host, ctr) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [ip, h, c] => (*ip, *h, *c),
        _ => bail!("invalid port specification: \"{spec}\""),
    };
    if !host_ip.is_empty() {
        host_ip
            .parse::<Ipv4Addr>()
            .with_context(|| format!("invalid IP address: {host_ip}"))?;
    }
    Ok(PortMapping {
        host_ip: host_ip.to_string(),
        container_port: port_number(ctr, spec)?,
        host_port: if host.is_empty() {
            0
        } else {
            port_number(host, spec)?
        },
        range: 1,
        protocol: protocol.to_string(),
    })
}

fn overlaps(a: &PortMapping, b: &PortMapping) -> bool {
    let (x, y) = (a.host_addr(), b.host_addr());
    a.protocol == b.protocol
        && a.host_port == b.host_port
        && (x == y || x.is_unspecified() || y.is_unspecified())
}

fn taken(p: &PortMapping) -> anyhow::Error {
    anyhow::anyhow!(
        "driver failed programming external connectivity: Bind for {}:{} failed: \
         port is already allocated",
        p.host_addr(),
        p.host_port
    )
}

/// Gives `-p CTR` a free host port and checks that every host port is free:
/// not in `in_use` (ports other containers publish) and not bound on the host.
pub fn claim(wanted: &[PortMapping], in_use: &[PortMapping]) -> Result<Vec<PortMapping>> {
    let mut out: Vec<PortMapping> = Vec::new();
    for w in wanted {
        let mut p = w.clone();
        if p.host_port == 0 {
            p.host_port = free_port(&p)?;
        }
        if in_use.iter().chain(&out).any(|u| overlaps(u, &p)) {
            return Err(taken(&p));
        }
        let sa = SocketAddrV4::new(p.host_addr(), p.host_port);
        let bound = if p.protocol == "udp" {
            UdpSocket::bind(sa).map(drop)
        } else {
            TcpListener::bind(sa).map(drop)
        };
        if let Err(e) = bound {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                return Err(taken(&p));
            }
            return Err(e).with_context(|| format!("checking host port {sa}"));
        }
        out.push(p);
    }
    Ok(out)
}

/// A port the kernel picks from its ephemeral range, as docker does for `-p CTR`.
fn free_port(p: &PortMapping) -> Result<u16> {
    let sa = SocketAddrV4::new(p.host_addr(), 0);
    let port = if p.protocol == "udp" {
        UdpSocket::bind(sa).and_then(|s| s.local_addr())
    } else {
        TcpListener::bind(sa).and_then(|s| s.local_addr())
    };
    Ok(port.context("choosing a free host port")?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_docker() {
        let p = parse("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.protocol.as_str()),
            (8080, 80, "tcp")
        );
        let p = parse("127.0.0.1:53:5353/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.protocol.as_str()),
            ("127.0.0.1", 53, "udp")
        );
        assert_eq!(parse("80").unwrap().host_port, 0);
        assert_eq!(parse("127.0.0.1::80").unwrap().host_port, 0);
        assert_eq!(parse("8080:80").unwrap().display(), "0.0.0.0:8080->80/tcp");
        for bad in [
            "", "x:80", "80/sctp", "1:2:3:4", "0:80", "70000:80", "a.b:1:2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_port_published_twice_is_refused() {
        let a = parse("127.0.0.1::80").unwrap();
        let mut b = a.clone();
        b.host_port = 40001;
        let used = [parse("40001:1").unwrap()];
        assert!(claim(&[b.clone()], &used).is_err());
        assert!(claim(&[b.clone(), b.clone()], &[]).is_err());
        let mut u = b.clone();
        u.protocol = "udp".into();
        assert!(claim(&[u], &used).is_ok(), "other protocol");
        assert_ne!(claim(&[a], &[]).unwrap()[0].host_port, 0);
    }

    #[test]
    fn a_port_bound_on_the_host_is_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let p = parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let e = claim(&[p], &[]).unwrap_err().to_string();
        assert!(e.contains("port is already allocated"), "{e}");
    }
}
