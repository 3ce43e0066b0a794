//! `rdock top CONTAINER [ps OPTIONS]`: the container's pids from the
//! runtime (`ps --format json`), shown by the host's `ps` (default -ef).
use super::Context;
use crate::cli::TopArgs;
use crate::container::{record, record::State, runtime};
use anyhow::{bail, Context as _, Result};

pub fn run(ctx: &Context, a: TopArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if r.live_state() != State::Running {
        bail!("Container {} is not running", r.id);
    }
    let out = runtime::command(
        &r.runtime,
        &r.runtime_root,
        &["ps", "--format", "json", &r.id],
    )
    .output()
    .context("running the runtime's ps")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).context("parsing the pid list")?;
    let ps_args = if a.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_args.clone()
    };
    let ps = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .context("running ps")?;
    let text = String::from_utf8_lossy(&ps.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("Couldn't find PID field in ps output");
    };
    println!("{header}");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i64>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{l}");
        }
    }
    Ok(0)
}
