//! Address management done by rdock (netavark 1.4 takes the container's
//! addresses from its caller as `static_ips`): IPv4 and IPv6 subnets in CIDR
//! form, the next free address of a subnet, a free subnet for a new network.
use anyhow::{bail, Context, Result};
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4 subnet, `10.87.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `A.B.C.D/N`; the host bits are cleared as docker does.
    pub fn parse(s: &str) -> Result<Subnet> {
        let (a, p) = s
            .split_once('/')
            .with_context(|| format!("invalid subnet {s}: want A.B.C.D/N"))?;
        let addr: Ipv4Addr = a.parse().with_context(|| format!("invalid subnet {s}"))?;
        let prefix: u8 = p.parse().with_context(|| format!("invalid subnet {s}"))?;
        if !(8..=30).contains(&prefix) {
            bail!("invalid subnet {s}: the prefix length must be between 8 and 30");
        }
        Ok(Subnet {
            base: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        })
    }

    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & mask(self.prefix) == u32::from(self.base)
    }

    pub fn overlaps(&self, o: &Subnet) -> bool {
        let m = mask(self.prefix.min(o.prefix));
        u32::from(self.base) & m == u32::from(o.base) & m
    }

    /// The first host address, the gateway by convention.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + 1)
    }

    fn broadcast(&self) -> u32 {
        u32::from(self.base) | !mask(self.prefix)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// An IPv6 subnet, `fd00:1::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet6 {
    pub base: Ipv6Addr,
    pub prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    }
}

impl Subnet6 {
    /// Parses `ADDR/N` (N from 8 to 126); the host bits are cleared.
    pub fn parse(s: &str) -> Result<Subnet6> {
        let (a, p) = s
            .split_once('/')
            .with_context(|| format!("invalid subnet {s}: want ADDR/N"))?;
        let addr: Ipv6Addr = a.parse().with_context(|| format!("invalid subnet {s}"))?;
        let prefix: u8 = p.parse().with_context(|| format!("invalid subnet {s}"))?;
        if !(8..=126).contains(&prefix) {
            bail!("invalid subnet {s}: the prefix length must be between 8 and 126");
        }
        Ok(Subnet6 {
            base: Ipv6Addr::from(u128::from(addr) & mask6(prefix)),
            prefix,
        })
    }

    pub fn contains(&self, a: Ipv6Addr) -> bool {
        u128::from(a) & mask6(self.prefix) == u128::from(self.base)
    }

    pub fn overlaps(&self, o: &Subnet6) -> bool {
        let m = mask6(self.prefix.min(o.prefix));
        u128::from(self.base) & m == u128::from(o.base) & m
    }

    /// `::1` of the subnet, the gateway by convention.
    pub fn first_host(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.base) + 1)
    }
}

impl std::fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The lowest address of `subnet` after its first that is neither the
/// gateway nor in `used` (IPv6 has no broadcast address).
pub fn next_free6(subnet: &Subnet6, gateway: Ipv6Addr, used: &[Ipv6Addr]) -> Result<Ipv6Addr> {
    let first = u128::from(subnet.base) + 1;
    let last = u128::from(subnet.base) | !mask6(subnet.prefix);
    // A linear walk: networks hold at most thousands of containers.
    let mut a = first;
    while a <= last {
        let ip = Ipv6Addr::from(a);
        if ip != gateway && !used.contains(&ip) {
            return Ok(ip);
        }
        a += 1;
    }
    bail!("no available IPv6 addresses on subnet {subnet}")
}

/// The lowest host address of `subnet` that is neither the gateway nor in `used`.
pub fn next_free(subnet: &Subnet, gateway: Ipv4Addr, used: &[Ipv4Addr]) -> Result<Ipv4Addr> {
    let first = u32::from(subnet.base) + 1;
    for a in first..subnet.broadcast() {
        let ip = Ipv4Addr::from(a);
        if ip != gateway && !used.contains(&ip) {
            return Ok(ip);
        }
    }
    bail!("no available IPv4 addresses on subnet {subnet}")
}

