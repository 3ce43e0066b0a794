//! `rdock pull NAME[:TAG|@DIGEST]`
use super::Context;
use crate::cli::PullArgs;
use crate::progress::Terminal;
use anyhow::Result;
use image::platform::Platform;
use image::pull::{pull, PullOptions};
use std::sync::Arc;

pub fn run(ctx: &Context, a: PullArgs) -> Result<i32> {
    let store = Arc::new(ctx.store()?);
    let opts = PullOptions {
        registry: ctx.registry_options()?,
        platform: a.platform.as_deref().map(Platform::parse).transpose()?,
        parallel: a.max_concurrent_downloads,
    };
    let pulled = ctx
        .runtime()?
        .block_on(pull(store, &a.image, &opts, &Terminal::new(a.quiet)))?;
    crate::events::image_pulled(&ctx.root, &pulled.name);
    println!("{}", pulled.name);
    Ok(0)
}
