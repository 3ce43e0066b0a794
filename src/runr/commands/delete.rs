use anyhow::Result;

use crate::cli::{Cli, Delete};

pub fn run(cli: &Cli, d: &Delete) -> Result<()> {
    runtime::lifecycle::delete(&cli.root, &d.id, d.force)
}
