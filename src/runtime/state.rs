//! The container's record under `--root/<id>/`: `state.json` (written atomically),
//! `exec.fifo` (the start barrier) and a per-container lock.
//! Everything that `start`, `kill`, `delete` and `exec` need is kept here so
//! they never re-read the bundle.

use std::collections::HashMap;
use std::fs::{self, File};

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use sysutil::lock;
use sysutil::proc::ProcStat;

const STATE_FILE: &str = "state.json";
pub const FIFO_NAME: &str = "exec.fifo";

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ContainerState {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// Host pid of the container's init.
    pub pid: i32,
    /// The init's start time (clock ticks since boot), so a reused pid is never
    /// taken for the container.
    pub pid_start: u64,
    pub created: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The cgroup path the container was placed in, as given to the cgroup manager.
    pub cgroup_path: PathBuf,
    pub systemd_cgroup: bool,
    /// Whether runr created the cgroup (and so must remove it).
    pub cgroup_owned: bool,
    /// Whether the init has its own pid namespace (when not, `kill`/`delete`
    /// must signal every process of the cgroup).
    pub own_pid_ns: bool,
    pub config: Spec,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A locked `--root/<id>` directory. The lock is held until drop.
pub struct StateDir {
    pub path: PathBuf,
    pub id: String,
    _lock: File,
}

impl StateDir {
    /// Reserves the id: fails if a container with this id exists. What a
    /// create of this id killed before it committed left is removed first
    /// (see pending.rs).
    pub fn create(root: &Path, id: &str) -> Result<StateDir> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .with_context(|| format!("creating state root {}", root.display()))?;
        match Self::reserve(root, id)? {
            Some(dir) => Ok(dir),
            None => match Self::open_uncommitted(root, id, false)? {
                Some(stale) => {
                    super::pending::clean(stale)?;
                    Self::reserve(root, id)?
                        .with_context(|| format!("container with id exists: {id}"))
                }
                None => bail!("container with id exists: {id}"),
            },
        }
    }

    /// mkdir and lock; None when the dir exists (or was replaced before we
    /// held the lock: another create or a cleanup got there first).
    fn reserve(root: &Path, id: &str) -> Result<Option<StateDir>> {
        let path = root.join(id);
        match fs::DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("creating state dir {}", path.display()))
            }
        }
        let lock = lock_dir(&path, true)?.context("locking a new state dir")?;
        if !same_dir(&lock, &path) {
            return Ok(None);
        }
        Ok(Some(StateDir {
            path,
            id: id.to_string(),
            _lock: lock,
        }))
    }

    /// Locks the dir of a create that never committed (no state.json): None
    /// if there is no such dir, it is committed, or (unless `wait`) a live
    /// runr holds it.
    pub fn open_uncommitted(root: &Path, id: &str, wait: bool) -> Result<Option<StateDir>> {
        let path = root.join(id);
        let lock = match lock_dir(&path, wait) {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(None),
            Err(_) if !path.is_dir() => return Ok(None),
            Err(e) => return Err(e),
        };
        if !same_dir(&lock, &path) || path.join(STATE_FILE).exists() {
            return Ok(None);
        }
        Ok(Some(StateDir {
            path,
            id: id.to_string(),
            _lock: lock,
        }))
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<StateDir> {
        let path = root.join(id);
        let lock = match lock_dir(&path, true) {
            Ok(Some(l)) => l,
            Ok(None) => bail!("container does not exist"),
            // runc's exact words: clients (CRI-O, containerd's shim) match them.
            Err(_) if !path.exists() => bail!("container does not exist"),
            Err(e) => return Err(e),
        };
        // A concurrent delete may have removed it while we waited for the lock.
        if !path.join(STATE_FILE).exists() {
            bail!("container does not exist");
        }
        Ok(StateDir {
            path,
            id: id.to_string(),
            _lock: lock,
        })
    }

    pub fn load(&self) -> Result<ContainerState> {
        let file = self.path.join(STATE_FILE);
        let data = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        serde_json::from_slice(&data).with_context(|| format!("parsing {}", file.display()))
    }

    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let data = serde_json::to_vec(state).context("serializing state")?;
        write_atomic(&self.path.join(STATE_FILE), &data)
    }

    /// The lock's fd number: the init must close its inherited copy, or the
    /// lock would live on in the container's init.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self._lock)
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(FIFO_NAME)
    }

    /// Removes the dir with state.json last, so that a runr killed half-way
    /// leaves a dir that `delete` still treats as this container.
    pub fn remove(self) -> Result<()> {
        let what = || format!("removing state dir {}", self.path.display());
        for e in fs::read_dir(&self.path).with_context(what)? {
            let e = e.with_context(what)?;
            if e.file_name() == STATE_FILE {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(e.path()).with_context(what)?;
            } else {
                fs::remove_file(e.path()).with_context(what)?;
            }
        }
        match fs::remove_file(self.path.join(STATE_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).with_context(what),
            _ => {}
        }
        fs::remove_dir(&self.path).with_context(what)
    }
}

/// The dir at `path` is still the one `lock` holds (not removed and made
/// again by someone else while we waited for the lock).
fn same_dir(lock: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (lock.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Opens and flocks the dir; None when `wait` is false and it is locked.
fn lock_dir(path: &Path, wait: bool) -> Result<Option<File>> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("opening state dir {}", path.display()))?;
    let held = lock::flock(f, lock::Kind::Exclusive, wait)
        .with_context(|| format!("locking state dir {}", path.display()))?;
    Ok(held.map(lock::Lock::into_file))
}

/// Writes a state or pid file: readers see all of it or none (0644, as runc).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    sysutil::fs::write_atomic(path, data, sysutil::fs::Atomic::mode(0o644))
}

impl ContainerState {
    /// Commands that need the container's cgroup, which a rootless container may lack.
    pub fn require_cgroup(&self, what: &str) -> Result<()> {
        if !self.cgroup_owned {
            bail!(
                "{what}: container {} has no cgroup (rootless, and cgroup {} was not writable)",
                self.id,
                self.cgroup_path.display()
            );
        }
        Ok(())
    }

    /// The init is alive and is the process we started (not a reused pid).
    pub fn init_alive(&self) -> bool {
        if self.pid <= 0 {
            return false;
        }
        match ProcStat::read(self.pid) {
            Some(st) => st.start_time == self.pid_start && !st.is_dead(),
            None => false,
        }
    }

    pub fn status(&self, dir: &StateDir) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if dir.fifo_path().exists() {
            return Status::Created;
        }
        if super::cgroups::is_frozen(&self.cgroup_path, self.systemd_cgroup, &self.id) {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI state, as hooks and seccomp agents receive it.
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        serde_json::to_value(self.state_view(status)).unwrap_or_default()
    }

    /// The state as `runr state` and `runr list --format json` print it, with
    /// runc's key order.
    pub fn state_view(&self, status: Status) -> StateView<'_> {
        let pid = if status == Status::Stopped {
            0
        } else {
            self.pid
        };
        StateView {
            oci_version: super::spec::OCI_VERSION,
            id: &self.id,
            pid,
            status: status.as_str(),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner: self.owner.clone(),
        }
    }
}

/// The printed state: fields in runc's order (a struct, as a JSON map would
/// sort its keys).
#[derive(Serialize, Debug)]
pub struct StateView<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'a str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
    pub owner: String,
}
