//! rdock's record of a container: `<root>/containers/<id>/config.json`,
//! rewritten atomically under the container's lock.
use crate::image::store::write_atomic;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    Running,
    Exited,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    pub image_id: String,
    pub command: Vec<String>,
    pub created: String,
    pub state: State,
    /// The process watching the runtime (rdock itself or its monitor).
    pub monitor_pid: Option<i32>,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    pub auto_remove: bool,
    pub tty: bool,
    pub interactive: bool,
    /// `--stop-signal` or the image's StopSignal; `stop` sends it (TERM if none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// An exclusive flock(2), released on drop.
pub struct Lock(#[allow(dead_code)] File);

pub fn lock(path: &Path) -> Result<Lock> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock {}", path.display()))?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("locking {}", path.display()));
    }
    Ok(Lock(f))
}

pub fn containers_dir(root: &Path) -> PathBuf {
    root.join("containers")
}

pub fn dir_of(root: &Path, id: &str) -> PathBuf {
    containers_dir(root).join(id)
}

impl Record {
    pub fn load(root: &Path, id: &str) -> Result<Record> {
        let p = dir_of(root, id).join("config.json");
        let data = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&data).with_context(|| format!("parsing {}", p.display()))
    }

    pub fn save(&self, root: &Path) -> Result<()> {
        let dir = dir_of(root, &self.id);
        write_atomic(
            &dir,
            &dir.join("config.json"),
            &serde_json::to_vec_pretty(self)?,
        )
    }

    /// Reads, changes and writes the record under its lock.
    pub fn update(root: &Path, id: &str, f: impl FnOnce(&mut Record)) -> Result<Record> {
        let _l = lock(&dir_of(root, id).join("lock"))?;
        let mut r = Record::load(root, id)?;
        f(&mut r);
        r.save(root)?;
        Ok(r)
    }

    /// The state as shown: a running container whose monitor is gone has exited.
    pub fn live_state(&self) -> State {
        if self.state == State::Running {
            if let Some(p) = self.monitor_pid {
                if nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_err() {
                    return State::Exited;
                }
            }
        }
        self.state.clone()
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

/// Every container, newest first.
pub fn list(root: &Path) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(containers_dir(root)) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        if let Ok(r) = Record::load(root, &e.file_name().to_string_lossy()) {
            out.push(r);
        }
    }
    out.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(out)
}

/// By full name, full id or unique id prefix.
pub fn find(root: &Path, what: &str) -> Result<Record> {
    let all = list(root)?;
    let what_name = what.trim_start_matches('/');
    if let Some(r) = all.iter().find(|r| r.id == what || r.name == what_name) {
        return Ok(r.clone());
    }
    let m: Vec<&Record> = all.iter().filter(|r| r.id.starts_with(what)).collect();
    match m.len() {
        1 => Ok(m[0].clone()),
        0 => bail!("No such container: {what}"),
        _ => bail!("Multiple IDs found with provided prefix: {what}"),
    }
}

/// A fresh 64-hex container id.
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 32];
    let mut f = File::open("/dev/urandom").context("opening /dev/urandom")?;
    std::io::Read::read_exact(&mut f, &mut b)?;
    Ok(hex::encode(b))
}

const ADJECTIVES: &[&str] = &[
    "admiring",
    "brave",
    "clever",
    "dazzling",
    "eager",
    "focused",
    "gallant",
    "happy",
    "jolly",
    "keen",
    "loving",
    "modest",
    "nifty",
    "optimistic",
    "quirky",
    "relaxed",
    "serene",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "zealous",
];
const NAMES: &[&str] = &[
    "turing", "hopper", "lovelace", "curie", "darwin", "euler", "gauss", "hypatia", "knuth",
    "lamport", "noether", "pascal", "ritchie", "shannon", "thompson", "wozniak",
];

/// docker-style `adjective_name`, from the id's bytes.
pub fn random_name(id: &str) -> String {
    let b = hex::decode(&id[..8]).unwrap_or_default();
    let a = ADJECTIVES[b.first().copied().unwrap_or(0) as usize % ADJECTIVES.len()];
    let n = NAMES[b.get(1).copied().unwrap_or(0) as usize % NAMES.len()];
    let k = u16::from_be_bytes([
        b.get(2).copied().unwrap_or(0),
        b.get(3).copied().unwrap_or(0),
    ]);
    format!("{a}_{n}{}", k % 100)
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
