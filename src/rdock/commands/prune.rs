//! `rdock image prune [-a]`
use super::Context;
use crate::rdock::cli::PruneArgs;
use anyhow::Result;

pub fn run(ctx: &Context, a: PruneArgs) -> Result<i32> {
    let lines = ctx.store()?.prune(a.all)?;
    if !lines.is_empty() {
        println!("Deleted Images:");
        lines.iter().for_each(|l| println!("{l}"));
    }
    Ok(0)
}
