//! A bundle for one test: rootfs copied from a cached busybox template (with
//! the checker at /runr-checker), config.json from `<runtime> spec` edited as
//! JSON, its own `--root`, container id and cgroup path. Dropping it kills
//! and deletes its containers, checks they left nothing and removes it all.

use super::leftovers;
use super::runtime::{runtime_bin, Output, RtCommand};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where the checker finds the config inside the container.
pub const CHECKER_CONFIG: &str = "/runr-checker.json";
pub const CHECKER: &str = "/runr-checker";

/// The namespace types of config-linux.md with their /proc/self/ns names.
pub const NAMESPACES: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The rootfs template, made once per test process by hack/mkrootfs.sh.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runr-it-rootfs");
        let script = super::products::repo().join("hack/mkrootfs.sh");
        let status = Command::new("sh")
            .arg(&script)
            .arg(&dir)
            .status()
            .expect("running hack/mkrootfs.sh");
        assert!(
            status.success(),
            "hack/mkrootfs.sh {} failed",
            dir.display()
        );
        // Copy then rename, so a concurrent test process never sees half a binary.
        let tmp = dir.join(format!(".runr-checker.{}", std::process::id()));
        std::fs::copy(env!("CARGO_BIN_EXE_runr-checker"), &tmp)
            .expect("copying runr-checker into the template");
        std::fs::rename(&tmp, dir.join(CHECKER.trim_start_matches('/')))
            .expect("installing runr-checker");
        dir
    })
}

/// `config` with the host's namespace inodes added as annotations for the
/// checker (`runr.checker.host-ns.<type>`), keeping any set by the test.
fn with_host_ns(config: &Value) -> Value {
    let mut config = config.clone();
    if !config["annotations"].is_object() {
        config["annotations"] = json!({});
    }
    for (kind, name) in NAMESPACES {
        if let Some(ino) = host_ns_inode(name) {
            let key = format!("runr.checker.host-ns.{kind}");
            if config["annotations"][&key].is_null() {
                config["annotations"][&key] = json!(ino.to_string());
            }
        }
    }
    config
}

/// The inode of the test process's own namespace of /proc/self/ns/`name`.
pub fn host_ns_inode(name: &str) -> Option<u64> {
    std::fs::metadata(format!("/proc/self/ns/{name}"))
        .ok()
        .map(|m| m.ino())
}

pub struct Bundle {
    /// The runtime that drives this bundle (the one under test by default).
    bin: PathBuf,
    dir: PathBuf,
    bundle: PathBuf,
    root: PathBuf,
    logs: PathBuf,
    id: String,
    cgroups_path: String,
    /// The config.json written at create/run; edit freely before.
    pub config: Value,
    /// Ids created under this bundle's root, for cleanup.
    ids: Mutex<Vec<String>>,
}

impl Bundle {
    /// A fresh bundle named after the test (`name` goes into ids and paths).
    pub fn new(name: &str) -> Bundle {
        Bundle::with_runtime(name, &runtime_bin())
    }

    /// A bundle driven by another runtime (`bin`), e.g. runc for comparisons.
    pub fn with_runtime(name: &str, bin: &Path) -> Bundle {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let short: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(24)
            .collect();
        let dir = PathBuf::from(format!("/tmp/runr-it-{pid}-{seq}-{short}"));
        let bundle = dir.join("bundle");
        let root = dir.join("root");
        let logs = dir.join("logs");
        for d in [&bundle, &logs] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
        }
        let rootfs = bundle.join("rootfs");
        let status = Command::new("cp")
            .arg("-a")
            .arg(template())
            .arg(&rootfs)
            .status()
            .expect("running cp");
        assert!(
            status.success(),
            "copying the rootfs template to {}",
            rootfs.display()
        );

