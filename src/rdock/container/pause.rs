//! Paused containers (`pause`/`unpause` through the runtime's pause/resume).
//! A `paused` file in the container's directory holds the StartedAt of the
//! run it froze, so a marker left by a run that ended (killed while frozen,
//! host reboot) does not make the next run look paused.
use super::record::{self, Record, State};
use super::runtime;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

fn marker(root: &Path, id: &str) -> PathBuf {
    record::dir_of(root, id).join("paused")
}

/// Whether this run of the container is frozen.
pub fn is_paused(root: &Path, r: &Record) -> bool {
    r.live_state() == State::Running
        && std::fs::read_to_string(marker(root, &r.id))
            .is_ok_and(|s| Some(s.as_str()) == r.started.as_deref())
}

pub fn pause(root: &Path, r: &Record) -> Result<()> {
    let _l = record::lock(&record::dir_of(root, &r.id).join("lock"))?;
    if r.live_state() != State::Running {
        bail!("Container {} is not running", r.id);
    }
    if is_paused(root, r) {
        bail!("Container {} is already paused", r.id);
    }
    runtime::quiet(&r.runtime, &r.runtime_root, &["pause", &r.id])
        .with_context(|| format!("Cannot pause container {}", r.id))?;
    let m = marker(root, &r.id);
    std::fs::write(&m, r.started.as_deref().unwrap_or_default())
        .with_context(|| format!("writing {}", m.display()))
}

pub fn unpause(root: &Path, r: &Record) -> Result<()> {
    let _l = record::lock(&record::dir_of(root, &r.id).join("lock"))?;
    if !is_paused(root, r) {
        bail!("Container {} is not paused", r.id);
    }
    runtime::quiet(&r.runtime, &r.runtime_root, &["resume", &r.id])
        .with_context(|| format!("Cannot unpause container {}", r.id))?;
    let _ = std::fs::remove_file(marker(root, &r.id));
    Ok(())
}

/// Thaws a frozen container so that a signal sent to it (stop, kill, rm -f)
/// takes effect, as docker does.
pub fn thaw(root: &Path, r: &Record) {
    if is_paused(root, r) {
        if let Err(e) = runtime::quiet(&r.runtime, &r.runtime_root, &["resume", &r.id]) {
            // runc thaws a container it SIGKILLs itself: it may be gone already.
            log::debug!("resuming {}: {e:#}", r.id);
        }
        let _ = std::fs::remove_file(marker(root, &r.id));
    }
}
