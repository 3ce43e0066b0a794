//! Container networking, docker's way: `--network bridge` (the default when
//! netavark is installed), user networks (IPv4, and IPv6 with `--ipv6`),
//! `host` and `none`, `-p`/`-P`/`--expose`, `network connect/disconnect`.
//!
//! Networks live in [`store`] (netavark's JSON under `<root>/networks/`). At
//! create, a bridge container gets an endpoint (addresses from [`ipam`],
//! under the store's lock) and a network namespace pinned on
//! `<root>/netns/<id>` ([`netns`]), which the runtime joins by path; both are
//! recorded in the container's `network.json`; `network connect` adds
//! endpoints. Each start runs `netavark setup` ([`netavark`]) per endpoint
//! after claiming the published host ports ([`ports`]); each stop runs
//! `teardown`; `rm` unpins the namespace. Addresses stay the container's
//! until rm (or disconnect). [`show`] is what ps, port and inspect show.
pub mod dns;
pub mod etc;
pub mod ipam;
pub mod netavark;
pub mod netns;
pub mod plan;
pub mod ports;
pub mod show;
pub mod store;

pub use plan::{plan, ClientError, EndpointRequest, Flags, Mode, Plan};
pub use show::{exposed_json, ports_column, published, settings_json};

use crate::container::record;
use anyhow::{bail, Context, Result};
use ports::{Exposed, PortMapping};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use store::Network;

/// One network a container is on: docker's endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's name and id (the id tells a re-created network of the
    /// same name apart).
    pub network: String,
    pub network_id: String,
    /// `eth0`, `eth1`, ... in the order of connection.
    pub interface: String,
    pub ip: Option<Ipv4Addr>,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    pub prefix6: u8,
    pub gateway6: Option<Ipv6Addr>,
    pub mac: String,
    /// `--network-alias`/`--alias` as given (the name and short id are added
    /// for DNS).
    pub aliases: Vec<String>,
    /// `--ip`/`--ip6` as given: inspect's IPAMConfig.
    pub ipam_ip: Option<Ipv4Addr>,
    pub ipam_ip6: Option<Ipv6Addr>,
    /// The network resolves container names (aardvark-dns on the gateway).
    pub dns: bool,
}

impl Endpoint {
    fn ips(&self) -> Vec<IpAddr> {
        self.ip
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.ip6.map(IpAddr::V6))
            .collect()
    }
}

/// A container's network, `<container dir>/network.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// `bridge` (netavark networks), `host` or `none`.
    pub mode: String,
    /// The network named at create (inspect's HostConfig.NetworkMode).
    pub network: String,
    /// The networks it is on, in the order of connection.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// `-p` (and `-P`'s ports) as asked (host port 0 = pick one at start).
    pub publish: Vec<PortMapping>,
    /// The mappings in force while `up`.
    pub ports: Vec<PortMapping>,
    /// Exposed ports (`--expose`, `-p`, the image's): ps and inspect.
    #[serde(default)]
    pub expose: Vec<Exposed>,
    #[serde(default)]
    pub publish_all: bool,
    pub netns: Option<PathBuf>,
    /// netavark setup done and not yet torn down.
    pub up: bool,
    /// A record written before several networks: one endpoint's fields.
    #[serde(default, skip_serializing)]
    network_id: String,
    #[serde(default, skip_serializing)]
    ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing)]
    prefix: u8,
    #[serde(default, skip_serializing)]
    gateway: Option<Ipv4Addr>,
    #[serde(default, skip_serializing)]
    mac: String,
    #[serde(default, skip_serializing)]
    dns: bool,
}

fn file_of(root: &Path, id: &str) -> PathBuf {
    record::dir_of(root, id).join("network.json")
}

impl Attachment {
    pub fn load(root: &Path, id: &str) -> Option<Attachment> {
        let d = std::fs::read(file_of(root, id)).ok()?;
        let mut a: Attachment = serde_json::from_slice(&d).ok()?;
        if a.is_bridge() && a.endpoints.is_empty() && a.ip.is_some() {
            a.endpoints.push(Endpoint {
                network: a.network.clone(),
                network_id: std::mem::take(&mut a.network_id),
                interface: "eth0".into(),
                ip: a.ip.take(),
                prefix: a.prefix,
                gateway: a.gateway,
                mac: std::mem::take(&mut a.mac),
                dns: a.dns,
                ..Default::default()
            });
        }
        Some(a)
    }

