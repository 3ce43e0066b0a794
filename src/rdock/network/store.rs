//! rdock's networks: `<root>/networks/<name>.json`, each in netavark's
//! Network JSON format so that it goes to `netavark setup` as it is. The
//! default `bridge` network is written on first use; `host` and `none` are
//! predefined and have no file.
use super::ipam::{self, Subnet, Subnet6};
use crate::container::record;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The default network, as docker names it.
pub const DEFAULT: &str = "bridge";
/// Its bridge interface and subnet. 10.87.0.0/24 stays clear of docker's
/// 172.17-31.x and 192.168.x pools and of podman's 10.88.0.0/16 default and
/// 10.89.x user networks, so rdock can share a host with either; user
/// networks take the next /24s (10.87.1.0/24, ...).
pub const DEFAULT_INTERFACE: &str = "rdock0";
pub const DEFAULT_SUBNET: &str = "10.87.0.0/24";
/// Predefined networks with no netavark config: (name, driver).
pub const PREDEFINED: &[(&str, &str)] = &[("host", "host"), ("none", "null")];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubnetEntry {
    pub subnet: String,
    pub gateway: String,
}

/// netavark's Network (what `network_info` carries), plus `created`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub network_interface: String,
    pub created: String,
    pub subnets: Vec<SubnetEntry>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    pub ipam_options: serde_json::Value,
    /// The subnets were given to `network create` (docker allows `--ip`
    /// only then). netavark ignores the field.
    #[serde(default)]
    pub user_subnet: bool,
}

impl Network {
    /// The IPv4 subnet and its gateway.
    pub fn subnet(&self) -> Result<(Subnet, Ipv4Addr)> {
        let s = self
            .subnets
            .iter()
            .find(|s| !s.subnet.contains(':'))
            .with_context(|| format!("network {} has no IPv4 subnet", self.name))?;
        let gw = s
            .gateway
            .parse()
            .with_context(|| format!("network {}: bad gateway {}", self.name, s.gateway))?;
        Ok((Subnet::parse(&s.subnet)?, gw))
    }

    /// The IPv6 subnet and its gateway, on a network made with `--ipv6`.
    pub fn subnet6(&self) -> Result<Option<(Subnet6, Ipv6Addr)>> {
        let Some(s) = self.subnets.iter().find(|s| s.subnet.contains(':')) else {
            return Ok(None);
        };
        if !self.ipv6_enabled {
            return Ok(None);
        }
        let gw = s
            .gateway
            .parse()
            .with_context(|| format!("network {}: bad gateway {}", self.name, s.gateway))?;
        Ok(Some((Subnet6::parse(&s.subnet)?, gw)))
    }
}

/// What `network create` was asked for.
#[derive(Debug, Default)]
pub struct CreateOptions<'a> {
    /// `--subnet` (one IPv4 and, with `ipv6`, one IPv6).
    pub subnets: &'a [String],
    /// `--gateway`, each paired with the subnet that holds it.
    pub gateways: &'a [String],
    pub ipv6: bool,
}

fn dir(root: &Path) -> PathBuf {
    root.join("networks")
}

fn file_of(root: &Path, name: &str) -> PathBuf {
    dir(root).join(format!("{name}.json"))
}

/// Serializes network changes and address allocation.
pub fn lock(root: &Path) -> Result<record::Lock> {
    std::fs::create_dir_all(dir(root))
        .with_context(|| format!("creating {}", dir(root).display()))?;
    record::lock(&dir(root).join("lock"))
}

fn save(root: &Path, n: &Network) -> Result<()> {
    let data = serde_json::to_vec_pretty(n)?;
    sysutil::fs::write_atomic(
        &file_of(root, &n.name),
        &data,
        sysutil::fs::Atomic::mode(0o600),
    )
}

