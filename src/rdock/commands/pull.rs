//! `rdock pull NAME[:TAG|@DIGEST]`, `rdock pull -a NAME` (every tag)
use super::Context;
use crate::cli::PullArgs;
use crate::progress::Terminal;
use anyhow::Result;
use image::platform::Platform;
use image::pull::{pull, pull_all_tags, PullOptions};
use std::sync::Arc;

pub fn run(ctx: &Context, a: PullArgs) -> Result<i32> {
    let store = Arc::new(ctx.store()?);
    let opts = PullOptions {
        registry: ctx.registry_options()?,
        platform: a.platform.as_deref().map(Platform::parse).transpose()?,
        parallel: a.max_concurrent_downloads,
    };
    if a.all_tags {
        let last = a.image.rsplit('/').next().unwrap_or(&a.image);
        if last.contains(':') || last.contains('@') {
            eprintln!("tag can't be used with --all-tags/-a");
            return Ok(1);
        }
        let repo = ctx.runtime()?.block_on(pull_all_tags(
            store,
            &a.image,
            &opts,
            &Terminal::new(a.quiet),
        ))?;
        println!("{repo}");
        return Ok(0);
    }
    let pulled = ctx
        .runtime()?
        .block_on(pull(store, &a.image, &opts, &Terminal::new(a.quiet)))?;
    crate::events::image_pulled(&ctx.root, &pulled.name);
    println!("{}", pulled.name);
    Ok(0)
}
