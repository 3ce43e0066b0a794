//! What `run`/`create` ask of the network (`--network`, `-p`, `-P`,
//! `--expose`, `--ip`, `--ip6`, `--network-alias`), checked in docker's
//! order: its client's checks first, then its daemon's.
use super::ports::{self, Exposed, PortMapping};
use super::store::{self, Network};
use super::{last_port_file, netavark, ports_in_use};
use anyhow::{bail, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// A refusal docker's client makes before asking its daemon: `run` prints
/// it without the daemon's prefix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

fn client_error(msg: String) -> anyhow::Error {
    ClientError(msg).into()
}

/// The network a container asked for, resolved.
#[derive(Debug, Clone)]
pub enum Mode {
    Host,
    None,
    Bridge(Network),
}

/// `--ip`, `--ip6` and `--network-alias` (`network connect`'s `--ip`,
/// `--ip6`, `--alias`): docker's EndpointSettings as asked.
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    pub ip: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    pub aliases: Vec<String>,
}

impl EndpointRequest {
    /// Checks the addresses as docker's daemon does before anything else.
    pub fn parse(ip: Option<&str>, ip6: Option<&str>, aliases: &[String]) -> Result<Self> {
        let ip = ip
            .map(|s| match s.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Ok(a),
                _ => bail!("invalid IPv4 address: {s}"),
            })
            .transpose()?;
        let ip6 = ip6
            .map(|s| match s.parse::<IpAddr>() {
                Ok(IpAddr::V6(a)) => Ok(a),
                _ => bail!("invalid IPv6 address: {s}"),
            })
            .transpose()?;
        Ok(EndpointRequest {
            ip,
            ip6,
            aliases: aliases.to_vec(),
        })
    }
}

/// What `run`/`create` resolved from `--network`, `-p`, `-P`, `--expose`,
/// `--ip`, `--ip6` and `--network-alias`, before creating.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub publish: Vec<PortMapping>,
    pub publish_all: bool,
    /// `--expose` and `-p`'s ports; the image's are added by [`Plan::expose_image`].
    pub expose: Vec<Exposed>,
    pub endpoint: EndpointRequest,
}

impl Plan {
    /// The container needs a network namespace of its own.
    pub fn own_namespace(&self) -> bool {
        !matches!(self.mode, Mode::Host)
    }

    /// Adds the image's ExposedPorts (docker merges them with `--expose`).
    pub fn expose_image(&mut self, keys: &[String]) {
        for e in keys.iter().filter_map(|k| Exposed::from_key(k)) {
            if !self.expose.contains(&e) {
                self.expose.push(e);
            }
        }
        self.expose.sort();
    }
}

/// `run`'s network flags, as given.
#[derive(Debug, Default)]
pub struct Flags<'a> {
    pub networks: &'a [String],
    pub publish: &'a [String],
    pub publish_all: bool,
    pub expose: &'a [String],
    pub ip: Option<&'a str>,
    pub ip6: Option<&'a str>,
    pub aliases: &'a [String],
}

