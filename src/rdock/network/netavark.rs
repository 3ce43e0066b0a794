//! Driving netavark (podman's network backend) through its JSON interface:
//! `netavark --config <root>/netavark setup|teardown NETNS` with the
//! container's networks on stdin.
use super::ports::PortMapping;
use super::store::Network;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian and Fedora install it; RDOCK_NETAVARK overrides.
const PLACES: &[&str] = &[
    "/usr/lib/podman/netavark",
    "/usr/libexec/podman/netavark",
    "/usr/local/libexec/podman/netavark",
    "/usr/local/lib/podman/netavark",
];

/// The netavark binary, if there is one.
pub fn locate() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RDOCK_NETAVARK") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    PLACES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// The error `run` gives on a bridge network without netavark.
pub fn missing() -> anyhow::Error {
    anyhow::anyhow!(
        "bridge networking needs netavark, which was not found (looked in {} and \
         $RDOCK_NETAVARK): install it (apt-get install netavark) or use \
         --network none or --network host",
        PLACES.join(", ")
    )
}

/// What netavark needs to attach one container to one network.
pub struct Attach<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub network: &'a Network,
    /// `eth0`, `eth1`, ... inside the container.
    pub interface: &'a str,
    /// The IPv4 address, then the IPv6 one on an IPv6 network.
    pub ips: Vec<IpAddr>,
    pub mac: String,
    pub aliases: Vec<String>,
    pub ports: &'a [PortMapping],
}

fn options(a: &Attach) -> Value {
    json!({
        "container_id": a.id,
        "container_name": a.name,
        "port_mappings": a.ports,
        "networks": { &a.network.name: {
            "static_ips": a.ips,
            "static_mac": a.mac,
            "aliases": a.aliases,
            "interface_name": a.interface,
        }},
        "network_info": { &a.network.name: a.network },
    })
}

/// The MAC address docker derives from the IPv4 address (02:42 and its four
/// bytes): an address reused by a new container keeps its MAC, so the
/// peers' ARP caches stay right.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

fn call(root: &Path, verb: &str, netns: &Path, input: &Value) -> Result<Vec<u8>> {
    let bin = locate().ok_or_else(missing)?;
    let config = root.join("netavark");
    std::fs::create_dir_all(&config).with_context(|| format!("creating {}", config.display()))?;
    let mut cmd = Command::new(&bin);
    cmd.arg("--config").arg(&config);
    let aardvark = bin.with_file_name("aardvark-dns");
    if aardvark.is_file() {
        cmd.arg("--aardvark-binary").arg(aardvark);
    }
    cmd.arg(verb)
        .arg(netns)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    log::debug!("netavark {verb} {}: {input}", netns.display());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", bin.display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(&serde_json::to_vec(input)?)?;
    drop(stdin);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // netavark reports errors as {"error": "..."} on stdout or text on stderr.
        let msg = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .unwrap_or_else(|| err.trim().to_string());
        bail!("netavark {verb}: {msg}");
    }
    Ok(out.stdout)
}

/// `netavark setup`: veth into the bridge, address, routes, NAT and DNAT.
/// Returns the MAC address of the container's interface.
pub fn setup(root: &Path, netns: &Path, a: &Attach) -> Result<String> {
    let out = call(root, "setup", netns, &options(a))?;
    let v: Value = serde_json::from_slice(&out).context("parsing netavark's setup output")?;
    Ok(v[&a.network.name]["interfaces"][a.interface]["mac_address"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// `netavark teardown`: the reverse of [`setup`].
pub fn teardown(root: &Path, netns: &Path, a: &Attach) -> Result<()> {
    call(root, "teardown", netns, &options(a)).map(drop)
}

/// netavark's shared chains, which its teardown leaves behind.
const BASE_CHAINS: &[(&str, &str)] = &[
    ("filter", "NETAVARK_FORWARD"),
    ("nat", "NETAVARK-HOSTPORT-DNAT"),
    ("nat", "NETAVARK-HOSTPORT-MASQ"),
    ("nat", "NETAVARK-HOSTPORT-SETMARK"),
];

fn iptables(bin: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("running {bin}"))?;
    if !out.status.success() {
        bail!("{bin} {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes netavark's shared chains once nothing uses them (no network
/// chain and no port forwarding left, by rdock or by podman), so that a
/// host where rdock's last container stopped keeps no rules of it; for
/// IPv4 and, where IPv6 networks left them, IPv6. One `iptables-restore
/// --noflush` per family does it.
pub fn prune_chains() -> Result<()> {
    prune_family("iptables")?;
    if std::path::Path::new("/proc/net/if_inet6").exists() {
        // ip6tables may be absent where IPv6 is unused: nothing to prune then.
        if let Err(e) = prune_family("ip6tables") {
            log::debug!("pruning netavark's IPv6 chains: {e:#}");
        }
    }
    Ok(())
}

fn prune_family(bin: &str) -> Result<()> {
    let mut script = String::new();
    for table in ["filter", "nat"] {
        let rules = iptables(bin, &["-t", table, "-S"])?;
        let mine: Vec<&str> = BASE_CHAINS
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, c)| *c)
            .collect();
        script.push_str(&format!("*{table}\n"));
        let mut present = Vec::new();
        for l in rules.lines() {
            let mut w = l.split_whitespace();
            let (verb, chain) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            match verb {
                "-N" if chain.starts_with("NETAVARK") && !mine.contains(&chain) => return Ok(()),
                "-N" => present.push(chain.to_string()),
                "-A" if chain == "NETAVARK_FORWARD" || chain == "NETAVARK-HOSTPORT-DNAT" => {
                    return Ok(())
                }
                // A jump into the shared chains from a built-in one; the
                // -S line is in iptables-restore's syntax already.
                "-A" if !chain.starts_with("NETAVARK") && l.contains("-j NETAVARK") => {
                    script.push_str(&format!("-D{}\n", &l[2..]));
                }
                _ => {}
            }
        }
        for c in mine.iter().filter(|c| present.iter().any(|p| p == *c)) {
            script.push_str(&format!("-F {c}\n-X {c}\n"));
        }
        script.push_str("COMMIT\n");
    }
    if !script.contains("-X") {
        return Ok(());
    }
    let restore = format!("{bin}-restore");
    let mut child = Command::new(&restore)
        .arg("--noflush")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {restore}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{restore}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mac_follows_the_address_as_docker_derives_it() {
        assert_eq!(
            super::mac_for("10.87.0.2".parse().unwrap()),
            "02:42:0a:57:00:02"
        );
    }
}
