//! `linux.intelRdt`: the container's tasks in a resctrl group (CLOS) with
//! its schemata. Where resctrl is not mounted, refused as runc refuses a
//! schema it cannot apply; runr also refuses a bare closID there (runc
//! 1.1.5 silently ignores it), since the container would not get its class.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxIntelRdt, Spec};

const RESCTRL: &str = "/sys/fs/resctrl";

pub fn mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines().any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("resctrl "))
        })
    })
}

fn rdt(spec: &Spec) -> Option<&LinuxIntelRdt> {
    spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref())
}

/// The group's directory: closID, else the container id (then runr owns it).
fn group(r: &LinuxIntelRdt, id: &str) -> (PathBuf, bool) {
    match r.clos_id().as_deref() {
        Some(c) => (Path::new(RESCTRL).join(c), false),
        None => (Path::new(RESCTRL).join(id), true),
    }
}

/// Checked before anything exists.
pub fn validate(spec: &Spec) -> Result<()> {
    let Some(r) = rdt(spec) else {
        return Ok(());
    };
    if let Some(c) = r.clos_id().as_deref() {
        if c.is_empty() || c == "." || c == ".." || c.contains('/') {
            bail!("invalid intelRdt.closID {c:?}");
        }
    }
    if !mounted() {
        if r.l3_cache_schema().is_some() {
            bail!("intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled (resctrl is not mounted)");
        }
        if r.mem_bw_schema().is_some() {
            bail!("intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled (resctrl is not mounted)");
        }
        bail!("intelRdt is specified in config, but Intel RDT is not supported or enabled (resctrl is not mounted)");
    }
    Ok(())
}

/// Makes (or joins) the group, writes the schemata when given, adds `pid`.
/// Returns the group when runr made it, for undoing a failed create.
pub fn apply(spec: &Spec, id: &str, pid: i32) -> Result<Option<PathBuf>> {
    let Some(r) = rdt(spec) else {
        return Ok(None);
    };
    let (dir, _) = group(r, id);
    let made = !dir.is_dir();
    if made {
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut lines: Vec<String> = r.schemata().clone().unwrap_or_default();
    if lines.is_empty() {
        lines.extend(r.l3_cache_schema().clone());
        lines.extend(r.mem_bw_schema().clone());
    }
    let schemata = dir.join("schemata");
    for l in &lines {
        std::fs::write(&schemata, format!("{l}\n"))
            .with_context(|| format!("writing {l:?} to {}", schemata.display()))?;
    }
    let tasks = dir.join("tasks");
    std::fs::write(&tasks, pid.to_string())
        .with_context(|| format!("adding the init to {}", tasks.display()))?;
    Ok(made.then_some(dir))
}

/// The resctrl group named after the container, which `delete` removes
/// (none with a shared closID).
pub fn own_group(spec: &Spec, id: &str) -> Option<PathBuf> {
    match group(rdt(spec)?, id) {
        (dir, true) => Some(dir),
        _ => None,
    }
}

/// Removes the group runr made for this container (never a shared closID).
pub fn remove(spec: &Spec, id: &str) -> Result<()> {
    let Some(r) = rdt(spec) else {
        return Ok(());
    };
    match group(r, id) {
        (dir, true) if dir.is_dir() => {
            std::fs::remove_dir(&dir).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
