//! Container networking, docker's way: `--network bridge` (the default when
//! netavark is installed), user networks, `host` and `none`, and `-p`.
//!
//! Networks live in [`store`] (netavark's JSON under `<root>/networks/`). At
//! create, a bridge container gets an address ([`ipam`], under the store's
//! lock) and a network namespace pinned on `<root>/netns/<id>` ([`netns`]),
//! which the runtime joins by path; both are recorded in the container's
//! `network.json`. Each start runs `netavark setup` ([`netavark`]) after
//! claiming the published host ports ([`ports`]); each stop runs `teardown`;
//! `rm` unpins the namespace. The address stays the container's until rm.
pub mod dns;
pub mod etc;
pub mod ipam;
pub mod netavark;
pub mod netns;
pub mod ports;
pub mod store;

use crate::container::record;
use anyhow::{Context, Result};
use ports::PortMapping;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use store::Network;

/// The network a container asked for, resolved.
#[derive(Debug, Clone)]
pub enum Mode {
    Host,
    None,
    Bridge(Network),
}

/// What `run`/`create` resolved from `--network` and `-p`, before creating.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub publish: Vec<PortMapping>,
}

impl Plan {
    /// The container needs a network namespace of its own.
    pub fn own_namespace(&self) -> bool {
        !matches!(self.mode, Mode::Host)
    }
}

/// A container's network, `<container dir>/network.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// `bridge` (a netavark network), `host` or `none`.
    pub mode: String,
    /// The network's name and id (the id survives a rename of nothing, but
    /// tells a re-created network of the same name apart).
    pub network: String,
    pub network_id: String,
    pub ip: Option<Ipv4Addr>,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: String,
    pub aliases: Vec<String>,
    /// `-p` as asked (host port 0 = pick one at start).
    pub publish: Vec<PortMapping>,
    /// The mappings in force while `up`.
    pub ports: Vec<PortMapping>,
    pub netns: Option<PathBuf>,
    /// The network resolves container names (aardvark-dns on the gateway).
    pub dns: bool,
    /// netavark setup done and not yet torn down.
    pub up: bool,
}

fn file_of(root: &Path, id: &str) -> PathBuf {
    record::dir_of(root, id).join("network.json")
}

impl Attachment {
    pub fn load(root: &Path, id: &str) -> Option<Attachment> {
        let d = std::fs::read(file_of(root, id)).ok()?;
        serde_json::from_slice(&d).ok()
    }

    pub fn save(&self, root: &Path, id: &str) -> Result<()> {
        let data = serde_json::to_vec(self)?;
        sysutil::fs::write_atomic(&file_of(root, id), &data, sysutil::fs::Atomic::mode(0o600))
    }