    pub fn save(&self, root: &Path, id: &str) -> Result<()> {
        let data = serde_json::to_vec(self)?;
        sysutil::fs::write_atomic(&file_of(root, id), &data, sysutil::fs::Atomic::mode(0o600))
    }

    fn is_bridge(&self) -> bool {
        self.mode == "bridge"
    }

    /// The endpoint on the network with id `net_id`.
    pub fn on(&self, net_id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.network_id == net_id)
    }
}

/// Every container's attachment, with its id.
fn all(root: &Path) -> Vec<(String, Attachment)> {
    let Ok(rd) = std::fs::read_dir(record::containers_dir(root)) else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| {
            let id = e.file_name().to_string_lossy().to_string();
            // `.trash-ID`: removed, its deletion still running in the background.
            if id.starts_with('.') {
                return None;
            }
            Attachment::load(root, &id).map(|a| (id, a))
        })
        .collect()
}

/// Host ports published by running containers other than `except`.
fn ports_in_use(root: &Path, except: &str) -> Vec<PortMapping> {
    all(root)
        .into_iter()
        .filter(|(id, a)| a.up && id != except)
        .flat_map(|(_, a)| a.ports)
        .collect()
}

/// The last random host port given, for docker's allocator.
fn last_port_file(root: &Path) -> PathBuf {
    root.join("networks").join("last-port")
}

/// Gives the container an endpoint on `n` (the store's lock held): the
/// asked or the next free addresses, the next free interface name.
fn new_endpoint(root: &Path, a: &Attachment, n: &Network, r: &EndpointRequest) -> Result<Endpoint> {
    plan::check_endpoint(n, r)?;
    let others: Vec<Endpoint> = all(root)
        .into_iter()
        .flat_map(|(_, a)| a.endpoints)
        .filter(|e| e.network_id == n.id)
        .collect();
    let (subnet, gw) = n.subnet()?;
    let used: Vec<Ipv4Addr> = others.iter().filter_map(|e| e.ip).collect();
    let ip = match r.ip {
        Some(ip) if !subnet.contains(ip) => {
            bail!("Invalid address {ip}: It does not belong to any of this network's subnets")
        }
        Some(ip) if ip == gw || used.contains(&ip) => bail!("Address already in use"),
        Some(ip) => ip,
        None => ipam::next_free(&subnet, gw, &used)?,
    };
    let (mut ip6, mut prefix6, mut gateway6) = (None, 0, None);
    if let Some((s6, gw6)) = n.subnet6()? {
        let used6: Vec<Ipv6Addr> = others.iter().filter_map(|e| e.ip6).collect();
        ip6 = Some(match r.ip6 {
            Some(ip) if !s6.contains(ip) => {
                bail!("Invalid address {ip}: It does not belong to any of this network's subnets")
            }
            Some(ip) if ip == gw6 || used6.contains(&ip) => bail!("Address already in use"),
            Some(ip) => ip,
            None => ipam::next_free6(&s6, gw6, &used6)?,
        });
        prefix6 = s6.prefix;
        gateway6 = Some(gw6);
    }
    let interface = (0..)
        .map(|i| format!("eth{i}"))
        .find(|i| !a.endpoints.iter().any(|e| &e.interface == i))
        .expect("a free interface name");
    Ok(Endpoint {
        network: n.name.clone(),
        network_id: n.id.clone(),
        interface,
        ip: Some(ip),
        prefix: subnet.prefix,
        gateway: Some(gw),
        ip6,
        prefix6,
        gateway6,
        mac: String::new(),
        aliases: r.aliases.clone(),
        ipam_ip: r.ip,
        ipam_ip6: r.ip6,
        dns: n.dns_enabled,
    })
}

