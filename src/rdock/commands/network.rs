//! `rdock network ls|create|rm|inspect|connect|disconnect|prune`: the
//! default bridge and user networks (netavark configs under
//! `<root>/networks/`), plus docker's predefined `host` and `none`.
use super::Context;
use crate::cli::{
    ForceArgs, NetworkCommand, NetworkConnectArgs, NetworkCreateArgs, NetworkDisconnectArgs,
    QuietArgs,
};
use crate::container::record;
use crate::network::{self, store};
use crate::template::{print_list_with, Listing, Options};
use anyhow::{bail, Result};
use image::digest::sha256_of;
use serde_json::{json, Value};

pub fn run(ctx: &Context, c: NetworkCommand) -> Result<i32> {
    match c {
        NetworkCommand::Ls(q) => ls(ctx, q),
        NetworkCommand::Create(a) => create(ctx, a),
        NetworkCommand::Rm { networks } => Ok(super::each(&networks, |n| rm(ctx, n))),
        NetworkCommand::Inspect { networks } => inspect(ctx, &networks),
        NetworkCommand::Connect(a) => connect(ctx, a),
        NetworkCommand::Disconnect(a) => disconnect(ctx, a),
        NetworkCommand::Prune(a) => prune_cmd(ctx, a),
    }
}

/// A predefined network (`host`, `none`) named in connect/disconnect.
fn predefined(what: &str) -> bool {
    store::PREDEFINED.iter().any(|p| p.0 == what)
}

fn connect(ctx: &Context, a: NetworkConnectArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if a.network == "host" {
        bail!("container cannot be disconnected from host network or connected to host network");
    }
    let req = network::EndpointRequest::parse(a.ip.as_deref(), a.ip6.as_deref(), &a.alias)?;
    let mode = network::mode_name(&ctx.root, &r.id);
    if a.network == "none" {
        // docker: a container on none may be connected to none again only.
        if mode == "none" {
            return Ok(0);
        }
        bail!(
            "container cannot be connected to multiple networks with one of the networks in \
             private (none) mode"
        );
    }
    let n = store::find(&ctx.root, &a.network)?;
    network::connect(&ctx.root, &r.id, &n, &req)?;
    crate::events::network_endpoint(&ctx.root, "connect", (&n.id, &n.name), &r.id);
    Ok(0)
}

fn disconnect(ctx: &Context, a: NetworkDisconnectArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if predefined(&a.network) {
        let mode = network::mode_name(&ctx.root, &r.id);
        if mode == a.network && a.network == "none" && !a.force {
            // docker lets a container leave none (it keeps only lo).
            return Ok(0);
        }
        bail!(
            "container {} is not connected to network {}",
            r.id,
            a.network
        );
    }
    let n = store::find(&ctx.root, &a.network)?;
    if let Err(e) = network::disconnect(&ctx.root, &r.id, &n) {
        // -f: the endpoint is gone from the record even when the teardown failed.
        if !a.force
            || network::Attachment::load(&ctx.root, &r.id).is_some_and(|x| x.on(&n.id).is_some())
        {
            return Err(e);
        }
        log::warn!("disconnecting {} from {}: {e:#}", r.id, n.name);
    }
    crate::events::network_endpoint(&ctx.root, "disconnect", (&n.id, &n.name), &r.id);
    Ok(0)
}

fn prune_cmd(ctx: &Context, a: ForceArgs) -> Result<i32> {
    let warning =
        "WARNING! This will remove all custom networks not used by at least one container.";
    if a.force || super::prune::confirm(warning)? {
        super::prune::print_section("Deleted Networks", &prune(&ctx.root)?);
    }
    Ok(0)
}

/// A predefined network's id: stable, derived from its name.
fn predefined_id(name: &str) -> String {
    sha256_of(name.as_bytes())
        .trim_start_matches("sha256:")
        .to_string()
}

/// `network ls`' columns, docker's names.
const LS_HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

fn ls(ctx: &Context, q: QuietArgs) -> Result<i32> {
    let row = |id: &str, name: &str, driver: &str, created: &str, flags: (bool, bool)| {
        json!({
            "ID": id[..12].to_string(),
            "Name": name,
            "Driver": driver,
            "Scope": "local",
            "IPv6": flags.0.to_string(),
            "Internal": flags.1.to_string(),
            "Labels": "",
            "CreatedAt": created,
        })
    };
    let mut rows: Vec<Value> = store::list(&ctx.root)?
        .into_iter()
        .map(|n| {
            let flags = (n.ipv6_enabled, n.internal);
            row(&n.id, &n.name, &n.driver, &created_at(&n.created), flags)
        })
        .collect();
    for (name, driver) in store::PREDEFINED {
        rows.push(row(&predefined_id(name), name, driver, "", (false, false)));
    }
    rows.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
    if q.quiet {
        rows.iter()
            .for_each(|r| println!("{}", r["ID"].as_str().unwrap_or_default()));
        return Ok(0);
    }
    let listing = Listing {
        default: "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}",
        headers: LS_HEADERS,
    };
    let opts = Options {
        root_type: "*network.networkContext",
        ..Options::default()
    };
    print_list_with(q.format.as_deref(), &listing, &rows, &opts)?;
    Ok(0)
}