    fn is_bridge(&self) -> bool {
        self.mode == "bridge"
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

/// Resolves `--network` (None = the default) and `-p`; checks that netavark
/// is there for a bridge network and that the host ports are free, so that
/// `run` fails before creating anything.
pub fn plan(root: &Path, network: Option<&str>, publish: &[String]) -> Result<Plan> {
    let publish = publish
        .iter()
        .map(|p| ports::parse(p))
        .collect::<Result<Vec<_>>>()?;
    let mode = match network {
        Some("host") => Mode::Host,
        Some("none") => Mode::None,
        // Without netavark the default stays the host's network.
        None if netavark::locate().is_none() => {
            log::debug!("netavark not found: the container uses the host network");
            Mode::Host
        }
        None | Some("bridge") | Some("default") => Mode::Bridge(store::default_bridge(root)?),
        Some(n) => Mode::Bridge(store::find(root, n)?),
    };
    match &mode {
        Mode::Bridge(_) => {
            if netavark::locate().is_none() {
                return Err(netavark::missing());
            }
            ports::claim(&publish, &ports_in_use(root, ""))?;
        }
        Mode::Host if !publish.is_empty() => {
            log::warn!("Published ports are discarded when using host network mode");
        }
        _ => {}
    }
    Ok(Plan { mode, publish })
}

/// At create: the address and the namespace of a bridge container, and its
/// `network.json`. Returns the namespace's path for the runtime config.
pub fn attach(root: &Path, id: &str, name: &str, plan: &Plan) -> Result<Attachment> {
    let mut a = Attachment {
        publish: plan.publish.clone(),
        ..Default::default()
    };
    match &plan.mode {
        Mode::Host => a.mode = "host".into(),
        Mode::None => a.mode = "none".into(),
        Mode::Bridge(n) => {
            let _l = store::lock(root)?;
            let (subnet, gw) = n.subnet()?;
            let used: Vec<Ipv4Addr> = all(root)
                .into_iter()
                .filter(|(_, a)| a.network_id == n.id)
                .filter_map(|(_, a)| a.ip)
                .collect();
            let ns = netns::path_of(root, id);
            a = Attachment {
                mode: "bridge".into(),
                network: n.name.clone(),
                network_id: n.id.clone(),
                ip: Some(ipam::next_free(&subnet, gw, &used)?),
                prefix: subnet.prefix,
                gateway: Some(gw),
                aliases: vec![name.to_string(), id[..12].to_string()],
                netns: Some(ns.clone()),
                dns: n.dns_enabled,
                ..a
            };
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
/// directory, whence they are bind-mounted).
pub fn write_etc_files(dir: &Path, hostname: &str, a: &Attachment) -> Result<()> {
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let p = dir.join("hosts");
    std::fs::write(&p, etc::hosts(a, hostname, &host_hosts))
        .with_context(|| format!("writing {}", p.display()))?;
    let p = dir.join("resolv.conf");
    std::fs::write(&p, etc::resolv_conf(a, &host_resolv, a.dns))
        .with_context(|| format!("writing {}", p.display()))
}

/// Before the runtime starts: `netavark setup` with the host ports claimed.
pub fn up(root: &Path, id: &str, name: &str) -> Result<()> {
    let Some(mut a) = Attachment::load(root, id).filter(Attachment::is_bridge) else {
        return Ok(());
    };
    if a.up {
        // Left up by a watcher that died.
        down(root, id)?;
        a.up = false;
    }
    let n = store::find(root, &a.network_id)
        .with_context(|| format!("network {} not found", a.network))?;
    let ns = a
        .netns
        .clone()
        .context("bridge container without a netns")?;
    let lock = store::lock(root)?;
    a.ports = ports::claim(&a.publish, &ports_in_use(root, id))?;
    a.up = true;
    a.save(root, id)?;
    let t = std::time::Instant::now();
    let res = netavark::setup(root, &ns, &request(id, name, &n, &a)?);
    log::debug!("netavark setup of {id}: {:?}", t.elapsed());
    match res {
        Ok(mac) => {
            a.mac = mac;
            a.save(root, id)?;
            drop(lock);
            if n.dns_enabled {
                // aardvark-dns answers some time after netavark returns.
                let (gw, t) = (
                    a.gateway.unwrap_or(n.subnet()?.1),
                    std::time::Instant::now(),
                );
                if !dns::wait_ready(gw, name, std::time::Duration::from_secs(10)) {
                    log::warn!("aardvark-dns on {gw} did not answer for {name} within 10s");
                }
                log::debug!("aardvark-dns ready for {name}: {:?}", t.elapsed());
            }
            Ok(())
        }
        Err(e) => {
            let _ = netavark::teardown(root, &ns, &request(id, name, &n, &a)?);
            a.up = false;
            a.ports.clear();
            let _ = a.save(root, id);
            Err(e)
        }
    }
}

fn request<'a>(
    id: &'a str,
    name: &'a str,
    n: &'a Network,
    a: &'a Attachment,
) -> Result<netavark::Attach<'a>> {
    Ok(netavark::Attach {
        id,
        name,
        network: n,
        ip: a.ip.context("bridge container without an address")?,
        aliases: a.aliases.clone(),
        ports: &a.ports,
    })
}

/// After the container stopped: `netavark teardown`; the last container
/// down also removes netavark's shared iptables chains.
pub fn down(root: &Path, id: &str) -> Result<()> {
    let Some(mut a) = Attachment::load(root, id).filter(|a| a.is_bridge() && a.up) else {
        return Ok(());
    };
    let n = store::find(root, &a.network_id)?;
    let _l = store::lock(root)?;
    let ns = a
        .netns
        .clone()
        .context("bridge container without a netns")?;
    let name = a.aliases.first().cloned().unwrap_or_default();
    let t = std::time::Instant::now();
    let res = netavark::teardown(root, &ns, &request(id, &name, &n, &a)?);
    log::debug!("netavark teardown of {id}: {:?}", t.elapsed());
    a.up = false;
    a.ports.clear();
    a.save(root, id)?;
    if !all(root).iter().any(|(_, a)| a.up) {
        let t = std::time::Instant::now();
        netavark::prune_chains()?;
        log::debug!("pruning netavark's chains: {:?}", t.elapsed());
    }
    res
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

/// `ps`'s PORTS column.
pub fn ports_column(root: &Path, id: &str) -> String {
    Attachment::load(root, id)
        .filter(|a| a.up)
        .map(|a| {
            a.ports
                .iter()
                .map(PortMapping::display)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The published ports of a running container, `(80/tcp, 0.0.0.0:8080)`.
pub fn published(root: &Path, id: &str) -> Vec<(String, String)> {
    Attachment::load(root, id)
        .filter(|a| a.up)
        .map(|a| {
            a.ports
                .iter()
                .map(|p| {
                    let host = p.display();
                    let host = host.split("->").next().unwrap_or_default().to_string();
                    (format!("{}/{}", p.container_port, p.protocol), host)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `inspect`'s NetworkSettings, as docker fills it.
pub fn settings_json(root: &Path, id: &str) -> Value {
    let Some(a) = Attachment::load(root, id) else {
        return json!({ "Networks": {} });
    };
    let up = a.up;
    let s = |v: Option<String>| {
        if up {
            v.unwrap_or_default()
        } else {
            String::new()
        }
    };
    let ip = s(a.ip.map(|i| i.to_string()));
    let gw = s(a.gateway.map(|i| i.to_string()));
    let prefix = if up { a.prefix } else { 0 };
    let mac = if up { a.mac.clone() } else { String::new() };
    let mut ports = serde_json::Map::new();
    for p in &a.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let host = json!({ "HostIp": if p.host_ip.is_empty() { "0.0.0.0" } else { &p.host_ip },
                           "HostPort": p.host_port.to_string() });
        ports
            .entry(key)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("array")
            .push(host);
    }
    let mut nets = serde_json::Map::new();
    if a.mode != "none" || !a.network.is_empty() {
        nets.insert(
            a.network.clone(),
            json!({
                "Aliases": a.aliases, "NetworkID": a.network_id, "Gateway": gw,
                "IPAddress": ip, "IPPrefixLen": prefix, "MacAddress": mac,
            }),
        );
    }
    json!({
        "SandboxKey": a.netns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "Ports": ports,
        "Gateway": gw,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "MacAddress": mac,
        "Networks": nets,
    })
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
        .filter(|(_, a)| a.network_id == net_id)
        .collect()
}
