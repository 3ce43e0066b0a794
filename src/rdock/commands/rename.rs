//! `rdock rename CONTAINER NEW_NAME`, with docker's checks and messages.
use super::Context;
use crate::cli::RenameArgs;
use crate::container::{names, record};
use anyhow::{bail, Result};

pub fn run(ctx: &Context, a: RenameArgs) -> Result<i32> {
    if a.container.is_empty() || a.new_name.is_empty() {
        eprintln!("Error: Neither old nor new names may be empty");
        return Ok(1);
    }
    if let Err(e) = rename(ctx, &a.container, &a.new_name) {
        eprintln!("Error response from daemon: {e:#}");
        eprintln!("Error: failed to rename container named {}", a.container);
        return Ok(1);
    }
    Ok(0)
}

fn rename(ctx: &Context, old: &str, new: &str) -> Result<()> {
    names::check_container_name(new)?;
    let new = new.trim_start_matches('/');
    // The lock `create` takes to choose names, so two never get the same one.
    let _l = record::lock(&ctx.root.join("containers.lock"))?;
    let r = record::find(&ctx.root, old)?;
    if r.name == new {
        bail!("Renaming a container with the same name as its current name");
    }
    if let Some(other) = record::list(&ctx.root)?.iter().find(|o| o.name == new) {
        bail!(
            "Error when allocating new name: Conflict. The container name \"/{new}\" is already \
             in use by container \"{}\". You have to remove (or rename) that container to be \
             able to reuse that name.",
            other.id
        );
    }
    // The DNS name on a user network (the record's name, given to
    // netavark) follows from the next start on.
    let renamed = record::Record::update(&ctx.root, &r.id, |r| r.name = new.to_string())?;
    crate::events::container(
        &ctx.root,
        &renamed,
        "rename",
        &[("oldName", format!("/{}", r.name))],
    );
    Ok(())
}
