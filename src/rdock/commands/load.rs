//! `rdock load [-i FILE] [-q]`
use super::Context;
use crate::cli::LoadArgs;
use anyhow::{Context as _, Result};
use image::archive;

pub fn run(ctx: &Context, a: LoadArgs) -> Result<i32> {
    let store = ctx.store()?;
    let lines = match &a.input {
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            archive::load(&store, std::io::BufReader::new(f))?
        }
        None => archive::load(&store, std::io::stdin().lock())?,
    };
    for l in &lines {
        let name = l
            .strip_prefix("Loaded image ID: ")
            .or_else(|| l.strip_prefix("Loaded image: "));
        if let Some(id) = name.and_then(|n| store.find(n).ok()).map(|r| r.id) {
            crate::events::image(&ctx.root, "load", &id, &id);
        }
    }
    if !a.quiet {
        lines.iter().for_each(|l| println!("{l}"));
    }
    Ok(0)
}