/// Resolves the network flags (no `--network` = the default); checks them
/// in docker's order (its client's checks, then its daemon's), that
/// netavark is there for a bridge network and that the host ports are
/// free, so that `run` fails before creating anything.
pub fn plan(root: &Path, f: &Flags) -> Result<Plan> {
    let mut expose = Vec::new();
    for e in f.expose {
        expose.extend(ports::parse_expose(e).map_err(|e| client_error(format!("{e:#}")))?);
    }
    let publish = f
        .publish
        .iter()
        .map(|p| ports::parse(p))
        .collect::<Result<Vec<_>>>()?;
    for p in &publish {
        let e = Exposed {
            port: p.container_port,
            protocol: p.protocol.clone(),
        };
        if !expose.contains(&e) {
            expose.push(e);
        }
    }
    expose.sort();
    for (i, n) in f.networks.iter().enumerate() {
        if f.networks[..i].contains(n) {
            return Err(client_error(format!(
                "network \"{n}\" is specified multiple times"
            )));
        }
    }
    let first = f.networks.first().map(String::as_str);
    let user_defined = |n: &str| !matches!(n, "host" | "none" | "bridge" | "default");
    if !f.aliases.is_empty() && first.is_some_and(|n| !user_defined(n)) {
        return Err(client_error(
            "network-scoped aliases are only supported for user-defined networks".into(),
        ));
    }
    if f.networks.len() > 1 {
        // docker 20.10's daemon takes one network at create; `network
        // connect` adds the others.
        bail!(
            "Container cannot be connected to network endpoints: {}",
            f.networks.join(", ")
        );
    }
    let endpoint = EndpointRequest::parse(f.ip, f.ip6, f.aliases)?;
    let mode = match first {
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
    let wants_ip = endpoint.ip.is_some() || endpoint.ip6.is_some();
    let mut publish_now = publish.clone();
    match &mode {
        Mode::Bridge(n) => {
            if netavark::locate().is_none() {
                return Err(netavark::missing());
            }
            check_endpoint(n, &endpoint)?;
            if f.publish_all {
                publish_now.extend(ports::publish_all(&expose, &publish));
            }
            let mut dynamic = ports::Dynamic::load(&last_port_file(root));
            ports::claim(&publish_now, &ports_in_use(root, ""), &mut dynamic)?;
        }
        _ if wants_ip => {
            bail!("user specified IP address is supported on user defined networks only")
        }
        Mode::Host if !publish.is_empty() => {
            log::warn!("Published ports are discarded when using host network mode");
        }
        _ => {}
    }
    Ok(Plan {
        mode,
        publish,
        publish_all: f.publish_all,
        expose,
        endpoint,
    })
}

/// docker's checks of `--ip`, `--ip6` and aliases against the network.
pub(super) fn check_endpoint(n: &Network, r: &EndpointRequest) -> Result<()> {
    let default = n.name == store::DEFAULT;
    if (r.ip.is_some() || r.ip6.is_some()) && default {
        bail!("user specified IP address is supported on user defined networks only");
    }
    if !r.aliases.is_empty() && default {
        bail!("network-scoped alias is supported only for containers in user defined networks");
    }
    if (r.ip.is_some() && !n.user_subnet) || (r.ip6.is_some() && n.subnet6()?.is_none()) {
        bail!(
            "user specified IP address is supported only when connecting to networks with \
             user configured subnets"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(f: &Flags) -> (bool, String) {
        let d = tempfile::tempdir().unwrap();
        let e = plan(d.path(), f).unwrap_err();
        (e.is::<ClientError>(), format!("{e:#}"))
    }

    #[test]
    fn network_flags_are_refused_as_dockers_client_and_daemon_do() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (nets, alias) = (s(&["a", "a"]), s(&["x"]));
        let f = Flags {
            networks: &nets,
            ..Default::default()
        };
        assert_eq!(
            err(&f),
            (true, "network \"a\" is specified multiple times".into())
        );
        let none = s(&["none"]);
        let f = Flags {
            networks: &none,
            aliases: &alias,
            ..Default::default()
        };
        assert!(err(&f).0, "aliases on none: the client's refusal");
        let two = s(&["b", "a"]);
        let f = Flags {
            networks: &two,
            ..Default::default()
        };
        assert_eq!(
            err(&f),
            (
                false,
                "Container cannot be connected to network endpoints: b, a".into()
            )
        );
        let f = Flags {
            networks: &none,
            ip: Some("10.0.0.300"),
            ..Default::default()
        };
        assert_eq!(err(&f).1, "invalid IPv4 address: 10.0.0.300");
        let f = Flags {
            networks: &none,
            ip6: Some("10.0.0.3"),
            ..Default::default()
        };
        assert_eq!(err(&f).1, "invalid IPv6 address: 10.0.0.3");
        let f = Flags {
            networks: &none,
            ip: Some("10.0.0.3"),
            ..Default::default()
        };
        assert_eq!(
            err(&f).1,
            "user specified IP address is supported on user defined networks only"
        );
        let bad = s(&["abc"]);
        let f = Flags {
            networks: &none,
            expose: &bad,
            ..Default::default()
        };
        assert!(err(&f).0, "--expose: the client's refusal");
    }
}
