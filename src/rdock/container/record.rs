//! rdock's record of a container: `<root>/containers/<id>/config.json`,
//! rewritten atomically under the container's lock.
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use sysutil::fs::{write_atomic, Atomic};
use sysutil::proc::ProcStat;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    Running,
    /// Exited, waiting for its monitor to restart it (docker's restart
    /// policies; `ps`: `Restarting (CODE) ...`).
    Restarting,
    Exited,
    /// A container whose record cannot be read (docker's `Dead`): listed
    /// so that `rm` can remove it; never written.
    Dead,
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
    /// The monitor's start time (clock ticks since boot, /proc/PID/stat), so
    /// that a recycled pid does not pass for it.
    #[serde(default)]
    pub monitor_start: Option<u64>,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    pub auto_remove: bool,
    /// Anonymous volumes made for this container (`-v /path`), removed by
    /// `rm -v` and `--rm`.
    #[serde(default)]
    pub anon_volumes: Vec<String>,
    pub tty: bool,
    pub interactive: bool,
    /// `--stop-signal` or the image's StopSignal; `stop` sends it (TERM if none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--restart` (or `update --restart`), read by the monitor at each exit.
    #[serde(default)]
    pub restart_policy: super::restart::RestartPolicy,
    /// Restarts by the policy since the last `start` (docker's RestartCount).
    #[serde(default)]
    pub restart_count: u32,
    /// Stopped by `stop`, `kill` or `rm -f` (docker's HasBeenManuallyStopped):
    /// no restart follows; cleared by `start`.
    #[serde(default)]
    pub manual_stop: bool,
    /// `--log-driver`, `--log-opt`.
    #[serde(default)]
    pub log_config: super::logdriver::LogConfig,
}

pub use sysutil::lock::Lock;

/// Waits for the exclusive lock at `path`.
pub fn lock(path: &Path) -> Result<Lock> {
    sysutil::lock::exclusive(path)
}

