//! What `ps` (PORTS), `port` and `inspect` (NetworkSettings,
//! Config.ExposedPorts) show of a container's network, in docker's shapes.
use super::ports::Exposed;
use super::{store, Attachment, Endpoint};
use serde_json::{json, Value};
use std::path::Path;

/// Exposed ports no mapping publishes, while up (docker shows them in ps
/// and as null in NetworkSettings.Ports).
fn unpublished(a: &Attachment) -> Vec<&Exposed> {
    a.expose
        .iter()
        .filter(|e| {
            !a.ports
                .iter()
                .any(|p| p.container_port == e.port && p.protocol == e.protocol)
        })
        .collect()
}

/// `ps`'s PORTS column: the mappings, then the exposed ports left, by port.
pub fn ports_column(root: &Path, id: &str) -> String {
    let Some(a) = Attachment::load(root, id).filter(|a| a.up) else {
        return String::new();
    };
    let mut cells: Vec<(u16, String)> = a
        .ports
        .iter()
        .map(|p| (p.container_port, p.display()))
        .collect();
    cells.extend(unpublished(&a).into_iter().map(|e| (e.port, e.key())));
    cells.sort_by_key(|c| c.0);
    cells
        .into_iter()
        .map(|c| c.1)
        .collect::<Vec<_>>()
        .join(", ")
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

/// One entry of NetworkSettings.Networks, docker's EndpointSettings; the
/// addresses only while the container runs.
fn endpoint_json(e: &Endpoint, up: bool, short_id: &str) -> Value {
    let s = |v: Option<String>| {
        if up {
            v.unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut ipam = serde_json::Map::new();
    if let Some(ip) = e.ipam_ip {
        ipam.insert("IPv4Address".into(), json!(ip.to_string()));
    }
    if let Some(ip) = e.ipam_ip6 {
        ipam.insert("IPv6Address".into(), json!(ip.to_string()));
    }
    // docker: no aliases on the default bridge; the short id after the asked ones.
    let aliases = if e.network == store::DEFAULT {
        json!(null)
    } else {
        let mut v = e.aliases.clone();
        if !v.iter().any(|x| x == short_id) {
            v.push(short_id.to_string());
        }
        json!(v)
    };
    json!({
        "IPAMConfig": if ipam.is_empty() { json!(null) } else { Value::Object(ipam) },
        "Links": null,
        "Aliases": aliases,
        "NetworkID": e.network_id,
        "EndpointID": "",
        "Gateway": s(e.gateway.map(|i| i.to_string())),
        "IPAddress": s(e.ip.map(|i| i.to_string())),
        "IPPrefixLen": if up { e.prefix } else { 0 },
        "IPv6Gateway": s(e.gateway6.map(|i| i.to_string())),
        "GlobalIPv6Address": s(e.ip6.map(|i| i.to_string())),
        "GlobalIPv6PrefixLen": if up { e.prefix6 } else { 0 },
        "MacAddress": if up { e.mac.clone() } else { String::new() },
        "DriverOpts": null,
    })
}

/// `inspect`'s NetworkSettings, as docker fills it: one entry per network;
/// the top-level address fields are the default bridge's only.
pub fn settings_json(root: &Path, id: &str) -> Value {
    let Some(a) = Attachment::load(root, id) else {
        return json!({ "Networks": {} });
    };
    let mut ports = serde_json::Map::new();
    for p in a.ports.iter().filter(|_| a.up) {
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
    if a.up {
        for e in unpublished(&a) {
            ports.insert(e.key(), Value::Null);
        }
    }
    let short = &id[..12.min(id.len())];
    let mut nets = serde_json::Map::new();
    for e in &a.endpoints {
        nets.insert(e.network.clone(), endpoint_json(e, a.up, short));
    }
    if a.mode == "host" || a.mode == "none" {
        nets.insert(
            a.mode.clone(),
            json!({ "IPAMConfig": null, "Links": null, "Aliases": null,
                    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
                    "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null }),
        );
    }
    let bridge = a
        .endpoints
        .iter()
        .find(|e| e.network == store::DEFAULT)
        .map(|e| endpoint_json(e, a.up, short))
        .unwrap_or_else(|| endpoint_json(&Endpoint::default(), false, short));
    json!({
        "SandboxKey": a.netns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "Ports": ports,
        "Gateway": bridge["Gateway"],
        "IPAddress": bridge["IPAddress"],
        "IPPrefixLen": bridge["IPPrefixLen"],
        "IPv6Gateway": bridge["IPv6Gateway"],
        "GlobalIPv6Address": bridge["GlobalIPv6Address"],
        "GlobalIPv6PrefixLen": bridge["GlobalIPv6PrefixLen"],
        "MacAddress": bridge["MacAddress"],
        "Networks": nets,
    })
}

/// The exposed ports as docker's Config.ExposedPorts (null when none).
pub fn exposed_json(root: &Path, id: &str) -> Value {
    let a = Attachment::load(root, id).unwrap_or_default();
    if a.expose.is_empty() {
        return Value::Null;
    }
    Value::Object(a.expose.iter().map(|e| (e.key(), json!({}))).collect())
}