/// At create: the endpoint and the namespace of a bridge container, and its
/// `network.json`.
pub fn attach(root: &Path, id: &str, plan: &Plan) -> Result<Attachment> {
    let mut a = Attachment {
        publish: plan.publish.clone(),
        publish_all: plan.publish_all,
        expose: plan.expose.clone(),
        ..Default::default()
    };
    match &plan.mode {
        Mode::Host => a.mode = "host".into(),
        Mode::None => a.mode = "none".into(),
        Mode::Bridge(n) => {
            let _l = store::lock(root)?;
            let ns = netns::path_of(root, id);
            a.mode = "bridge".into();
            a.network = n.name.clone();
            a.netns = Some(ns.clone());
            let ep = new_endpoint(root, &a, n, &plan.endpoint)?;
            a.endpoints.push(ep);
            // Recorded first, so that a failure below is cleaned up by release.
            a.save(root, id)?;
            netns::create(&ns)?;
            return Ok(a);
        }
    }
    a.network = a.mode.clone();
    a.save(root, id)?;
    Ok(a)
}

/// Writes the container's `hosts` and `resolv.conf` into `dir` (its
/// directory, whence they are bind-mounted). The files are rewritten in
/// place, not renamed over: a running container sees the new content
/// through its bind mounts (`network connect`/`disconnect`).
pub fn write_etc_files(dir: &Path, hostname: &str, a: &Attachment) -> Result<()> {
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let p = dir.join("hosts");
    std::fs::write(&p, etc::hosts(a, hostname, &host_hosts))
        .with_context(|| format!("writing {}", p.display()))?;
    let p = dir.join("resolv.conf");
    std::fs::write(&p, etc::resolv_conf(a, &host_resolv))
        .with_context(|| format!("writing {}", p.display()))
}

/// netavark's request for endpoint `e` of container `id`; the published
/// ports go with the first endpoint only.
fn request<'a>(
    id: &'a str,
    name: &'a str,
    n: &'a Network,
    a: &'a Attachment,
    e: &'a Endpoint,
) -> netavark::Attach<'a> {
    let first = a
        .endpoints
        .first()
        .is_some_and(|f| f.network_id == e.network_id);
    // DNS names: the container's name, its aliases and short id (docker's).
    let mut aliases = vec![name.to_string()];
    aliases.extend(e.aliases.iter().cloned());
    aliases.push(id[..12].to_string());
    netavark::Attach {
        id,
        name,
        network: n,
        interface: &e.interface,
        ips: e.ips(),
        mac: e.ip.map(netavark::mac_for).unwrap_or_default(),
        aliases,
        ports: if first { &a.ports } else { &[] },
    }
}

/// `netavark setup` of one endpoint; returns its MAC address.
fn setup_endpoint(
    root: &Path,
    id: &str,
    name: &str,
    a: &Attachment,
    e: &Endpoint,
) -> Result<String> {
    let n = store::find(root, &e.network_id)
        .with_context(|| format!("network {} not found", e.network))?;
    let ns = a
        .netns
        .as_deref()
        .context("bridge container without a netns")?;
    let t = std::time::Instant::now();
    let res = netavark::setup(root, ns, &request(id, name, &n, a, e));
    log::debug!("netavark setup of {id} on {}: {:?}", n.name, t.elapsed());
    if res.is_err() {
        let _ = netavark::teardown(root, ns, &request(id, name, &n, a, e));
    }
    res
}

fn teardown_endpoint(
    root: &Path,
    id: &str,
    name: &str,
    a: &Attachment,
    e: &Endpoint,
) -> Result<()> {
    let n = store::find(root, &e.network_id)?;
    let ns = a
        .netns
        .as_deref()
        .context("bridge container without a netns")?;
    let t = std::time::Instant::now();
    let res = netavark::teardown(root, ns, &request(id, name, &n, a, e));
    log::debug!("netavark teardown of {id} on {}: {:?}", n.name, t.elapsed());
    res
}

/// aardvark-dns answers some time after netavark returns: waits until it
/// knows `name` on endpoint `e`'s network.
fn wait_dns(e: &Endpoint, name: &str) {
    let Some(gw) = e.gateway.filter(|_| e.dns) else {
        return;
    };
    let t = std::time::Instant::now();
    if !dns::wait_ready(gw, name, std::time::Duration::from_secs(10)) {
        log::warn!("aardvark-dns on {gw} did not answer for {name} within 10s");
    }
    log::debug!("aardvark-dns ready for {name}: {:?}", t.elapsed());
}

