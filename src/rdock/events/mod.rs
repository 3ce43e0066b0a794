//! rdock's event log, what `rdock events` reads. There is no daemon to hold
//! events in memory as docker does, so each command (and each container's
//! monitor) appends the events it causes to `<root>/events.log`: one JSON
//! line per event in docker's message shape, written with one `write` under
//! `events.lock`; past [`MAX_LOG`] bytes the log moves to `events.log.1`
//! (one generation kept), so it never grows without bound.
//!
//! Recording never fails the command that caused the event: a log that
//! cannot be written is reported at warn level and the command goes on.
pub mod filter;
pub mod timestamp;

use crate::container::record::{self, Record};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Size past which the log is rotated (docker keeps only 256 events; a line
/// is ~300 bytes, so this keeps several thousand).
pub const MAX_LOG: u64 = 2 << 20;

/// docker's `events.Message`; the fields in docker's JSON order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// Deprecated fields docker still fills for container and image events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(rename = "Type")]
    pub typ: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

impl Message {
    /// An event happening now, with docker's deprecated fields filled in.
    pub fn new(typ: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Message {
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let legacy = typ == "container" || typ == "image";
        Message {
            status: if legacy { action.into() } else { String::new() },
            id: if legacy { id.into() } else { String::new() },
            from: if typ == "container" {
                attributes.get("image").cloned().unwrap_or_default()
            } else {
                String::new()
            },
            typ: typ.into(),
            action: action.into(),
            actor: Actor {
                id: id.into(),
                attributes,
            },
            scope: "local".into(),
            time: nanos.div_euclid(1_000_000_000),
            time_nano: nanos,
        }
    }

    /// docker's default line: `TIME TYPE ACTION ID (k=v, ...)`, the time in
    /// the local zone with 9 fraction digits, attributes sorted by key.
    pub fn line(&self) -> String {
        use chrono::TimeZone;
        let t = chrono::Local.timestamp_nanos(self.time_nano);
        let mut s = format!(
            "{} {} {} {}",
            t.format("%Y-%m-%dT%H:%M:%S%.9f%:z")
                .to_string()
                .replace("+00:00", "Z"),
            self.typ,
            self.action,
            self.actor.id
        );
        if !self.actor.attributes.is_empty() {
            let attrs: Vec<String> = self
                .actor
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!(" ({})", attrs.join(", ")));
        }
        s
    }
}

pub fn log_path(root: &Path) -> PathBuf {
    root.join("events.log")
}

fn rotated_path(root: &Path) -> PathBuf {
    root.join("events.log.1")
}

/// Appends `m` to the log; a failure is logged, never returned.
pub fn record(root: &Path, m: &Message) {
    if let Err(e) = append(root, m) {
        log::warn!("recording the {} {} event: {e:#}", m.typ, m.action);
    }
}

fn append(root: &Path, m: &Message) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut line = serde_json::to_vec(m)?;
    line.push(b'\n');
    let _l = record::lock(&root.join("events.lock"))?;
    let path = log_path(root);
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // One write: a reader never sees half a line from us.
    f.write_all(&line)
        .with_context(|| format!("writing {}", path.display()))?;
    if f.metadata()?.len() > MAX_LOG {
        std::fs::rename(&path, rotated_path(root))
            .with_context(|| format!("rotating {}", path.display()))?;
    }
    Ok(())
}

/// A container event with docker's attributes: the container's labels,
/// `image` (as the user named it), `name`, then `extra`.
pub fn container(root: &Path, r: &Record, action: &str, extra: &[(&str, String)]) {
    let mut attrs = container_labels(&record::dir_of(root, &r.id));
    attrs.insert("image".into(), r.image.clone());
    attrs.insert("name".into(), r.name.clone());
    for (k, v) in extra {
        attrs.insert((*k).into(), v.clone());
    }
    record(root, &Message::new("container", action, &r.id, attrs));
}

/// `die` with the exit code, then `oom` when the OOM killer hit the run
/// (docker sends them in that order too). The monitor calls this once it
/// knows how the container ended.
pub fn container_exit(root: &Path, id: &str, code: i32) {
    let Ok(r) = Record::load(root, id) else {
        return;
    };
    container(root, &r, "die", &[("exitCode", code.to_string())]);
    if record::dir_of(root, id)
        .join(crate::container::OOM_MARKER)
        .exists()
    {
        container(root, &r, "oom", &[]);
    }
}

/// `kill` with the signal's number, as docker records it.
pub fn container_kill(root: &Path, r: &Record, signal: &str) {
    let name = signal.trim_start_matches("SIG").to_ascii_uppercase();
    let num = name.parse::<i32>().ok().or_else(|| {
        format!("SIG{name}")
            .parse::<nix::sys::signal::Signal>()
            .ok()
            .map(|s| s as i32)
    });
    let num = num.map_or_else(|| signal.to_string(), |n| n.to_string());
    container(root, r, "kill", &[("signal", num)]);
}

