//! Containers coming back after a reboot. rdock has no daemon to restart
//! them, so `rdock start --all-restartable` does at boot (a systemd unit or
//! an `@reboot` cron line, see the README) what docker's daemon does when it
//! starts: every container whose restart policy asks for it is started
//! again, `always` ones even when they had been stopped by hand,
//! `unless-stopped` ones unless they had, and `on-failure` ones whose run
//! the reboot cut short; RestartCount starts again from 0.
//!
//! A reboot leaves such a container's record saying Running (or
//! Restarting) with a monitor that no longer exists, and none of what lived
//! in memory or on tmpfs: the runtime's state, the rootfs overlay mount, the
//! mount pinning its network namespace. What is left over is cleared before
//! the start, so the same command also recovers containers whose monitor
//! was killed without a reboot.
use super::record::{self, Record, State};
use super::{rootfs, runtime};
use crate::network;
use anyhow::{Context, Result};
use std::path::Path;

/// The containers `start --all-restartable` starts, oldest first.
pub fn restartable(root: &Path) -> Result<Vec<Record>> {
    let mut out: Vec<Record> = record::list(root)?
        .into_iter()
        .filter(|r| {
            let live = r.live_state();
            // Up already (its monitor lives), never started, or unreadable.
            if matches!(
                live,
                State::Running | State::Restarting | State::Created | State::Dead
            ) {
                return false;
            }
            let cut_short = matches!(r.state, State::Running | State::Restarting);
            r.restart_policy.restarts_at_boot(r.manual_stop, cut_short)
        })
        .collect();
    out.reverse();
    Ok(out)
}

/// Clears what an interrupted run left, then starts the container under a
/// new monitor.
pub fn start_again(root: &Path, r: &Record) -> Result<()> {
    clear_interrupted_run(root, r)?;
    super::prepare_start(root, &r.id)?;
    super::start_detached(root, &r.id, false)
}

/// What a run cut short by a reboot (or a killed monitor) may have left:
/// the runtime's state and processes, the rootfs mount, the network set up
/// in a namespace that is gone, the namespace's pin.
fn clear_interrupted_run(root: &Path, r: &Record) -> Result<()> {
    if !matches!(r.state, State::Running | State::Restarting) {
        return Ok(());
    }
    if r.runtime_root.join(&r.id).exists() {
        let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", &r.id]);
    }
    rootfs::unmount(&record::dir_of(root, &r.id))?;
    if let Err(e) = network::down(root, &r.id) {
        log::info!("tearing down the old network of {}: {e:#}", r.id);
    }
    repin_netns(&network::netns::path_of(root, &r.id))?;
    Record::update(root, &r.id, |r| {
        r.state = State::Exited;
        r.finished.get_or_insert_with(record::now);
        r.pid = None;
    })?;
    Ok(())
}

/// A bridge container's namespace pin is a file that a bind mount of the
/// namespace covers; after a reboot only the file is left: a new
/// namespace is pinned there.
fn repin_netns(pin: &Path) -> Result<()> {
    /// statfs(2)'s f_type of a namespace file.
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    if !pin.exists() {
        return Ok(());
    }
    let fs = nix::sys::statfs::statfs(pin).with_context(|| format!("statfs {}", pin.display()))?;
    if fs.filesystem_type().0 as i64 == NSFS_MAGIC {
        return Ok(());
    }
    network::netns::create(pin)
}
