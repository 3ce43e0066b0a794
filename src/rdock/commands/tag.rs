//! `rdock tag SOURCE TARGET`
use super::Context;
use crate::cli::TagArgs;
use anyhow::{bail, Result};
use image::reference;

pub fn run(ctx: &Context, a: TagArgs) -> Result<i32> {
    let target = reference::parse(&a.target).map_err(anyhow::Error::msg)?;
    if target.digest().is_some() {
        bail!(
            "refusing to create a tag with a digest reference: {}",
            a.target
        );
    }
    let full = reference::full_tagged(&target).expect("a reference without digest has a tag");
    let store = ctx.store()?;
    store.tag(&a.source, &full)?;
    if let Ok(img) = store.find(&full) {
        let familiar = reference::familiar_repository(reference::split_tagged(&full).0);
        let tag = reference::split_tagged(&full).1;
        crate::events::image(&ctx.root, "tag", &img.id, &format!("{familiar}:{tag}"));
    }
    Ok(0)
}