/// The container's labels (`-l`), from what `inspect` shows of it.
fn container_labels(dir: &Path) -> BTreeMap<String, String> {
    let Ok(data) = std::fs::read(dir.join("inspect.json")) else {
        return BTreeMap::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
    let labels = [&v["Config"]["Labels"], &v["Labels"]]
        .into_iter()
        .find(|l| l.is_object())
        .and_then(|l| l.as_object().cloned())
        .unwrap_or_default();
    labels
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
        .collect()
}

/// An image event: `id` is docker's actor (the image ID `sha256:...`, or
/// the reference for `pull`), `name` its `name` attribute; the image's
/// labels come first, as docker adds them while the image exists.
pub fn image(root: &Path, action: &str, id: &str, name: &str) {
    let mut attrs = image_labels(root, id);
    attrs.insert("name".into(), name.into());
    record(root, &Message::new("image", action, id, attrs));
}

fn image_labels(root: &Path, id: &str) -> BTreeMap<String, String> {
    let Ok(store) = image::store::Store::open(root) else {
        return BTreeMap::new();
    };
    let Ok(img) = store.resolve(id) else {
        return BTreeMap::new();
    };
    img.config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default()
}

/// `pull`: docker's actor is the familiar reference (`busybox:latest`),
/// its `name` the familiar repository; `full` is what the pull resolved.
pub fn image_pulled(root: &Path, full: &str) {
    use image::reference::{familiar_repository, split_tagged};
    let (repo, rest) = match full.split_once('@') {
        Some((r, d)) => (r, format!("@{d}")),
        None => {
            let (r, t) = split_tagged(full);
            (r, format!(":{t}"))
        }
    };
    let familiar = familiar_repository(repo);
    image(root, "pull", &format!("{familiar}{rest}"), &familiar);
}

/// `tag` for each of `names` (fully qualified `repo:tag`) given to a new
/// image by `commit` or `import`, as docker tags it.
pub fn image_tagged(root: &Path, id: &str, names: &[String]) {
    use image::reference::{familiar_repository, split_tagged};
    for n in names {
        let (repo, tag) = split_tagged(n);
        image(
            root,
            "tag",
            id,
            &format!("{}:{tag}", familiar_repository(repo)),
        );
    }
}

/// Events for the lines `rmi` and `image prune` print: `untag` for each
/// removed tag (not digest references, as docker), `delete` for the image.
pub fn image_removed(root: &Path, id: &str, lines: &[String]) {
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("untagged: ") {
            if !r.contains('@') {
                image(root, "untag", id, id);
            }
        } else if let Some(d) = lower.strip_prefix("deleted: ") {
            if d == id {
                image(root, "delete", id, id);
            }
        }
    }
}

/// Events for `image prune`'s lines: each image's `untagged:` lines come
/// before its `deleted: ID`.
pub fn images_pruned(root: &Path, lines: &[String]) {
    let mut group = Vec::new();
    for l in lines {
        group.push(l.clone());
        if let Some(id) = l.to_ascii_lowercase().strip_prefix("deleted: ") {
            image_removed(root, id, &group);
            group.clear();
        }
    }
}

/// `volume create|destroy NAME (driver=local)`.
pub fn volume(root: &Path, action: &str, name: &str) {
    let attrs = BTreeMap::from([("driver".to_string(), "local".to_string())]);
    record(root, &Message::new("volume", action, name, attrs));
}

/// `network create|destroy ID (name=NAME, type=DRIVER)`.
pub fn network(root: &Path, action: &str, id: &str, name: &str, driver: &str) {
    let attrs = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("type".to_string(), driver.to_string()),
    ]);
    record(root, &Message::new("network", action, id, attrs));
}

/// `network connect|disconnect NET_ID (container=ID, name=NET, type=DRIVER)`.
pub fn network_endpoint(root: &Path, action: &str, net: (&str, &str), container: &str) {
    let attrs = BTreeMap::from([
        ("container".to_string(), container.to_string()),
        ("name".to_string(), net.1.to_string()),
        ("type".to_string(), "bridge".to_string()),
    ]);
    record(root, &Message::new("network", action, net.0, attrs));
}

