//! `rdock pause|unpause CONTAINER...`
use super::Context;
use crate::cli::ContainersArgs;
use crate::container::{pause, record};

pub fn pause(ctx: &Context, a: ContainersArgs) -> anyhow::Result<i32> {
    Ok(super::each(&a.containers, |n| {
        pause::pause(&ctx.root, &record::find(&ctx.root, n)?)
    }))
}

pub fn unpause(ctx: &Context, a: ContainersArgs) -> anyhow::Result<i32> {
    Ok(super::each(&a.containers, |n| {
        pause::unpause(&ctx.root, &record::find(&ctx.root, n)?)
    }))
}
