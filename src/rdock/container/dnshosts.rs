//! `--dns`, `--dns-search`, `--dns-option` and `--add-host`: docker's
//! checks, and what they change in the container's `/etc/resolv.conf` and
//! `/etc/hosts` (written first for its network by `network::write_etc_files`).
use super::hostconfig::flag_error;
use crate::network::Attachment;
use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::Path;

/// docker's name for the host's address as seen from the container.
pub const HOST_GATEWAY: &str = "host-gateway";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
    /// `--add-host` values as given (`NAME:IP`).
    pub extra_hosts: Vec<String>,
}

/// docker's ValidateIPAddress: the address in its canonical form.
fn ip(s: &str) -> Option<String> {
    s.trim().parse::<IpAddr>().ok().map(|a| a.to_string())
}

/// docker's domain check for `--dns-search` (`.` alone means none).
fn valid_domain(d: &str) -> bool {
    if d == "." {
        return true;
    }
    let d = d.trim_end();
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 255
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

pub fn parse(
    dns: &[String],
    search: &[String],
    options: &[String],
    add_host: &[String],
) -> Result<Dns> {
    let mut d = Dns {
        options: options.to_vec(),
        ..Default::default()
    };
    for s in dns {
        d.servers.push(
            ip(s).ok_or_else(|| flag_error(s, "--dns", &format!("{s} is not an ip address")))?,
        );
    }
    for s in search {
        if !valid_domain(s) {
            return Err(flag_error(
                s,
                "--dns-search",
                &format!("{s} is not a valid domain"),
            ));
        }
        d.search.push(s.clone());
    }
    for h in add_host {
        let bad = |why: String| flag_error(h, "--add-host", &why);
        match h.split_once(':') {
            Some((name, addr)) if !name.is_empty() => {
                if addr != HOST_GATEWAY && ip(addr).is_none() {
                    return Err(bad(format!("invalid IP address in add-host: {addr:?}")));
                }
            }
            _ => return Err(bad(format!("bad format for add-host: {h:?}"))),
        }
        d.extra_hosts.push(h.clone());
    }
    Ok(d)
}

/// The address `host-gateway` stands for: the gateway of the container's
/// bridge network, else rdock's default bridge's (docker uses its default
/// bridge's address, docker0's, whatever the container's network).
pub fn host_gateway(root: &Path, a: &Attachment) -> Result<String> {
    let first = a.endpoints.first().filter(|_| a.mode == "bridge");
    if let Some(gw) = first.and_then(|e| e.gateway) {
        return Ok(gw.to_string());
    }
    let n = crate::network::store::default_bridge(root)?;
    Ok(n.subnet()?.1.to_string())
}

/// `resolv.conf` with the flags: each given part replaces the file's
/// (search, nameservers, options, in docker's order). On a network with
/// container-name DNS the aardvark server stays first, so that names still
/// resolve (docker's embedded server forwards to `--dns` instead).
pub fn resolv_conf(current: &str, d: &Dns, a: &Attachment) -> String {
    let (mut servers, mut search, mut options) = (Vec::new(), Vec::new(), Vec::new());
    for l in current.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["nameserver", ns, ..] => servers.push(ns.to_string()),
            ["search", rest @ ..] | ["domain", rest @ ..] => {
                search = rest.iter().map(|s| s.to_string()).collect()
            }
            ["options", rest @ ..] => options.extend(rest.iter().map(|s| s.to_string())),
            _ => {}
        }
    }
    // The first network's name server, as in the file netavark set up.
    let aardvark = a
        .endpoints
        .first()
        .filter(|e| e.dns && a.mode == "bridge")
        .and_then(|e| e.gateway);
    if !d.servers.is_empty() {
        servers = aardvark.map(|g| g.to_string()).into_iter().collect();
        servers.extend(d.servers.iter().cloned());
    }
    if !d.search.is_empty() {
        search = if aardvark.is_some() {
            vec!["dns.podman".to_string()]
        } else {
            vec![]
        };
        search.extend(d.search.iter().filter(|s| *s != ".").cloned());
    }
    if !d.options.is_empty() {
        options = d.options.clone();
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// `hosts` with the `--add-host` lines (`IP\tNAME`, the IP as given) after
/// the localhost block and before the container's own line, as docker
/// writes them; at the end of the host's file on the host network.
pub fn hosts(current: &str, d: &Dns, gateway: &str, a: &Attachment) -> String {
    let extra: String = d
        .extra_hosts
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(name, addr)| {
            let addr = if addr == HOST_GATEWAY { gateway } else { addr };
            format!("{addr}\t{name}\n")
        })
        .collect();
    let mut lines: Vec<&str> = current.lines().collect();
    let own = if a.mode != "host" { lines.pop() } else { None };
    let mut out: String = lines.iter().map(|l| format!("{l}\n")).collect();
    out.push_str(&extra);
    if let Some(l) = own {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Rewrites `<dir>/resolv.conf` and `<dir>/hosts` when the flags ask.
pub fn write(root: &Path, dir: &Path, d: &Dns, a: &Attachment) -> Result<()> {
    let read = |f: &str| {
        let p = dir.join(f);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let put = |f: &str, text: String| {
        let p = dir.join(f);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    if !d.servers.is_empty() || !d.search.is_empty() || !d.options.is_empty() {
        put("resolv.conf", resolv_conf(&read("resolv.conf")?, d, a))?;
    }
    if !d.extra_hosts.is_empty() {
        let needs_gw = d
            .extra_hosts
            .iter()
            .any(|h| h.ends_with(&format!(":{HOST_GATEWAY}")));
        let gw = if needs_gw {
            host_gateway(root, a)?
        } else {
            String::new()
        };
        put("hosts", hosts(&read("hosts")?, d, &gw, a))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(mode: &str, dns: bool) -> Attachment {
        let mut a = Attachment::default();
        a.mode = mode.into();
        a.endpoints = vec![crate::network::Endpoint {
            gateway: Some("10.87.1.1".parse().unwrap()),
            dns,
            ..Default::default()
        }];
        a
    }

    #[test]
    fn flags_are_checked_as_docker() {
        let e = |dns: &[&str], add: &[&str]| {
            let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            parse(&s(dns), &[], &[], &s(add)).unwrap_err().to_string()
        };
        assert_eq!(
            e(&["bad"], &[]),
            "invalid argument \"bad\" for \"--dns\" flag: bad is not an ip address"
        );
        assert_eq!(
            e(&[], &["a:bad"]),
            "invalid argument \"a:bad\" for \"--add-host\" flag: invalid IP address in add-host: \"bad\""
        );
        assert_eq!(
            e(&[], &["a"]),
            "invalid argument \"a\" for \"--add-host\" flag: bad format for add-host: \"a\""
        );
        assert!(parse(&[], &[], &[], &["b:::1".into(), "h:host-gateway".into()]).is_ok());
    }

    #[test]
    fn resolv_conf_parts_replace_the_hosts() {
        let d = Dns {
            servers: vec!["1.1.1.1".into()],
            search: vec!["x".into()],
            options: vec!["ndots:2".into()],
            ..Default::default()
        };
        let cur = "search lan\nnameserver 9.9.9.9\noptions edns0\n";
        assert_eq!(
            resolv_conf(cur, &d, &att("bridge", false)),
            "search x\nnameserver 1.1.1.1\noptions ndots:2\n"
        );
        let only_search = Dns {
            search: vec!["y".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf(cur, &only_search, &att("none", false)),
            "search y\nnameserver 9.9.9.9\noptions edns0\n"
        );
        let cur = "search dns.podman\nnameserver 10.87.1.1\nnameserver 9.9.9.9\n";
        assert_eq!(
            resolv_conf(cur, &d, &att("bridge", true)),
            "search dns.podman x\nnameserver 10.87.1.1\nnameserver 1.1.1.1\noptions ndots:2\n"
        );
    }

    #[test]
    fn extra_hosts_go_before_the_containers_line() {
        let d = Dns {
            extra_hosts: vec!["a:1.2.3.4".into(), "h:host-gateway".into()],
            ..Default::default()
        };
        let cur = "127.0.0.1\tlocalhost\n10.87.1.5\tabc\n";
        assert_eq!(
            hosts(cur, &d, "10.87.1.1", &att("bridge", false)),
            "127.0.0.1\tlocalhost\n1.2.3.4\ta\n10.87.1.1\th\n10.87.1.5\tabc\n"
        );
        assert_eq!(
            hosts(
                "127.0.0.1 localhost\n",
                &d,
                "10.87.0.1",
                &att("host", false)
            ),
            "127.0.0.1 localhost\n1.2.3.4\ta\n10.87.0.1\th\n"
        );
    }
}
