//! The record of a `create` that has not committed yet: `creating.json` in
//! the state dir names what the create makes on the host (the init's pid and
//! start time, the cgroup and its manager, the resctrl group), written before
//! the first cgroup directory exists. A runr killed before it renames state.json into place
//! leaves this record, and `delete` or a later `create` of the same id
//! removes exactly what it names.
//!
//! The record is one small write with no fsync: a crash of runr (not of the
//! machine) is what it guards against, and a reboot takes the init and the
//! cgroups with it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::cgroups;
use super::state::StateDir;
use sysutil::proc::ProcStat;

pub const PENDING_FILE: &str = "creating.json";

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    /// Host pid of the init and its start time (a reused pid is never killed).
    pub pid: i32,
    pub pid_start: u64,
    /// The cgroup as given to the manager, and which manager.
    pub cgroup_path: PathBuf,
    pub systemd_cgroup: bool,
    /// The resctrl group named after the container, when Intel RDT is asked for.
    #[serde(default)]
    pub rdt_group: Option<PathBuf>,
}

impl Pending {
    /// Writes the record into `dir` (one write of a few hundred bytes).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(PENDING_FILE);
        let data = serde_json::to_vec(self).context("serializing the create record")?;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .and_then(|mut f| f.write_all(&data))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The record in `dir`, if one was written completely.
    pub fn read(dir: &Path) -> Option<Pending> {
        let data = std::fs::read(dir.join(PENDING_FILE)).ok()?;
        serde_json::from_slice(&data).ok()
    }
}

/// Removes what an uncommitted create left (its dir is locked by us and has
/// no state.json): kills the init the record names, removes its cgroup, then
/// the state dir. A dir without a record holds nothing on the host: the
/// init, if cloned, exits when it finds runr's end of the channel closed.
pub fn clean(dir: StateDir) -> Result<()> {
    if let Some(p) = Pending::read(&dir.path) {
        log::debug!("cleaning up the unfinished create of {}: {p:?}", p.id);
        kill_init(p.pid, p.pid_start)?;
        cgroups::remove(&p.cgroup_path, p.systemd_cgroup, &p.id)?;
        if let Some(g) = p.rdt_group.filter(|g| g.is_dir()) {
            std::fs::remove_dir(&g).with_context(|| format!("removing {}", g.display()))?;
        }
    }
    dir.remove()
}

/// SIGKILLs the init if it is still the process the record names, and
/// waits until it is gone (it is not our child: its new parent reaps it).
fn kill_init(pid: i32, start: u64) -> Result<()> {
    let alive = || ProcStat::read(pid).is_some_and(|s| s.start_time == start && !s.is_dead());
    if pid <= 0 || !alive() {
        return Ok(());
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_micros(200);
    while alive() {
        if Instant::now() > deadline {
            anyhow::bail!("container init {pid} did not die after SIGKILL");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_a_torn_one_reads_as_none() {
        let dir = std::env::temp_dir().join(format!("runr-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = Pending {
            id: "x".into(),
            pid: 42,
            pid_start: 7,
            cgroup_path: "/runr/x".into(),
            systemd_cgroup: false,
            rdt_group: None,
        };
        p.write(&dir).unwrap();
        assert_eq!(Pending::read(&dir), Some(p));
        std::fs::write(dir.join(PENDING_FILE), b"{\"id\":").unwrap();
        assert_eq!(Pending::read(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
