//! `-p`, `-P` and `--expose`: docker's spec grammars, the host ports given
//! to `-p CTR` and `-P` (docker's allocator: the next free port of the
//! kernel's ephemeral range after the last one given), the check that a host
//! port is free (netavark's DNAT rules would not notice a port already in
//! use), and docker's ways of showing a mapping.
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::Path;

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

/// A port the container exposes (`--expose`, the image's ExposedPorts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Exposed {
    pub port: u16,
    pub protocol: String,
}

impl Exposed {
    /// `80/tcp`, docker's key in ExposedPorts and NetworkSettings.Ports.
    pub fn key(&self) -> String {
        format!("{}/{}", self.port, self.protocol)
    }

    /// Parses a key of the image's ExposedPorts (`80/tcp`, `53`).
    pub fn from_key(k: &str) -> Option<Exposed> {
        let (p, proto) = k.split_once('/').unwrap_or((k, "tcp"));
        Some(Exposed {
            port: p.parse().ok()?,
            protocol: proto.to_lowercase(),
        })
    }
}

/// Go's strconv.ParseUint error text, which docker's messages carry.
fn parse_u16(s: &str) -> Result<u16, String> {
    match s.parse::<u64>() {
        Ok(v) if v <= u16::MAX as u64 => Ok(v as u16),
        Ok(_) => Err(format!(
            "strconv.ParseUint: parsing \"{s}\": value out of range"
        )),
        Err(_) => Err(format!(
            "strconv.ParseUint: parsing \"{s}\": invalid syntax"
        )),
    }
}

/// `--expose PORT[-END][/PROTO]`, with the message docker's client gives.
pub fn parse_expose(spec: &str) -> Result<Vec<Exposed>> {
    if spec.contains(':') {
        bail!("invalid port format for --expose: {spec}");
    }
    let (range, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = if proto.is_empty() { "tcp" } else { proto };
    let bad = |e: String| anyhow::anyhow!("invalid range format for --expose: {spec}, error: {e}");
    let (start, end) = match range.split_once('-') {
        _ if range.is_empty() => return Err(bad("empty string specified for ports.".into())),
        None => {
            let p = parse_u16(range).map_err(bad)?;
            (p, p)
        }
        Some((a, b)) => {
            let (a, b) = (parse_u16(a).map_err(bad)?, parse_u16(b).map_err(bad)?);
            if b < a {
                return Err(bad(format!(
                    "invalid range specified for the port: {range}"
                )));
            }
            (a, b)
        }
    };
    Ok((start..=end)
        .map(|port| Exposed {
            port,
            protocol: proto.to_lowercase(),
        })
        .collect())
}

/// `-P`: each exposed port that `-p` does not publish, on a host port of
/// the ephemeral range (tcp and udp: what netavark forwards).
pub fn publish_all(exposed: &[Exposed], publish: &[PortMapping]) -> Vec<PortMapping> {
    exposed
        .iter()
        .filter(|e| e.protocol == "tcp" || e.protocol == "udp")
        .filter(|e| {
            !publish
                .iter()
                .any(|p| p.container_port == e.port && p.protocol == e.protocol)
        })
        .map(|e| PortMapping {
            host_ip: String::new(),
            container_port: e.port,
            host_port: 0,
            range: 1,
            protocol: e.protocol.clone(),
        })
        .collect()
}

/// Where docker takes random host ports from: the kernel's ephemeral range
/// (its own default when that cannot be read), handed out in turn after the
/// last one given, wrapping at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dynamic {
    pub begin: u16,
    pub end: u16,
    pub last: u16,
}

impl Dynamic {
    /// The host's range and the last port given (kept in `last_file`).
    pub fn load(last_file: &Path) -> Dynamic {
        let (begin, end) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|t| {
                let mut w = t.split_whitespace().map(|x| x.parse::<u16>());
                Some((w.next()?.ok()?, w.next()?.ok()?))
            })
            .filter(|(b, e)| b <= e && *b > 0)
            .unwrap_or((49153, 65535));
        let last = std::fs::read_to_string(last_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .filter(|l| (begin..=end).contains(l))
            .unwrap_or(end);
        Dynamic { begin, end, last }
    }

    pub fn save(&self, last_file: &Path) -> Result<()> {
        sysutil::fs::write_atomic(
            last_file,
            self.last.to_string().as_bytes(),
            sysutil::fs::Atomic::mode(0o600),
        )
    }

