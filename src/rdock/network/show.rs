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

/// `ps`'s PORTS column.
pub fn ports_column(root: &Path, id: &str) -> String {
    let Some(a) = Attachment::load(root, id).filter(|a| a.up) else {
        return String::new();
    };
    let mut ports: Vec<PortEntry> = a
        .ports
        .iter()
        .map(|p| PortEntry {
            private: p.container_port,
            public: p.host_port,
            proto: p.protocol.clone(),
            ip: if p.host_ip.is_empty() {
                "0.0.0.0".into()
            } else {
                p.host_ip.clone()
            },
        })
        .collect();
    ports.extend(unpublished(&a).into_iter().map(|e| PortEntry {
        private: e.port,
        public: 0,
        proto: e.protocol.clone(),
        ip: String::new(),
    }));
    displayable(ports)
}

/// One of docker's API Ports: a mapping, or an exposed port (no ip).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PortEntry {
    private: u16,
    public: u16,
    proto: String,
    ip: String,
}

/// docker's PORTS text: sorted by container port; exposed ports and
/// mappings to the same port number grouped into ranges (`80-81/tcp`,
/// `0.0.0.0:80-81->80-81/tcp`), in the order their groups began; the other
/// mappings last, one by one.
fn displayable(mut ports: Vec<PortEntry>) -> String {
    ports.sort();
    let form = |key: &str, first: u16, last: u16| {
        let (ip, proto) = key.rsplit_once('/').map_or(("", key), |(i, p)| (i, p));
        let mut g = first.to_string();
        if first != last {
            g = format!("{g}-{last}");
        }
        if !ip.is_empty() {
            g = format!("{ip}:{g}->{g}");
        }
        format!("{g}/{proto}")
    };
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let (mut out, mut mappings) = (Vec::new(), Vec::new());
    for p in ports {
        let key = if p.ip.is_empty() {
            p.proto.clone()
        } else if p.public != p.private {
            mappings.push(format!("{}:{}->{}/{}", p.ip, p.public, p.private, p.proto));
            continue;
        } else {
            format!("{}/{}", p.ip, p.proto)
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, p.private, p.private)),
            Some(g) if p.private == g.2.wrapping_add(1) => g.2 = p.private,
            Some(g) => {
                out.push(form(&g.0, g.1, g.2));
                (g.1, g.2) = (p.private, p.private);
            }
        }
    }
    out.extend(groups.iter().map(|g| form(&g.0, g.1, g.2)));
    out.extend(mappings);
    out.join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(private: u16, public: u16, proto: &str, ip: &str) -> PortEntry {
        PortEntry {
            private,
            public,
            proto: proto.into(),
            ip: ip.into(),
        }
    }

    #[test]
    fn the_ports_column_groups_and_orders_as_dockers() {
        let v = vec![
            p(80, 32768, "tcp", "0.0.0.0"),
            p(443, 0, "tcp", ""),
            p(444, 0, "tcp", ""),
            p(53, 0, "udp", ""),
        ];
        assert_eq!(displayable(v), "53/udp, 443-444/tcp, 0.0.0.0:32768->80/tcp");
        let v = vec![
            p(8081, 8081, "tcp", "0.0.0.0"),
            p(8080, 8080, "tcp", "0.0.0.0"),
        ];
        assert_eq!(displayable(v), "0.0.0.0:8080-8081->8080-8081/tcp");
        let v = vec![p(1, 0, "tcp", ""), p(3, 0, "tcp", ""), p(4, 0, "tcp", "")];
        assert_eq!(displayable(v), "1/tcp, 3-4/tcp");
        assert_eq!(displayable(vec![]), "");
    }
}
