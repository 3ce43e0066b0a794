//! The container's `/etc/hosts` and `/etc/resolv.conf` for its network, as
//! docker writes them: the container's address for its hostname on a
//! bridge, the host's files on the host network, and name servers the
//! container can reach.
use super::Attachment;
#[cfg(test)]
use super::Endpoint;
use std::net::Ipv4Addr;

const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
    fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
    ff02::2\tip6-allrouters\n";

/// docker's public fallback when the host only has local resolvers.
const FALLBACK_DNS: &[&str] = &["8.8.8.8", "8.8.4.4"];

/// `/etc/hosts`: localhost, then the hostname on each of the container's
/// addresses (bridge networks), on 127.0.1.1 (none, or no network left), or
/// the host's file (host network).
pub fn hosts(a: &Attachment, hostname: &str, host_hosts: &str) -> String {
    let ips: Vec<String> = a
        .endpoints
        .iter()
        .flat_map(|e| {
            e.ip.map(|i| i.to_string())
                .into_iter()
                .chain(e.ip6.map(|i| i.to_string()))
        })
        .collect();
    match a.mode.as_str() {
        "bridge" if !ips.is_empty() => {
            let mut s = LOCALHOST.to_string();
            for ip in ips {
                s.push_str(&format!("{ip}\t{hostname}\n"));
            }
            s
        }
        "host" if !host_hosts.is_empty() => {
            let mut s = host_hosts.to_string();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            if !s.split_whitespace().any(|w| w == hostname) {
                s.push_str(&format!("127.0.1.1\t{hostname}\n"));
            }
            s
        }
        _ => format!("{LOCALHOST}127.0.1.1\t{hostname}\n"),
    }
}

fn is_local(ns: &str) -> bool {
    ns.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback()) || ns == "::1"
}

/// `/etc/resolv.conf` from the host's: as it is on the host network; in a
/// namespace of its own, without the host's loopback resolvers (docker
/// falls back to 8.8.8.8 and 8.8.4.4 when none is left); on a network with
/// DNS, aardvark-dns on the gateway answers first (container names), one
/// name server per such network.
pub fn resolv_conf(a: &Attachment, host: &str) -> String {
    if a.mode == "host" {
        return host.to_string();
    }
    let mut out = String::new();
    let mut servers = Vec::new();
    let mut search = Vec::new();
    for l in host.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["nameserver", ns, ..] if !is_local(ns) => servers.push(ns.to_string()),
            ["nameserver", ..] => {}
            ["search", rest @ ..] | ["domain", rest @ ..] => {
                search.extend(rest.iter().map(|s| s.to_string()))
            }
            _ if l.trim_start().starts_with("options") => out.push_str(&format!("{l}\n")),
            _ => {}
        }
    }
    if servers.is_empty() {
        servers = FALLBACK_DNS.iter().map(|s| s.to_string()).collect();
    }
    let gateways: Vec<String> = a
        .endpoints
        .iter()
        .filter(|e| e.dns)
        .filter_map(|e| e.gateway.map(|g| g.to_string()))
        .collect();
    if !gateways.is_empty() {
        search.insert(0, "dns.podman".into());
        servers.splice(0..0, gateways);
    }
    let mut head = String::new();
    if !search.is_empty() {
        head.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        head.push_str(&format!("nameserver {s}\n"));
    }
    head + &out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(mode: &str) -> Attachment {
        Attachment {
            mode: mode.into(),
            endpoints: vec![Endpoint {
                ip: Some("10.87.0.5".parse().unwrap()),
                gateway: Some("10.87.0.1".parse().unwrap()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn hosts_name_the_container_on_its_address() {
        let h = hosts(&att("bridge"), "abc", "");
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.87.0.5\tabc\n"));
        assert!(hosts(&att("none"), "abc", "").ends_with("127.0.1.1\tabc\n"));
        let mut a = att("bridge");
        a.endpoints[0].ip6 = Some("fd00::2".parse().unwrap());
        assert!(hosts(&a, "abc", "").ends_with("10.87.0.5\tabc\nfd00::2\tabc\n"));
        let h = hosts(&att("host"), "abc", "127.0.0.1 localhost\n1.2.3.4 myhost");
        assert_eq!(h, "127.0.0.1 localhost\n1.2.3.4 myhost\n127.0.1.1\tabc\n");
    }

    #[test]
    fn resolv_conf_drops_loopback_resolvers() {
        let host = "nameserver 127.0.0.53\nsearch lan\noptions edns0\n";
        assert_eq!(
            resolv_conf(&att("bridge"), host),
            "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
        );
        assert_eq!(resolv_conf(&att("host"), host), host);
        let mut a = att("bridge");
        a.endpoints[0].dns = true;
        a.endpoints.push(Endpoint {
            dns: true,
            gateway: Some("10.87.1.1".parse().unwrap()),
            ..Default::default()
        });
        let r = resolv_conf(&a, "nameserver 192.0.2.1\n");
        assert_eq!(
            r,
            "search dns.podman\nnameserver 10.87.0.1\nnameserver 10.87.1.1\nnameserver 192.0.2.1\n"
        );
    }
}
