//! `rdock network ls|create|rm|inspect`: the default bridge and user
//! networks (netavark configs under `<root>/networks/`), plus docker's
//! predefined `host` and `none`.
use super::Context;
use crate::cli::{NetworkCommand, NetworkCreateArgs, QuietArgs};
use crate::container::record;
use crate::format::print_table;
use crate::network::{self, store};
use anyhow::{bail, Result};
use image::digest::sha256_of;
use serde_json::{json, Value};

pub fn run(ctx: &Context, c: NetworkCommand) -> Result<i32> {
    match c {
        NetworkCommand::Ls(QuietArgs { quiet }) => ls(ctx, quiet),
        NetworkCommand::Create(a) => create(ctx, a),
        NetworkCommand::Rm { networks } => Ok(super::each(&networks, |n| rm(ctx, n))),
        NetworkCommand::Inspect { networks } => inspect(ctx, &networks),
    }
}

/// A predefined network's id: stable, derived from its name.
fn predefined_id(name: &str) -> String {
    sha256_of(name.as_bytes())
        .trim_start_matches("sha256:")
        .to_string()
}

fn ls(ctx: &Context, quiet: bool) -> Result<i32> {
    let mut rows: Vec<Vec<String>> = store::list(&ctx.root)?
        .into_iter()
        .map(|n| vec![n.id[..12].to_string(), n.name, n.driver, "local".into()])
        .collect();
    for (name, driver) in store::PREDEFINED {
        let id = predefined_id(name)[..12].to_string();
        rows.push(vec![
            id,
            name.to_string(),
            driver.to_string(),
            "local".into(),
        ]);
    }
    rows.sort_by(|a, b| a[1].cmp(&b[1]));
    if quiet {
        rows.iter().for_each(|r| println!("{}", r[0]));
    } else {
        print_table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows);
    }
    Ok(0)
}

fn create(ctx: &Context, a: NetworkCreateArgs) -> Result<i32> {
    if a.driver != "bridge" {
        bail!(
            "plugin \"{}\" not found (rdock has the bridge driver only)",
            a.driver
        );
    }
    let n = store::create(
        &ctx.root,
        &a.name,
        a.subnet.as_deref(),
        a.gateway.as_deref(),
    )?;
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
        if !a.up {
            continue;
        }
        let name = record::Record::load(&ctx.root, &id)
            .map(|r| r.name)
            .unwrap_or_default();
        containers.insert(
            id,
            json!({
                "Name": name, "MacAddress": a.mac,
                "IPv4Address": a.ip.map(|ip| format!("{ip}/{}", a.prefix)).unwrap_or_default(),
                "IPv6Address": "",
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