/// A free /24 for a user network: `10.87.1.0/24`, `10.87.2.0/24`, ...
/// overlapping neither `taken` (other networks, the host's routes).
pub fn free_subnet(taken: &[Subnet]) -> Result<Subnet> {
    for n in 1..=255u32 {
        let s = Subnet {
            base: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 87, 0, 0)) + (n << 8)),
            prefix: 24,
        };
        if !taken.iter().any(|t| t.overlaps(&s)) {
            return Ok(s);
        }
    }
    bail!("could not find an available, non-overlapping IPv4 address pool for the network")
}

/// The subnets routed by the host (from /proc/net/route), so that a new
/// network does not shadow one of them.
pub fn host_routes() -> Vec<Subnet> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return vec![];
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let m = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints network-order words as host-order hex.
            let (dest, m) = (u32::from_be(dest), u32::from_be(m));
            (m != 0).then(|| Subnet {
                base: Ipv4Addr::from(dest),
                prefix: m.count_ones() as u8,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_clear_host_bits() {
        let s = Subnet::parse("10.87.3.7/24").unwrap();
        assert_eq!(s.to_string(), "10.87.3.0/24");
        assert!(s.contains("10.87.3.200".parse().unwrap()));
        assert!(!s.contains("10.87.4.1".parse().unwrap()));
        assert!(Subnet::parse("10.0.0.0").is_err());
        assert!(Subnet::parse("10.0.0.0/31").is_err());
    }

    #[test]
    fn next_free_skips_gateway_used_and_broadcast() {
        let s = Subnet::parse("10.1.2.0/30").unwrap();
        let gw = s.first_host();
        assert_eq!(next_free(&s, gw, &[]).unwrap().to_string(), "10.1.2.2");
        let used = ["10.1.2.2".parse().unwrap()];
        assert!(next_free(&s, gw, &used).is_err(), ".3 is the broadcast");
        let used = ["10.1.2.3".parse().unwrap()];
        assert_eq!(next_free(&s, gw, &used).unwrap().to_string(), "10.1.2.2");
    }

    #[test]
    fn ipv6_subnets_parse_and_allocate() {
        let s = Subnet6::parse("fd00:87:1::9/64").unwrap();
        assert_eq!(s.to_string(), "fd00:87:1::/64");
        assert!(s.contains("fd00:87:1::ffff".parse().unwrap()));
        assert!(!s.contains("fd00:87:2::1".parse().unwrap()));
        assert_eq!(s.first_host().to_string(), "fd00:87:1::1");
        let gw = s.first_host();
        assert_eq!(next_free6(&s, gw, &[]).unwrap().to_string(), "fd00:87:1::2");
        let used = ["fd00:87:1::2".parse().unwrap()];
        assert_eq!(
            next_free6(&s, gw, &used).unwrap().to_string(),
            "fd00:87:1::3"
        );
        assert!(s.overlaps(&Subnet6::parse("fd00:87::/32").unwrap()));
        assert!(!s.overlaps(&Subnet6::parse("fd00:88::/32").unwrap()));
        assert!(Subnet6::parse("10.0.0.0/24").is_err());
        assert!(Subnet6::parse("fd00::/127").is_err());
    }

    #[test]
    fn free_subnet_avoids_overlaps() {
        let taken = [
            Subnet::parse("10.87.0.0/24").unwrap(),
            Subnet::parse("10.87.1.0/24").unwrap(),
            Subnet::parse("10.87.2.128/25").unwrap(),
        ];
        assert_eq!(free_subnet(&taken).unwrap().to_string(), "10.87.3.0/24");
        let all = [Subnet::parse("10.0.0.0/8").unwrap()];
        assert!(free_subnet(&all).is_err());
    }
}