/// Reads the log: the rotated generation then the current one, and, when
/// `follow`, keeps reading what is appended (across rotations) until
/// `until` (nanoseconds) has passed. `f` gets each event in order, and
/// whether it came after the first reading (live), and returns false to stop.
pub fn read(
    root: &Path,
    follow: bool,
    until: Option<i64>,
    mut f: impl FnMut(&Message, bool) -> Result<bool>,
) -> Result<()> {
    let past_until = || until.is_some_and(|u| chrono::Utc::now().timestamp_nanos_opt() > Some(u));
    // The current file is opened first: whatever is appended after we read
    // the rotated one is then in it.
    let mut cur = open_log(root);
    if let Ok(old) = File::open(rotated_path(root)) {
        // Skip the rotated file if it is the one we hold (rotated meanwhile).
        if cur.as_ref().map(|(_, ino)| *ino) != old.metadata().ok().map(|m| m.ino()) {
            let mut r = BufReader::new(old);
            if !each_line(&mut r, &mut |m| f(m, false))? {
                return Ok(());
            }
        }
    }
    let mut reader = cur.take().map(|(file, ino)| (BufReader::new(file), ino));
    let mut live = false;
    loop {
        if let Some((r, _)) = reader.as_mut() {
            if !each_line(r, &mut |m| f(m, live))? {
                return Ok(());
            }
        }
        live = true;
        if !follow || past_until() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
        // Rotated (or created) since: finish the old file, go on with the new.
        let now = open_log(root);
        let moved = match (&reader, &now) {
            (Some((_, a)), Some((_, b))) => a != b,
            (None, Some(_)) => true,
            _ => false,
        };
        if moved {
            if let Some((r, _)) = reader.as_mut() {
                if !each_line(r, &mut |m| f(m, true))? {
                    return Ok(());
                }
            }
            reader = now.map(|(file, ino)| (BufReader::new(file), ino));
        }
    }
}

fn open_log(root: &Path) -> Option<(File, u64)> {
    let f = File::open(log_path(root)).ok()?;
    let ino = f.metadata().ok()?.ino();
    Some((f, ino))
}

/// Hands each complete line to `f`; a partial last line stays for later.
fn each_line(
    r: &mut BufReader<File>,
    f: &mut impl FnMut(&Message) -> Result<bool>,
) -> Result<bool> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            return Ok(true);
        }
        if !line.ends_with('\n') {
            // Not all written yet: read it again next time.
            r.seek(SeekFrom::Current(-(n as i64)))?;
            return Ok(true);
        }
        match serde_json::from_str::<Message>(line.trim_end()) {
            Ok(m) => {
                if !f(&m)? {
                    return Ok(false);
                }
            }
            Err(e) => log::debug!("skipping a bad event line: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(action: &str, nanos: i64) -> Message {
        let mut m = Message::new(
            "container",
            action,
            "abc",
            BTreeMap::from([
                ("name".into(), "e1".into()),
                ("image".into(), "busybox".into()),
                ("foo".into(), "bar".into()),
            ]),
        );
        m.time_nano = nanos;
        m.time = nanos / 1_000_000_000;
        m
    }

    #[test]
    fn json_follows_dockers_field_order() {
        let m = msg("die", 1_796_289_071_122_697_196);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"foo":"bar","image":"busybox","name":"e1"}},"scope":"local","time":1796289071,"timeNano":1796289071122697196}"#
        );
        let v = Message::new("volume", "create", "v1", BTreeMap::new());
        let s = serde_json::to_string(&v).unwrap();
        assert!(s.starts_with(r#"{"Type":"volume""#), "{s}");
    }

    #[test]
    fn lines_read_like_dockers() {
        std::env::set_var("TZ", "UTC");
        let m = msg("die", 1_796_289_071_122_697_196);
        assert_eq!(
            m.line(),
            "2026-12-03T09:11:11.122697196Z container die abc (foo=bar, image=busybox, name=e1)"
        );
    }

    #[test]
    fn the_log_is_read_back_in_order_across_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        record(root, &msg("create", 1));
        std::fs::rename(log_path(root), rotated_path(root)).unwrap();
        record(root, &msg("start", 2));
        // A half-written line is left for later.
        use std::io::Write;
        let mut f = OpenOptions::new()
            .append(true)
            .open(log_path(root))
            .unwrap();
        f.write_all(b"{\"status\":").unwrap();
        let mut seen = Vec::new();
        read(root, false, None, |m, _| {
            seen.push(m.action.clone());
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["create", "start"]);
    }

    #[test]
    fn a_big_log_is_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(log_path(root), vec![b'\n'; MAX_LOG as usize]).unwrap();
        record(root, &msg("create", 1));
        assert!(rotated_path(root).exists());
        assert!(!log_path(root).exists());
        record(root, &msg("start", 2));
        assert_eq!(
            std::fs::read_to_string(log_path(root))
                .unwrap()
                .lines()
                .count(),
            1
        );
    }
}
