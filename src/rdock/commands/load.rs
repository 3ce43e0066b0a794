//! `rdock load`
use super::Context;
use crate::rdock::cli::LoadArgs;
use anyhow::{bail, Result};

pub fn run(_ctx: &Context, _a: LoadArgs) -> Result<i32> {
    bail!("load is not implemented yet")
}
