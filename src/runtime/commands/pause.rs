//! `runr pause` / `runr resume`: the cgroup freezer, with runc's refusals.

use anyhow::{bail, Result};

use crate::runtime::cgroups;
use crate::runtime::cli::Cli;
use crate::runtime::state::{StateDir, Status};

pub fn pause(cli: &Cli, id: &str) -> Result<()> {
    let dir = StateDir::open(&cli.root, id)?;
    let state = dir.load()?;
    match state.status(&dir) {
        Status::Running | Status::Created => {}
        // runc refuses a second pause the same way.
        _ => bail!("container not running"),
    }
    state.require_cgroup("pause")?;
    cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, true)
}

pub fn resume(cli: &Cli, id: &str) -> Result<()> {
    let dir = StateDir::open(&cli.root, id)?;
    let state = dir.load()?;
    if state.status(&dir) != Status::Paused {
        bail!("container not paused");
    }
    state.require_cgroup("resume")?;
    cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, false)
}
