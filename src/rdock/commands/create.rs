//! `rdock create [OPTIONS] IMAGE [COMMAND] [ARG...]`: run's options, no start.
use super::Context;
use crate::cli::RunArgs;
use anyhow::Result;

/// docker's create: a bad flag exits 125, a failure of the daemon's part 1.
pub fn run(ctx: &Context, a: RunArgs) -> Result<i32> {
    match super::run::create_container(ctx, &a, false) {
        Ok(r) => {
            println!("{}", r.id);
            Ok(0)
        }
        Err(e) if e.downcast_ref::<super::run::UsageError>().is_some() => {
            Ok(super::run::report_125(&e, "create"))
        }
        Err(e) => Err(e),
    }
}
