//! `rdock save [-o FILE] IMAGE...`
use super::Context;
use crate::cli::SaveArgs;
use anyhow::{bail, Context as _, Result};
use image::archive;
use std::io::IsTerminal;

pub fn run(ctx: &Context, a: SaveArgs) -> Result<i32> {
    if a.format != "docker" && a.format != "oci" {
        bail!("unknown archive format {:?}: use docker or oci", a.format);
    }
    let store = ctx.store()?;
    match &a.output {
        Some(path) => {
            // Written beside the target and renamed, so a failed save leaves no half file.
            let tmp = path.with_extension("rdock-partial");
            let f = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let res = archive::save(&store, &a.images, std::io::BufWriter::new(f));
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            archive::save(
                &store,
                &a.images,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )?;
        }
    }
    let mut ids: Vec<String> = a
        .images
        .iter()
        .filter_map(|n| store.find(n).ok().map(|r| r.id))
        .collect();
    ids.dedup();
    for id in ids {
        crate::events::image(&ctx.root, "save", &id, &id);
    }
    Ok(0)
}