/// Before the runtime starts: `netavark setup` of every endpoint, with the
/// host ports claimed.
pub fn up(root: &Path, id: &str, name: &str) -> Result<()> {
    let Some(mut a) = Attachment::load(root, id).filter(Attachment::is_bridge) else {
        return Ok(());
    };
    if a.up {
        // Left up by a watcher that died.
        down(root, id)?;
        a.up = false;
    }
    let lock = store::lock(root)?;
    let mut wanted = a.publish.clone();
    if a.publish_all {
        wanted.extend(ports::publish_all(&a.expose, &a.publish));
    }
    let mut dynamic = ports::Dynamic::load(&last_port_file(root));
    a.ports = ports::claim(&wanted, &ports_in_use(root, id), &mut dynamic)?;
    if wanted.iter().any(|p| p.host_port == 0) {
        dynamic.save(&last_port_file(root))?;
    }
    a.up = true;
    a.save(root, id)?;
    for i in 0..a.endpoints.len() {
        match setup_endpoint(root, id, name, &a, &a.endpoints[i]) {
            Ok(mac) => a.endpoints[i].mac = mac,
            Err(e) => {
                for done in &a.endpoints[..i] {
                    let _ = teardown_endpoint(root, id, name, &a, done);
                }
                a.up = false;
                a.ports.clear();
                let _ = a.save(root, id);
                return Err(e);
            }
        }
    }
    a.save(root, id)?;
    drop(lock);
    for e in &a.endpoints {
        wait_dns(e, name);
    }
    Ok(())
}

/// The container's name, for netavark's requests.
fn name_of(root: &Path, id: &str) -> String {
    record::Record::load(root, id)
        .map(|r| r.name)
        .unwrap_or_default()
}

/// After the container stopped: `netavark teardown`; the last container
/// down also removes netavark's shared iptables chains.
pub fn down(root: &Path, id: &str) -> Result<()> {
    let Some(mut a) = Attachment::load(root, id).filter(|a| a.is_bridge() && a.up) else {
        return Ok(());
    };
    let _l = store::lock(root)?;
    let name = name_of(root, id);
    let mut res = Ok(());
    for e in &a.endpoints {
        if let Err(err) = teardown_endpoint(root, id, &name, &a, e) {
            res = Err(err);
        }
    }
    a.up = false;
    a.ports.clear();
    a.save(root, id)?;
    prune_chains_if_idle(root)?;
    res
}

fn prune_chains_if_idle(root: &Path) -> Result<()> {
    if !all(root).iter().any(|(_, a)| a.up) {
        let t = std::time::Instant::now();
        netavark::prune_chains()?;
        log::debug!("pruning netavark's chains: {:?}", t.elapsed());
    }
    Ok(())
}

/// `network connect [--ip] [--ip6] [--alias] NET CONTAINER`: a running
/// container gets the interface at once, a stopped one at its next start.
pub fn connect(root: &Path, id: &str, n: &Network, r: &EndpointRequest) -> Result<()> {
    let _l = store::lock(root)?;
    let mut a = Attachment::load(root, id).unwrap_or_default();
    match a.mode.as_str() {
        "host" => {
            bail!("container cannot be disconnected from host network or connected to host network")
        }
        "bridge" => {}
        _ => bail!(
            "container cannot be connected to multiple networks with one of the networks in \
             private (none) mode"
        ),
    }
    if a.on(&n.id).is_some() {
        bail!(
            "endpoint with name {} already exists in network {}",
            name_of(root, id),
            n.name
        );
    }
    let e = new_endpoint(root, &a, n, r)?;
    a.endpoints.push(e.clone());
    a.save(root, id)?;
    if !a.up {
        return Ok(());
    }
    let name = name_of(root, id);
    match setup_endpoint(root, id, &name, &a, &e) {
        Ok(mac) => a.endpoints.last_mut().expect("pushed").mac = mac,
        Err(err) => {
            a.endpoints.pop();
            a.save(root, id)?;
            return Err(err);
        }
    }
    a.save(root, id)?;
    rewrite_etc_files(root, id, &a)?;
    wait_dns(&e, &name);
    Ok(())
}

