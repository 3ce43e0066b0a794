//! `rdock push [-a] NAME[:TAG]`: docker's lines ("The push refers to
//! repository [...]", one per layer, "TAG: digest: ... size: N") and its
//! messages for a missing image or tag.
use super::Context;
use crate::cli::PushArgs;
use crate::progress::Terminal;
use anyhow::Result;
use image::push::{push, tags_to_push};
use image::reference;
use std::sync::Arc;

pub fn run(ctx: &Context, a: PushArgs) -> Result<i32> {
    let r = match reference::parse(&a.name) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    let last = a.name.rsplit('/').next().unwrap_or(&a.name);
    let explicit_tag = last.contains(':') || last.contains('@');
    if a.all_tags && explicit_tag {
        eprintln!("tag can't be used with --all-tags/-a");
        return Ok(1);
    }
    if r.digest().is_some() {
        eprintln!("cannot push a digest reference");
        return Ok(1);
    }
    if !a.all_tags && !explicit_tag {
        println!("Using default tag: latest");
    }
    let repo = reference::full_repository(&r);
    println!("The push refers to repository [{repo}]");
    let store = Arc::new(ctx.store()?);
    let want = (!a.all_tags).then(|| r.tag().unwrap_or("latest"));
    let tags = match tags_to_push(&store, &repo, want) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(1);
        }
    };
    let opts = ctx.registry_options()?;
    let rt = ctx.runtime()?;
    let progress = Terminal::new(false);
    for tag in tags {
        match rt.block_on(push(store.clone(), &repo, &tag, &opts, &progress)) {
            Ok(p) => println!("{}: digest: {} size: {}", p.tag, p.digest, p.size),
            Err(e) => {
                eprintln!("{e:#}");
                return Ok(1);
            }
        }
    }
    Ok(0)
}
