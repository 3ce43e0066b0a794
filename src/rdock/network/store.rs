//! rdock's networks: `<root>/networks/<name>.json`, each in netavark's
//! Network JSON format so that it goes to `netavark setup` as it is. The
//! default `bridge` network is written on first use; `host` and `none` are
//! predefined and have no file.
use super::ipam::{self, Subnet};
use crate::container::record;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
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
}

impl Network {
    pub fn subnet(&self) -> Result<(Subnet, Ipv4Addr)> {
        let s = self
            .subnets
            .first()
            .with_context(|| format!("network {} has no subnet", self.name))?;
        let gw = s
            .gateway
            .parse()
            .with_context(|| format!("network {}: bad gateway {}", self.name, s.gateway))?;
        Ok((Subnet::parse(&s.subnet)?, gw))
    }
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

/// `network create [--subnet S] [--gateway G] NAME`
pub fn create(
    root: &Path,
    name: &str,
    subnet: Option<&str>,
    gateway: Option<&str>,
) -> Result<Network> {
    if !valid_name(name) {
        bail!("invalid network name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    let existing = list(root)?;
    let _l = lock(root)?;
    if existing.iter().any(|n| n.name == name) || PREDEFINED.iter().any(|p| p.0 == name) {
        bail!("network with name {name} already exists");
    }
    let taken: Vec<Subnet> = existing
        .iter()
        .filter_map(|n| n.subnet().ok().map(|s| s.0))
        .collect();
    let s = match subnet {
        Some(s) => {
            let s = Subnet::parse(s)?;
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
            let mut all = taken.clone();
            all.extend(ipam::host_routes());
            ipam::free_subnet(&all)?
        }
    };
    let gw = match gateway {
        Some(g) => {
            let g: Ipv4Addr = g.parse().with_context(|| format!("invalid gateway {g}"))?;
            if !s.contains(g) {
                bail!("no matching subnet for gateway {g}");
            }
            g
        }
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
    let n = new_network(name, &iface, s, gw)?;
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
        let a = create(root, "web", None, None).unwrap();
        assert!(a.dns_enabled);
        assert_ne!(a.subnets[0].subnet, b.subnets[0].subnet);
        assert!(create(root, "web", None, None).is_err(), "same name");
        assert!(create(root, "host", None, None).is_err(), "predefined");
        assert!(create(root, "-x", None, None).is_err(), "bad name");
        let c = create(root, "c", Some("192.168.77.0/24"), Some("192.168.77.254")).unwrap();
        assert_eq!(c.subnets[0].gateway, "192.168.77.254");
        assert!(
            create(root, "d", Some("192.168.77.128/25"), None).is_err(),
            "overlap"
        );
        assert!(create(root, "e", Some("10.9.0.0/24"), Some("10.9.1.1")).is_err());
        assert_eq!(find(root, &a.id[..10]).unwrap().name, "web");
        let names: Vec<String> = list(root).unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["bridge", "c", "web"]);
        remove(root, &a).unwrap();
        assert!(find(root, "web").is_err());
    }
}
