//! `rdock create [OPTIONS] IMAGE [COMMAND] [ARG...]`: run's options, no start.
use super::Context;
use crate::rdock::cli::RunArgs;
use anyhow::Result;

pub fn run(ctx: &Context, a: RunArgs) -> Result<i32> {
    let r = super::run::create_container(ctx, &a, false)?;
    println!("{}", r.id);
    Ok(0)
}
