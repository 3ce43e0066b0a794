use anyhow::Result;

use crate::cli::Cli;

pub fn run(cli: &Cli, id: &str) -> Result<()> {
    runtime::lifecycle::start(&cli.root, id)
}
