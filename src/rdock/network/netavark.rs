//! Driving netavark (podman's network backend) through its JSON interface:
//! `netavark --config <root>/netavark setup|teardown NETNS` with the
//! container's networks on stdin.
use super::ports::PortMapping;
use super::store::Network;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::net::Ipv4Addr;
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
    pub ip: Ipv4Addr,
    pub aliases: Vec<String>,
    pub ports: &'a [PortMapping],
}

fn options(a: &Attach) -> Value {
    json!({
        "container_id": a.id,
        "container_name": a.name,
        "port_mappings": a.ports,
        "networks": { &a.network.name: {
            "static_ips": [a.ip],
            "aliases": a.aliases,
            "interface_name": "eth0",
        }},
        "network_info": { &a.network.name: a.network },
    })
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
/// Returns the MAC address of the container's eth0.
pub fn setup(root: &Path, netns: &Path, a: &Attach) -> Result<String> {
    let out = call(root, "setup", netns, &options(a))?;
    let v: Value = serde_json::from_slice(&out).context("parsing netavark's setup output")?;
    Ok(v[&a.network.name]["interfaces"]["eth0"]["mac_address"]
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

fn iptables(args: &[&str]) -> Result<String> {
    let out = Command::new("iptables")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .context("running iptables")?;
    if !out.status.success() {
        bail!("iptables {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Splits an `iptables -S` line into arguments (double quotes group words).
fn split_rule(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            _ => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Removes netavark's shared chains once nothing uses them (no network
/// chain and no port forwarding left, by rdock or by podman), so that a
/// host where rdock's last container stopped keeps no rules of it.
pub fn prune_chains() -> Result<()> {
    let mut plan: Vec<Vec<String>> = Vec::new();
    for table in ["filter", "nat"] {
        let rules = iptables(&["-t", table, "-S"])?;
        let mine = |c: &str| BASE_CHAINS.contains(&(table, c));
        for l in rules.lines() {
            let w = split_rule(l);
            match w.first().map(String::as_str) {
                Some("-N") if w[1].starts_with("NETAVARK") && !mine(&w[1]) => return Ok(()),
                Some("-A") if w[1] == "NETAVARK_FORWARD" || w[1] == "NETAVARK-HOSTPORT-DNAT" => {
                    return Ok(())
                }
                // Jumps into the shared chains from the built-in ones.
                Some("-A") if !w[1].starts_with("NETAVARK") && l.contains("-j NETAVARK") => {
                    let mut d = vec!["-t".to_string(), table.to_string(), "-D".to_string()];
                    d.extend(w[1..].iter().cloned());
                    plan.push(d);
                }
                _ => {}
            }
        }
    }
    for (table, chain) in BASE_CHAINS {
        plan.push(vec![
            "-t".into(),
            table.to_string(),
            "-F".into(),
            chain.to_string(),
        ]);
    }
    for (table, chain) in BASE_CHAINS {
        plan.push(vec![
            "-t".into(),
            table.to_string(),
            "-X".into(),
            chain.to_string(),
        ]);
    }
    for args in plan {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        if let Err(e) = iptables(&a) {
            log::debug!("{e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rules_split_like_a_shell() {
        let w = super::split_rule(
            r#"-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD"#,
        );
        assert_eq!(w.len(), 8);
        assert_eq!(w[5], "netavark firewall plugin rules");
    }
}
