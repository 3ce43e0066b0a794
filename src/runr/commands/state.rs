use anyhow::Result;

use crate::cli::Cli;
use runtime::state::StateDir;

pub fn run(cli: &Cli, id: &str) -> Result<()> {
    let dir = StateDir::open(&cli.root, id)?;
    let state = dir.load()?;
    let v = state.state_view(state.status(&dir));
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}