/// Writes a file only root may read (0600): records and bundles hold the
/// container's environment, `-e` secrets included.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(data)
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

    /// Atomic for readers (temp file + rename) but not synced: each fsync
    /// costs milliseconds on every `run`, and a record lost to a power cut
    /// only leaves a directory that `list` skips.
    pub fn save(&self, root: &Path) -> Result<()> {
        let dir = dir_of(root, &self.id);
        let data = serde_json::to_vec_pretty(self)?;
        write_atomic(&dir.join("config.json"), &data, Atomic::mode(0o600))
    }

    /// Reads, changes and writes the record under its lock.
    pub fn update(root: &Path, id: &str, f: impl FnOnce(&mut Record)) -> Result<Record> {
        let _l = lock(&dir_of(root, id).join("lock"))?;
        let mut r = Record::load(root, id)?;
        f(&mut r);
        r.save(root)?;
        Ok(r)
    }

    /// A stand-in for a container whose record is damaged (or missing for
    /// longer than a `create` takes), with what can be salvaged from the
    /// text: enough for `ps -a` to show it and `rm` to remove it. None
    /// for what is not a container directory or is still being created.
    pub fn dead(root: &Path, id: &str) -> Option<Record> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let dir = dir_of(root, id);
        let meta = std::fs::metadata(&dir).ok()?;
        let raw = std::fs::read(dir.join("config.json"));
        let young = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < CREATE_GRACE);
        if raw.is_err() && young {
            return None;
        }
        let raw = String::from_utf8_lossy(raw.as_deref().unwrap_or_default()).into_owned();
        let text = |key: &str| salvage_string(&raw, key).unwrap_or_default();
        let created = meta
            .modified()
            .map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
            })
            .unwrap_or_default();
        Some(Record {
            id: id.to_string(),
            name: text("name"),
            image: text("image"),
            image_id: std::fs::read_to_string(dir.join("image")).unwrap_or_default(),
            command: Vec::new(),
            created,
            state: State::Dead,
            monitor_pid: None,
            monitor_start: None,
            pid: None,
            exit_code: None,
            started: None,
            finished: None,
            runtime: PathBuf::from(text("runtime")),
            runtime_root: PathBuf::from(text("runtime_root")),
            auto_remove: false,
            anon_volumes: Vec::new(),
            tty: false,
            interactive: false,
            stop_signal: None,
            restart_policy: Default::default(),
            restart_count: 0,
            manual_stop: false,
            log_config: Default::default(),
        })
    }

    /// The state as shown: a running (or restarting) container whose
    /// monitor is gone has exited.
    pub fn live_state(&self) -> State {
        if matches!(self.state, State::Running | State::Restarting) {
            if let Some(p) = self.monitor_pid {
                let alive = match self.monitor_start {
                    Some(t) => start_time(p) == Some(t),
                    None => start_time(p).is_some(),
                };
                if !alive {
                    return State::Exited;
                }
            }
        }
        self.state.clone()
    }

    /// Running or between two runs of its restart policy (docker's
    /// `State.Running`: `ps` lists it without `-a`, `wait` waits for it).
    pub fn is_up(&self) -> bool {
        matches!(self.live_state(), State::Running | State::Restarting)
    }

    /// Whether this process is the container's monitor.
    pub fn monitored_by_me(&self) -> bool {
        let me = std::process::id() as i32;
        self.monitor_pid == Some(me) && self.monitor_start == start_time(me)
    }

    /// Where the monitor keeps the log (json-file and local drivers).
    pub fn log_path(&self, root: &Path) -> PathBuf {
        dir_of(root, &self.id).join(format!("{}-json.log", self.id))
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

/// How long a container directory may lack its record while `create`
/// builds it, before it counts as damaged.
const CREATE_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// The string value of `"key": "..."` in a record's text, even when the
/// rest of it does not parse (cut short, overwritten in part).
fn salvage_string(raw: &str, key: &str) -> Option<String> {
    let at = raw.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = raw[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    de.next()?.ok()
}

/// A live process's start time in clock ticks since boot (field 22 of
/// /proc/PID/stat); None when it is gone or a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    ProcStat::read(pid)
        .filter(|s| !s.is_dead())
        .map(|s| s.start_time)
}

/// Every container, newest first.
pub fn list(root: &Path) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(containers_dir(root)) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        // `.trash-*`: being removed.
        if name.starts_with('.') {
            continue;
        }
        match Record::load(root, &name) {
            Ok(r) => out.push(r),
            Err(e) => {
                if let Some(r) = Record::dead(root, &name) {
                    log::warn!("container {name}: {e:#}; shown as Dead");
                    out.push(r);
                }
            }
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
    "adoring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "boring",
    "brave",
    "charming",
    "clever",
    "compassionate",
    "competent",
    "confident",
    "cool",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "epic",
    "exciting",
    "fervent",
    "festive",
    "flamboyant",
    "focused",
    "friendly",
    "frosty",
    "funny",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "great",
    "happy",
    "hopeful",
    "hungry",
    "infallible",
    "inspiring",
    "intelligent",
    "interesting",
    "jolly",
    "jovial",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "magical",
    "modest",
    "musing",
    "mystifying",
    "naughty",
    "nervous",
    "nice",
    "nifty",
    "nostalgic",
    "objective",
    "optimistic",
    "peaceful",
    "pedantic",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "quizzical",
    "recursing",
    "relaxed",
    "reverent",
    "romantic",
    "sad",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "strange",
    "stupefied",
    "suspicious",
    "sweet",
    "tender",
    "thirsty",
    "trusting",
    "unruffled",
    "upbeat",
    "vibrant",
    "vigilant",
    "vigorous",
    "wizardly",
    "wonderful",
    "xenodochial",
    "youthful",
    "zealous",
    "zen",
];
const NAMES: &[&str] = &[
    "agnesi",
    "albattani",
    "archimedes",
    "babbage",
    "banach",
    "bardeen",
    "bell",
    "bhabha",
    "blackwell",
    "bohr",
    "booth",
    "boyd",
    "brahmagupta",
    "brattain",
    "carson",
    "cerf",
    "chandrasekhar",
    "clarke",
    "cohen",
    "curie",
    "darwin",
    "davinci",
    "dijkstra",
    "einstein",
    "elion",
    "engelbart",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "haibt",
    "hamilton",
    "hawking",
    "heisenberg",
    "hodgkin",
    "hopper",
    "hypatia",
    "jang",
    "jennings",
    "johnson",
    "kalam",
    "kapitsa",
    "keller",
    "kepler",
    "khorana",
    "knuth",
    "kowalevski",
    "lalande",
    "lamport",
    "leakey",
    "liskov",
    "lovelace",
    "lumiere",
    "mayer",
    "mccarthy",
    "mcclintock",
    "meitner",
    "mendel",
    "merkle",
    "minsky",
    "morse",
    "napier",
    "newton",
    "nobel",
    "noether",
    "pascal",
    "pasteur",
    "perlman",
    "pike",
    "poincare",
    "ptolemy",
    "raman",
    "ramanujan",
    "ritchie",
    "rosalind",
    "sammet",
    "shannon",
    "shockley",
    "sinoussi",
    "stonebraker",
    "swanson",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "varahamihira",
    "volhard",
    "wescoff",
    "wiles",
    "williams",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
];

/// docker-style `adjective_surname` from the id's bytes; a digit is added
/// only when that name is taken (`taken` says so).
pub fn random_name(id: &str, taken: impl Fn(&str) -> bool) -> String {
    let b = hex::decode(&id[..8]).unwrap_or_default();
    let a = ADJECTIVES[b.first().copied().unwrap_or(0) as usize % ADJECTIVES.len()];
    let n = NAMES[b.get(1).copied().unwrap_or(0) as usize % NAMES.len()];
    let base = format!("{a}_{n}");
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|k| format!("{base}{k}"))
        .find(|c| !taken(c))
        .expect("an unused name")
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_salvaged_from_a_cut_record() {
        let raw = r#"{ "id": "ab", "name": "web-1", "image": "busybox", "runtime": "/usr/bin/runc", "comm"#;
        assert_eq!(super::salvage_string(raw, "name").as_deref(), Some("web-1"));
        assert_eq!(
            super::salvage_string(raw, "runtime").as_deref(),
            Some("/usr/bin/runc")
        );
        assert_eq!(super::salvage_string(raw, "command"), None);
        assert_eq!(super::salvage_string("\0\0garbage", "name"), None);
    }

    #[test]
    fn generated_names_get_a_digit_only_on_collision() {
        let id = "00".repeat(32);
        let n = super::random_name(&id, |_| false);
        assert!(
            n.contains('_') && !n.chars().any(|c| c.is_ascii_digit()),
            "{n}"
        );
        let n2 = super::random_name(&id, |c| c == n);
        assert_eq!(n2, format!("{n}1"));
    }
}
