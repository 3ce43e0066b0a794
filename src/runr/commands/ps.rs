//! `runr ps`: the container's processes, as a JSON list of host pids
//! (what containerd parses) or as host `ps` output filtered to the cgroup.

use std::collections::HashSet;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cli::{Cli, ListFormat, Ps};
use runtime::cgroups;
use runtime::state::{StateDir, Status};

pub fn run(cli: &Cli, p: &Ps) -> Result<()> {
    let dir = StateDir::open(&cli.root, &p.id)?;
    let state = dir.load()?;
    state.require_cgroup("ps")?;
    // As runc: a stopped container is listed too (leftover processes while
    // its cgroup exists, none once the cgroup is gone).
    let pids = match cgroups::pids(&state.cgroup_path, state.systemd_cgroup, &state.id) {
        Err(_) if state.status(&dir) == Status::Stopped => Vec::new(),
        r => r?,
    };
    drop(dir);
    match p.format {
        ListFormat::Json => {
            println!("{}", serde_json::to_string(&pids)?);
            Ok(())
        }
        ListFormat::Table => table(&pids, &p.ps_args),
    }
}

/// Runs host `ps` and keeps the header and the lines of the container's pids.
fn table(pids: &[i32], args: &[String]) -> Result<()> {
    let default = ["-ef".to_string()];
    let args = if args.is_empty() { &default[..] } else { args };
    let out = Command::new("ps")
        .args(args)
        .output()
        .context("running ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .context("couldn't find PID field in ps output")?;
    let wanted: HashSet<i32> = pids.iter().copied().collect();
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|f| f.parse::<i32>().ok());
        if pid.is_some_and(|p| wanted.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}
