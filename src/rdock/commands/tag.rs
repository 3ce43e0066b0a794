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
    ctx.store()?.tag(&a.source, &full)?;
    Ok(0)
}