fn load(root: &Path, name: &str) -> Result<Option<Network>> {
    let p = file_of(root, name);
    match std::fs::read(&p) {
        Ok(d) => Ok(Some(
            serde_json::from_slice(&d).with_context(|| format!("parsing {}", p.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

fn new_network(name: &str, iface: &str, subnet: Subnet, gateway: Ipv4Addr) -> Result<Network> {
    Ok(Network {
        name: name.to_string(),
        id: record::new_id()?,
        driver: "bridge".into(),
        network_interface: iface.to_string(),
        created: record::now(),
        subnets: vec![SubnetEntry {
            subnet: subnet.to_string(),
            gateway: gateway.to_string(),
        }],
        ipv6_enabled: false,
        internal: false,
        // Name resolution (aardvark-dns) on user networks only, as docker.
        dns_enabled: name != DEFAULT,
        ipam_options: serde_json::json!({ "driver": "host-local" }),
        user_subnet: false,
    })
}

/// The default bridge network, written the first time it is needed.
pub fn default_bridge(root: &Path) -> Result<Network> {
    if let Some(n) = load(root, DEFAULT)? {
        return Ok(n);
    }
    let _l = lock(root)?;
    if let Some(n) = load(root, DEFAULT)? {
        return Ok(n);
    }
    let s = Subnet::parse(DEFAULT_SUBNET)?;
    let n = new_network(DEFAULT, DEFAULT_INTERFACE, s, s.first_host())?;
    save(root, &n)?;
    Ok(n)
}

/// Every bridge network (the default first), sorted by name.
pub fn list(root: &Path) -> Result<Vec<Network>> {
    let mut out = vec![default_bridge(root)?];
    for e in std::fs::read_dir(dir(root))?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(n) = name.strip_suffix(".json").filter(|n| *n != DEFAULT) {
            if let Some(net) = load(root, n)? {
                out.push(net);
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A bridge network by name, full id or unique id prefix.
pub fn find(root: &Path, what: &str) -> Result<Network> {
    let all = list(root)?;
    if let Some(n) = all.iter().find(|n| n.name == what || n.id == what) {
        return Ok(n.clone());
    }
    let m: Vec<&Network> = all.iter().filter(|n| n.id.starts_with(what)).collect();
    match m.as_slice() {
        [n] => Ok((*n).clone()),
        [] => bail!("network {what} not found"),
        _ => bail!(
            "network {what} is ambiguous ({} matches found based on ID prefix)",
            m.len()
        ),
    }
}

fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next().is_some_and(|f| f.is_ascii_alphanumeric())
        && c.all(|x| x.is_ascii_alphanumeric() || "_.-".contains(x))
}

/// `network create [--subnet S]... [--gateway G]... [--ipv6] NAME`
pub fn create(root: &Path, name: &str, o: &CreateOptions) -> Result<Network> {
    if !valid_name(name) {
        bail!("invalid network name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    let (mut v4, mut v6) = (None, None);
    for s in o.subnets {
        if s.contains(':') {
            if v6.replace(Subnet6::parse(s)?).is_some() {
                bail!("rdock networks have one IPv6 subnet: {s} is a second one");
            }
        } else if v4.replace(Subnet::parse(s)?).is_some() {
            bail!("rdock networks have one IPv4 subnet: {s} is a second one");
        }
    }
    if let (Some(s6), false) = (v6, o.ipv6) {
        bail!("the IPv6 subnet {s6} needs --ipv6");
    }
    if o.ipv6 && v6.is_none() {
        // docker's default pools are IPv4 only.
        bail!(
            "could not find an available, non-overlapping IPv6 address pool among the \
             defaults to assign to the network"
        );
    }
    let (mut gw4, mut gw6) = (None, None);
    for g in o.gateways {
        match g.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) if gw4.is_none() => gw4 = Some(a),
            Ok(IpAddr::V6(a)) if gw6.is_none() => gw6 = Some(a),
            Ok(_) => bail!("cannot have multiple configurations with the same address family"),
            Err(_) => bail!("invalid gateway {g}"),
        }
    }
    let existing = list(root)?;
    let _l = lock(root)?;
    if existing.iter().any(|n| n.name == name) || PREDEFINED.iter().any(|p| p.0 == name) {
        bail!("network with name {name} already exists");
    }
    let s = match v4 {
        Some(s) => {
            if let Some(o) = existing
                .iter()
                .find(|n| n.subnet().is_ok_and(|(t, _)| t.overlaps(&s)))
            {
                bail!(
                    "Pool overlaps with other one on this address space (network {})",
                    o.name
                );
            }
            s
        }
        None => {
            let mut all: Vec<Subnet> = existing
                .iter()
                .filter_map(|n| n.subnet().ok().map(|s| s.0))
                .collect();
            all.extend(ipam::host_routes());
            ipam::free_subnet(&all)?
        }
    };
    let gw = match gw4 {
        Some(g) if !s.contains(g) => bail!("no matching subnet for gateway {g}"),
        Some(g) => g,
        None => s.first_host(),
    };
    let used: Vec<String> = existing
        .iter()
        .map(|n| n.network_interface.clone())
        .collect();
    let iface = (1..)
        .map(|i| format!("rdock{i}"))
        .find(|i| !used.contains(i) && !Path::new("/sys/class/net").join(i).exists())
        .expect("an unused interface name");
    let mut n = new_network(name, &iface, s, gw)?;
    n.user_subnet = v4.is_some() || v6.is_some();
    if let Some(s6) = v6 {
        if let Some(o) = existing.iter().find(|n| {
            n.subnet6()
                .ok()
                .flatten()
                .is_some_and(|(t, _)| t.overlaps(&s6))
        }) {
            bail!(
                "Pool overlaps with other one on this address space (network {})",
                o.name
            );
        }
        let g6 = match gw6 {
            Some(g) if !s6.contains(g) => bail!("no matching subnet for gateway {g}"),
            Some(g) => g,
            None => s6.first_host(),
        };
        n.ipv6_enabled = true;
        n.subnets.push(SubnetEntry {
            subnet: s6.to_string(),
            gateway: g6.to_string(),
        });
    } else if let Some(g) = gw6 {
        bail!("no matching subnet for gateway {g}");
    }
    save(root, &n)?;
    Ok(n)
}

/// Removes a user network's file (the caller checks it is unused).
pub fn remove(root: &Path, n: &Network) -> Result<()> {
    let p = file_of(root, &n.name);
    std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_created_found_and_kept_apart() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let b = default_bridge(root).unwrap();
        assert_eq!(
            (b.network_interface.as_str(), b.dns_enabled),
            ("rdock0", false)
        );
        // Names that cannot be a prefix of a hex id.
        let none = CreateOptions::default();
        let a = create(root, "web", &none).unwrap();
        assert!(a.dns_enabled && !a.user_subnet);
        assert_ne!(a.subnets[0].subnet, b.subnets[0].subnet);
        assert!(create(root, "web", &none).is_err(), "same name");
        assert!(create(root, "host", &none).is_err(), "predefined");
        assert!(create(root, "-x", &none).is_err(), "bad name");
        let opts = |s: &[&str], g: &[&str], ipv6| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let g: Vec<String> = g.iter().map(|x| x.to_string()).collect();
            (s, g, ipv6)
        };
        let mk = |name: &str, (s, g, ipv6): (Vec<String>, Vec<String>, bool)| {
            create(
                root,
                name,
                &CreateOptions {
                    subnets: &s,
                    gateways: &g,
                    ipv6,
                },
            )
        };
        let c = mk("c", opts(&["192.168.77.0/24"], &["192.168.77.254"], false)).unwrap();
        assert_eq!(c.subnets[0].gateway, "192.168.77.254");
        assert!(c.user_subnet);
        assert!(
            mk("d", opts(&["192.168.77.128/25"], &[], false)).is_err(),
            "overlap"
        );
        assert!(mk("e", opts(&["10.9.0.0/24"], &["10.9.1.1"], false)).is_err());
        let v6 = mk("v6", opts(&["fd00:87:9::/64"], &[], true)).unwrap();
        assert!(v6.ipv6_enabled);
        assert_eq!(v6.subnet6().unwrap().unwrap().1.to_string(), "fd00:87:9::1");
        assert!(v6.subnet().is_ok(), "an IPv4 subnet from the pool too");
        assert!(
            mk("f", opts(&[], &[], true)).is_err(),
            "--ipv6 without a subnet"
        );
        assert!(mk("g", opts(&["fd00:87:a::/64"], &[], false)).is_err());
        assert!(
            mk("h", opts(&["fd00:87:9:0:1::/80"], &[], true)).is_err(),
            "v6 overlap"
        );
        remove(root, &v6).unwrap();
        assert_eq!(find(root, &a.id[..10]).unwrap().name, "web");
        let names: Vec<String> = list(root).unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["bridge", "c", "web"]);
        remove(root, &a).unwrap();
        assert!(find(root, "web").is_err());
    }
}
