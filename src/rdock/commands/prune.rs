//! `rdock image prune [-a]`, `container prune`, `system prune`.
use super::Context;
use crate::cli::{ForceArgs, PruneArgs, SystemPruneArgs};
use crate::container::{self, record};
use anyhow::Result;
use std::io::BufRead;

pub fn run(ctx: &Context, a: PruneArgs) -> Result<i32> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    // Declined: docker 20.10 still prints the (empty) total.
    if a.force || confirm(warning)? {
        let lines = ctx.store()?.prune(a.all)?;
        crate::events::images_pruned(&ctx.root, &lines);
        print_section("Deleted Images", &lines);
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
}

/// docker's prompt, on stdout as docker's: true when the user answers y.
pub fn confirm(warning: &str) -> Result<bool> {
    use std::io::Write;
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Removes every container that is not running; returns their ids.
fn prune_containers(ctx: &Context) -> Result<Vec<String>> {
    container::empty_trash(&ctx.root);
    let mut gone = Vec::new();
    for r in record::list(&ctx.root)? {
        if !r.is_up() {
            match container::remove(&ctx.root, &r, false) {
                Ok(()) => gone.push(r.id.clone()),
                Err(e) => eprintln!("Error response from daemon: {e:#}"),
            }
        }
    }
    Ok(gone)
}

pub fn containers(ctx: &Context, a: ForceArgs) -> Result<i32> {
    if a.force || confirm("WARNING! This will remove all stopped containers.")? {
        print_section("Deleted Containers", &prune_containers(ctx)?);
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
}

pub fn system(ctx: &Context, a: SystemPruneArgs) -> Result<i32> {
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if a.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if a.all {
        "  - all images without at least one container associated to them\n  - all build cache\n"
    } else {
        "  - all dangling images\n  - unused build cache\n"
    });
    if !a.force && !confirm(warning.trim_end())? {
        return Ok(0);
    }
    let gone = prune_containers(ctx)?;
    print_section("Deleted Containers", &gone);
    if a.volumes {
        let vols = super::volume::prune(&ctx.root, false)?;
        print_section("Deleted Volumes", &vols);
    }
    print_section("Deleted Networks", &super::network::prune(&ctx.root)?);
    let lines = ctx.store()?.prune(a.all)?;
    crate::events::images_pruned(&ctx.root, &lines);
    print_section("Deleted Images", &lines);
    println!("Total reclaimed space: 0B");
    Ok(0)
}

/// docker's "Deleted X:" block, printed only when something went.
pub(super) fn print_section(title: &str, items: &[String]) {
    if !items.is_empty() {
        println!("{title}:");
        items.iter().for_each(|l| println!("{l}"));
        println!();
    }
}