    /// The next port after `last` for which `free` holds.
    fn next(&mut self, free: impl Fn(u16) -> bool) -> Option<u16> {
        let mut p = self.last;
        for _ in self.begin..=self.end {
            p = if p >= self.end { self.begin } else { p + 1 };
            if free(p) {
                self.last = p;
                return Some(p);
            }
        }
        None
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

fn bound_on_host(p: &PortMapping) -> std::io::Result<()> {
    let sa = SocketAddrV4::new(p.host_addr(), p.host_port);
    if p.protocol == "udp" {
        UdpSocket::bind(sa).map(drop)
    } else {
        TcpListener::bind(sa).map(drop)
    }
}

/// Gives `-p CTR` and `-P` ports a host port from `dynamic` and checks that
/// every host port is free: not in `in_use` (ports other containers
/// publish) and not bound on the host.
pub fn claim(
    wanted: &[PortMapping],
    in_use: &[PortMapping],
    dynamic: &mut Dynamic,
) -> Result<Vec<PortMapping>> {
    let mut out: Vec<PortMapping> = Vec::new();
    for w in wanted {
        let mut p = w.clone();
        if p.host_port == 0 {
            let free = |port: u16| {
                let mut c = p.clone();
                c.host_port = port;
                !in_use.iter().chain(&out).any(|u| overlaps(u, &c)) && bound_on_host(&c).is_ok()
            };
            p.host_port = dynamic.next(free).with_context(|| {
                format!(
                    "no free host port in {}-{} for {}/{}",
                    dynamic.begin, dynamic.end, p.container_port, p.protocol
                )
            })?;
            out.push(p);
            continue;
        }
        if in_use.iter().chain(&out).any(|u| overlaps(u, &p)) {
            return Err(taken(&p));
        }
        if let Err(e) = bound_on_host(&p) {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                return Err(taken(&p));
            }
            let sa = SocketAddrV4::new(p.host_addr(), p.host_port);
            return Err(e).with_context(|| format!("checking host port {sa}"));
        }
        out.push(p);
    }
    Ok(out)
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
        let mut d = Dynamic::load(Path::new("/nonexistent"));
        assert!(claim(&[b.clone()], &used, &mut d).is_err());
        assert!(claim(&[b.clone(), b.clone()], &[], &mut d).is_err());
        let mut u = b.clone();
        u.protocol = "udp".into();
        assert!(claim(&[u], &used, &mut d).is_ok(), "other protocol");
        assert_ne!(claim(&[a], &[], &mut d).unwrap()[0].host_port, 0);
    }

    #[test]
    fn random_host_ports_follow_the_last_one_given_as_dockers() {
        let mut d = Dynamic {
            begin: 41000,
            end: 41003,
            last: 41003,
        };
        let want = [
            parse("127.0.0.1::80").unwrap(),
            parse("127.0.0.1::81").unwrap(),
        ];
        let used = [parse("127.0.0.1:41000:9").unwrap()];
        let got = claim(&want, &used, &mut d).unwrap();
        let ports: Vec<u16> = got.iter().map(|p| p.host_port).collect();
        assert_eq!(ports, [41001, 41002], "from the start, skipping a used one");
        assert_eq!(d.last, 41002);
        let got = claim(&want[..1], &[], &mut d).unwrap();
        assert_eq!(got[0].host_port, 41003, "the next one, not the lowest");
        let got = claim(&want[..1], &[], &mut d).unwrap();
        assert_eq!(got[0].host_port, 41000, "wrapped");
        let all: Vec<PortMapping> = (41000..=41003)
            .map(|p| parse(&format!("127.0.0.1:{p}:1")).unwrap())
            .collect();
        assert!(claim(&want[..1], &all, &mut d).is_err(), "range exhausted");
    }

    #[test]
    fn expose_parses_like_dockers_client() {
        let e = parse_expose("80").unwrap();
        assert_eq!(e[0].key(), "80/tcp");
        let e = parse_expose("53-54/udp").unwrap();
        assert_eq!(
            e.iter().map(Exposed::key).collect::<Vec<_>>(),
            ["53/udp", "54/udp"]
        );
        let err = parse_expose("abc").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid range format for --expose: abc, error: strconv.ParseUint: \
             parsing \"abc\": invalid syntax"
        );
        assert!(parse_expose("90-80").is_err());
        assert!(parse_expose("1:80").is_err());
        assert!(parse_expose("70000").is_err());
        let p = publish_all(
            &parse_expose("80-81").unwrap(),
            &[parse("8080:80").unwrap()],
        );
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].container_port, p[0].host_port), (81, 0));
        assert_eq!(Exposed::from_key("443/TCP").unwrap().key(), "443/tcp");
    }

    #[test]
    fn a_port_bound_on_the_host_is_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let p = parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let mut d = Dynamic::load(Path::new("/nonexistent"));
        let e = claim(&[p], &[], &mut d).unwrap_err().to_string();
        assert!(e.contains("port is already allocated"), "{e}");
    }
}
