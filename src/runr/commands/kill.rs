use anyhow::Result;

use crate::cli::{Cli, Kill};
use runtime::signals;

pub fn run(cli: &Cli, k: &Kill) -> Result<()> {
    let sig = signals::parse(&k.signal)?;
    runtime::lifecycle::kill(&cli.root, &k.id, sig, k.all)
}
