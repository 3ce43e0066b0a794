//! `runr pause` / `runr resume`: the cgroup freezer, with runc's refusals.

use anyhow::Result;

use crate::cli::Cli;

pub fn pause(cli: &Cli, id: &str) -> Result<()> {
    runtime::lifecycle::pause(&cli.root, id)
}

pub fn resume(cli: &Cli, id: &str) -> Result<()> {
    runtime::lifecycle::resume(&cli.root, id)
}