/// Go's time.String() of an RFC 3339 time, as `network ls` shows CreatedAt.
fn created_at(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
                .to_string()
        })
        .unwrap_or_default()
}

fn create(ctx: &Context, a: NetworkCreateArgs) -> Result<i32> {
    if a.driver != "bridge" {
        bail!(
            "plugin \"{}\" not found (rdock has the bridge driver only)",
            a.driver
        );
    }
    let opts = store::CreateOptions {
        subnets: &a.subnet,
        gateways: &a.gateway,
        ipv6: a.ipv6,
    };
    let n = store::create(&ctx.root, &a.name, &opts)?;
    crate::events::network(&ctx.root, "create", &n.id, &n.name, "bridge");
    println!("{}", n.id);
    Ok(0)
}

fn rm(ctx: &Context, what: &str) -> Result<()> {
    if store::PREDEFINED.iter().any(|p| p.0 == what) || what == store::DEFAULT {
        bail!("{what} is a pre-defined network and cannot be removed");
    }
    let n = store::find(&ctx.root, what)?;
    if n.name == store::DEFAULT {
        bail!("{} is a pre-defined network and cannot be removed", n.name);
    }
    let _l = store::lock(&ctx.root)?;
    if !network::containers_on(&ctx.root, &n.id).is_empty() {
        bail!(
            "error while removing network: network {} id {} has active endpoints",
            n.name,
            n.id
        );
    }
    store::remove(&ctx.root, &n)?;
    crate::events::network(&ctx.root, "destroy", &n.id, &n.name, "bridge");
    Ok(())
}

/// `system prune`: the user networks no container is on (the default bridge stays).
pub(super) fn prune(root: &std::path::Path) -> Result<Vec<String>> {
    // Listed before the lock: listing writes the default bridge on first
    // use under the same lock (flock is per open file: taken twice, it hangs).
    let networks = store::list(root)?;
    let _l = store::lock(root)?;
    let mut gone = Vec::new();
    for n in networks {
        if n.name != store::DEFAULT && network::containers_on(root, &n.id).is_empty() {
            store::remove(root, &n)?;
            gone.push(n.name);
        }
    }
    Ok(gone)
}

fn inspect_one(ctx: &Context, what: &str) -> Result<Value> {
    if let Some((name, driver)) = store::PREDEFINED.iter().find(|p| p.0 == what) {
        return Ok(json!({
            "Name": name, "Id": predefined_id(name), "Scope": "local", "Driver": driver,
            "EnableIPv6": false, "IPAM": { "Driver": "default", "Options": null, "Config": [] },
            "Internal": false, "Attachable": false, "Containers": {}, "Options": {}, "Labels": {},
        }));
    }
    let n = store::find(&ctx.root, what)?;
    let mut containers = serde_json::Map::new();
    for (id, a) in network::containers_on(&ctx.root, &n.id) {
        let Some(e) = a.on(&n.id).filter(|_| a.up) else {
            continue;
        };
        let name = record::Record::load(&ctx.root, &id)
            .map(|r| r.name)
            .unwrap_or_default();
        containers.insert(
            id,
            json!({
                "Name": name, "MacAddress": e.mac,
                "IPv4Address": e.ip.map(|ip| format!("{ip}/{}", e.prefix)).unwrap_or_default(),
                "IPv6Address": e.ip6.map(|ip| format!("{ip}/{}", e.prefix6)).unwrap_or_default(),
            }),
        );
    }
    Ok(json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": n.subnets.iter()
                .map(|s| json!({ "Subnet": s.subnet, "Gateway": s.gateway }))
                .collect::<Vec<_>>(),
        },
        "Internal": n.internal,
        "Attachable": false,
        "Containers": containers,
        "Options": { "com.docker.network.bridge.name": n.network_interface },
        "Labels": {},
    }))
}

fn inspect(ctx: &Context, names: &[String]) -> Result<i32> {
    let mut out = Vec::new();
    let mut code = 0;
    for n in names {
        match inspect_one(ctx, n) {
            Ok(v) => out.push(v),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(code)
}