        let mut b = Bundle {
            bin: bin.to_path_buf(),
            dir,
            bundle,
            root,
            logs,
            id: format!("it{pid}-{seq}-{short}"),
            cgroups_path: format!("/runr-it-{pid}-{seq}"),
            config: Value::Null,
            ids: Mutex::new(Vec::new()),
        };
        // RUNR_TEST_SPEC_RUNTIME: another runtime's `spec`, while the one
        // under test has none yet.
        match std::env::var_os("RUNR_TEST_SPEC_RUNTIME").filter(|v| !v.is_empty()) {
            Some(spec_bin) => RtCommand::new(Path::new(&spec_bin), &b.root, &b.logs),
            None => b.rt(),
        }
        .args(&["spec"])
        .cwd(&b.bundle)
        .run()
        .ok();
        let text = std::fs::read_to_string(b.bundle.join("config.json"))
            .expect("`spec` wrote no config.json");
        b.config = serde_json::from_str(&text).expect("`spec` wrote invalid JSON");
        b.config["process"]["terminal"] = json!(false);
        b.config["root"]["path"] = json!("rootfs");
        b.config["linux"]["cgroupsPath"] = json!(b.cgroups_path);
        b.config["process"]["args"] = json!([CHECKER, CHECKER_CONFIG]);
        b
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    /// The test's own directory (bundle, root and logs are inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn bundle_dir(&self) -> &Path {
        &self.bundle
    }
    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }
    /// The runtime's `--root` for this test.
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn cgroups_path(&self) -> &str {
        &self.cgroups_path
    }

    /// Sets process.args.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Sets process.args to `sh -c script`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Writes a file into the rootfs (parents created).
    pub fn write_rootfs_file(&self, rel: &str, content: &str) {
        let path = self.rootfs().join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Writes config.json, and the same config for the checker into the
    /// rootfs, with the host's namespace inodes as annotations.
    pub fn write_config(&self) {
        self.write_configs(&self.config);
    }

    /// Like write_config, but the checker is told to expect `expected`.
    fn write_configs(&self, expected: &Value) {
        let runtime_text = serde_json::to_string_pretty(&with_host_ns(&self.config)).unwrap();
        std::fs::write(self.bundle.join("config.json"), &runtime_text)
            .expect("writing config.json");
        let text = serde_json::to_string_pretty(&with_host_ns(expected)).unwrap();
        let rootfs = self.rootfs();
        if rootfs.is_dir() {
            std::fs::write(rootfs.join(CHECKER_CONFIG.trim_start_matches('/')), &text)
                .expect("writing the checker's config");
        }
    }

    /// Runs the checker with the bundle's config while the checker expects
    /// `expected`: for testing that the checker notices what was not applied.
    pub fn run_checker_expecting(&mut self, expected: &Value) -> Output {
        self.args(&[CHECKER, CHECKER_CONFIG]);
        self.track(&self.id);
        self.write_configs(expected);
        let bundle = self.bundle.display().to_string();
        self.rt()
            .args(&["run", "--bundle", &bundle, &self.id])
            .run()
    }

    /// A runtime command with this bundle's `--root`.
    pub fn rt(&self) -> RtCommand {
        RtCommand::new(&self.bin, &self.root, &self.logs)
    }

    /// Runs `<runtime> --root R args...`.
    pub fn rt_args(&self, args: &[&str]) -> Output {
        self.rt().args(args).run()
    }

    /// Remembers `id` so that Drop cleans it up.
    pub fn track(&self, id: &str) {
        // An invalid id names no container (and `..` would name --root's parent).
        if id.is_empty() || id == "." || id == ".." || id.contains('/') {
            return;
        }
        let mut ids = self.ids.lock().unwrap();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// Writes the config and runs `create --bundle B ID`.
    pub fn create(&self) -> Output {
        self.create_id(&self.id.clone())
    }

    pub fn create_id(&self, id: &str) -> Output {
        self.write_config();
        self.track(id);
        self.rt()
            .args(&["create", "--bundle", &self.bundle.display().to_string(), id])
            .run()
    }

    /// Writes the config and runs `run --bundle B [extra...] ID` in the foreground.
    pub fn run(&self, extra: &[&str]) -> Output {
        self.write_config();
        self.track(&self.id);
        let bundle = self.bundle.display().to_string();
        let mut args = vec!["run", "--bundle", bundle.as_str()];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.rt().args(&args).run()
    }

    /// Runs the checker as the container process against the config as it
    /// is now; panics with its TAP output unless every check passed.
    pub fn run_checker(&mut self) -> Output {
        self.args(&[CHECKER, CHECKER_CONFIG]);
        let out = self.run(&[]);
        assert!(
            out.success(),
            "the checker found problems (`not ok` lines):\n{out}"
        );
        assert!(
            out.stdout.contains("# "),
            "the checker printed no summary:\n{out}"
        );
        out
    }

    pub fn start(&self) -> Output {
        self.rt_args(&["start", &self.id])
    }

    pub fn state(&self) -> Output {
        self.rt_args(&["state", &self.id])
    }

    /// `state` parsed; panics if it fails.
    pub fn state_json(&self) -> Value {
        self.state().ok().json()
    }

    pub fn status(&self) -> String {
        self.state_json()["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn kill(&self, signal: &str) -> Output {
        self.rt_args(&["kill", &self.id, signal])
    }

    pub fn delete(&self) -> Output {
        self.rt_args(&["delete", &self.id])
    }

    /// Polls `state` until the container reaches `status`.
    #[track_caller]
    pub fn wait_for_status(&self, status: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let got = self.status();
            if got == status {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "container {} still {got:?} after {timeout:?}, expected {status:?}",
                self.id
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What this bundle's container `id` left on the machine.
    pub fn leftovers_of(&self, id: &str) -> Vec<String> {
        leftovers::find(&self.root, id, &self.cgroups_path, &self.dir)
    }

    /// Panics if the container (this bundle's id) left a state dir, a cgroup,
    /// a mount under the test dir or a process.
    #[track_caller]
    pub fn assert_no_leftovers(&self) {
        let found = self.leftovers_of(&self.id);
        assert!(
            found.is_empty(),
            "container {} left things behind:\n  {}",
            self.id,
            found.join("\n  ")
        );
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let mut ids = self.ids.lock().unwrap().clone();
        // Also whatever the runtime keeps under our root.
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !ids.contains(&name) {
                    ids.push(name);
                }
            }
        }
        let mut found = Vec::new();
        for id in &ids {
            let exists = self.root.join(id).exists();
            if exists {
                let _ = self
                    .rt()
                    .args(&["kill", id, "KILL"])
                    .timeout(Duration::from_secs(10))
                    .run();
                let _ = self
                    .rt()
                    .args(&["delete", "--force", id])
                    .timeout(Duration::from_secs(10))
                    .run();
            }
            found.extend(self.leftovers_of(id));
        }
        leftovers::force_clean(&self.root, &self.cgroups_path, &self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        if !found.is_empty() {
            let msg = format!(
                "after `delete --force`, the runtime left behind:\n  {}",
                found.join("\n  ")
            );
            if std::thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}
