//! `rdock pause|unpause CONTAINER...`
use super::Context;
use crate::cli::ContainersArgs;
use crate::container::{pause, record};
use crate::events;

pub fn pause(ctx: &Context, a: ContainersArgs) -> anyhow::Result<i32> {
    Ok(super::each(&a.containers, |n| {
        let r = record::find(&ctx.root, n)?;
        pause::pause(&ctx.root, &r)?;
        events::container(&ctx.root, &r, "pause", &[]);
        Ok(())
    }))
}

pub fn unpause(ctx: &Context, a: ContainersArgs) -> anyhow::Result<i32> {
    Ok(super::each(&a.containers, |n| {
        let r = record::find(&ctx.root, n)?;
        pause::unpause(&ctx.root, &r)?;
        events::container(&ctx.root, &r, "unpause", &[]);
        Ok(())
    }))
}
