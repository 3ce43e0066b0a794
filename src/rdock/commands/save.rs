//! `rdock save`
use super::Context;
use crate::rdock::cli::SaveArgs;
use anyhow::{bail, Result};

pub fn run(_ctx: &Context, _a: SaveArgs) -> Result<i32> {
    bail!("save is not implemented yet")
}
