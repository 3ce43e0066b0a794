//! `rdock port CONTAINER [PRIVATE_PORT[/PROTO]]`
use super::Context;
use crate::cli::PortArgs;
use crate::container::record;
use crate::network;
use anyhow::{bail, Result};

pub fn run(ctx: &Context, a: PortArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    let ports = network::published(&ctx.root, &r.id);
    let Some(want) = a.port else {
        for (ctr, host) in &ports {
            println!("{ctr} -> {host}");
        }
        return Ok(0);
    };
    let want = if want.contains('/') {
        want
    } else {
        format!("{want}/tcp")
    };
    let hits: Vec<&String> = ports
        .iter()
        .filter(|(c, _)| *c == want)
        .map(|(_, h)| h)
        .collect();
    if hits.is_empty() {
        bail!("No public port '{want}' published for {}", a.container);
    }
    hits.iter().for_each(|h| println!("{h}"));
    Ok(0)
}