/// `network disconnect NET CONTAINER`: the interface goes at once from a
/// running container; the address is freed.
pub fn disconnect(root: &Path, id: &str, n: &Network) -> Result<()> {
    let _l = store::lock(root)?;
    let mut a = Attachment::load(root, id).unwrap_or_default();
    let Some(i) = a.endpoints.iter().position(|e| e.network_id == n.id) else {
        bail!("container {id} is not connected to network {}", n.name);
    };
    let e = a.endpoints.remove(i);
    let res = if a.up {
        // The ports stay with the first endpoint: put back while tearing down.
        a.endpoints.insert(i, e.clone());
        let res = teardown_endpoint(root, id, &name_of(root, id), &a, &e);
        a.endpoints.remove(i);
        if i == 0 {
            // Their forwarding went with it; the next start gives them to
            // the network that is first then.
            a.ports.clear();
        }
        res
    } else {
        Ok(())
    };
    a.save(root, id)?;
    if a.up {
        rewrite_etc_files(root, id, &a)?;
    }
    res
}

fn rewrite_etc_files(root: &Path, id: &str, a: &Attachment) -> Result<()> {
    let dir = record::dir_of(root, id);
    let hostname = std::fs::read_to_string(dir.join("hostname")).unwrap_or_default();
    write_etc_files(&dir, hostname.trim(), a)
}

/// At rm: tears down what is still up and unpins the namespace.
pub fn release(root: &Path, id: &str) -> Result<()> {
    let Some(a) = Attachment::load(root, id) else {
        return Ok(());
    };
    let res = down(root, id);
    if let Some(ns) = &a.netns {
        netns::remove(ns)?;
    }
    res
}

/// The network namespace path for the runtime config (bridge containers).
pub fn netns_path(a: &Attachment) -> Option<String> {
    a.netns.as_ref().map(|p| p.display().to_string())
}

/// The network mode as `inspect` shows it in HostConfig.
pub fn mode_name(root: &Path, id: &str) -> String {
    Attachment::load(root, id)
        .map(|a| a.network)
        .unwrap_or_else(|| "host".into())
}

/// Containers attached to the network with id `net_id`: (id, attachment).
pub fn containers_on(root: &Path, net_id: &str) -> Vec<(String, Attachment)> {
    all(root)
        .into_iter()
        .filter(|(_, a)| a.on(net_id).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_from_before_several_networks_loads_as_one_endpoint() {
        let d = tempfile::tempdir().unwrap();
        let id = "a".repeat(64);
        let dir = record::dir_of(d.path(), &id);
        std::fs::create_dir_all(&dir).unwrap();
        let old = r#"{"mode":"bridge","network":"web","network_id":"f00","ip":"10.87.1.2",
            "prefix":24,"gateway":"10.87.1.1","mac":"02:42:0a:57:01:02",
            "aliases":["n","aaaaaaaaaaaa"],"publish":[],"ports":[],"netns":"/x","dns":true,"up":false}"#;
        std::fs::write(dir.join("network.json"), old).unwrap();
        let a = Attachment::load(d.path(), &id).unwrap();
        assert_eq!(a.endpoints.len(), 1);
        let e = &a.endpoints[0];
        assert_eq!(
            (
                e.network.as_str(),
                e.network_id.as_str(),
                e.interface.as_str()
            ),
            ("web", "f00", "eth0")
        );
        assert_eq!(e.ip, Some("10.87.1.2".parse().unwrap()));
        assert!(e.dns && e.aliases.is_empty());
        // Saved again: the new shape only.
        a.save(d.path(), &id).unwrap();
        let text = std::fs::read_to_string(dir.join("network.json")).unwrap();
        assert!(text.contains("\"endpoints\"") && !text.contains("\"network_id\":\"f00\",\"ip\""));
        assert_eq!(Attachment::load(d.path(), &id).unwrap().endpoints.len(), 1);
    }
}
