//! A tiny harness: one busybox bundle and one private --root per test,
//! runr run as a subprocess, everything deleted on drop.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The runtime under test (`RUNR_TEST_RUNTIME`, runr by default).
fn runr() -> PathBuf {
    crate::common::runtime::runtime_bin()
}

/// The busybox rootfs, built once per test binary.
fn rootfs() -> &'static PathBuf {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        // Kept under target/ between runs: mkrootfs.sh is idempotent.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("commands-rootfs");
        let script = crate::common::products::repo().join("hack/mkrootfs.sh");
        let st = Command::new(script)
            .arg(&dir)
            .status()
            .expect("running mkrootfs.sh");
        assert!(st.success(), "mkrootfs.sh failed");
        dir
    })
}

pub struct Container {
    pub id: String,
    pub root: PathBuf,
    bundle: PathBuf,
}

impl Container {
    /// Creates and starts (detached) a container running `args`, with the
    /// given `linux.resources` JSON.
    pub fn run(name: &str, args: &[&str], resources: Option<&str>) -> Container {
        let c = Container::prepare(name, args, resources, |_| {});
        let (ok, msg) = c.run_detached();
        assert!(ok, "runr run -d {}: {msg}", c.id);
        c
    }

    /// Writes the bundle only; `edit` may change the config further.
    pub fn prepare(
        name: &str,
        args: &[&str],
        resources: Option<&str>,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Container {
        let id = format!("cmd-{name}-{}", std::process::id());
        let base = std::env::temp_dir().join(&id);
        let _ = std::fs::remove_dir_all(&base);
        let bundle = base.join("bundle");
        let root = base.join("root");
        std::fs::create_dir_all(&bundle).unwrap();
        let c = Container { id, root, bundle };
        c.ok(&["spec", "--bundle", c.bundle.to_str().unwrap()]);
        let path = c.bundle.join("config.json");
        let mut spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        spec["root"]["path"] = rootfs().to_str().unwrap().into();
        spec["root"]["readonly"] = true.into();
        spec["process"]["terminal"] = false.into();
        spec["process"]["args"] = args.into();
        if let Some(r) = resources {
            spec["linux"]["resources"] = serde_json::from_str(r).unwrap();
        }
        edit(&mut spec);
        std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
        c
    }

    /// `runr run -d`: whether it succeeded, and its output.
    pub fn run_detached(&self) -> (bool, String) {
        // The container inherits runr's stdio: give it a file, not our pipe,
        // or reading runr's output would wait for the container to exit.
        let log = self.bundle.parent().unwrap().join("run.log");
        let args = [
            "run",
            "-d",
            "--bundle",
            self.bundle.to_str().unwrap(),
            &self.id,
        ];
        let st = self
            .cmd(&args)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .status()
            .expect("running runr");
        let msg = std::fs::read_to_string(&log).unwrap_or_default();
        (st.success(), msg)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(runr());
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    fn check(&self, args: &[&str], out: Output, want_ok: bool) -> String {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.success(),
            want_ok,
            "runr {args:?}: {}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        if want_ok {
            stdout
        } else {
            stderr
        }
    }

    /// Runs runr and returns its stdout; panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("running runr");
        self.check(args, out, true)
    }

    /// Runs runr and returns its stderr; panics unless it fails.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("running runr");
        self.check(args, out, false)
    }

    /// Runs runr; returns its exit code and stderr.
    pub fn code(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args).output().expect("running runr");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stderr)
    }

    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running runr");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        self.check(args, out, true)
    }

    /// Like `ok`, for a command that must end by itself within `limit`.
    pub fn ok_timeout(&self, args: &[&str], limit: Duration) -> String {
        let mut child = self
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running runr");
        let deadline = Instant::now() + limit;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "runr {args:?} still running after {limit:?}; stdout so far:\n{}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        self.check(args, out, true)
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", &self.id])).unwrap()
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap().to_string()
    }

    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap() as i32
    }

    fn saved(&self) -> serde_json::Value {
        let data = std::fs::read(self.root.join(&self.id).join("state.json")).unwrap();
        serde_json::from_slice(&data).unwrap()
    }

    pub fn saved_resources(&self) -> serde_json::Value {
        self.saved()["config"]["linux"]["resources"].clone()
    }

    /// The container's cgroup path (as in state.json).
    pub fn cgroup_path(&self) -> String {
        self.saved()["cgroup_path"].as_str().unwrap().to_string()
    }

    /// A v1 controller's file for this container's cgroup.
    pub fn cgroup_file(&self, controller: &str, file: &str) -> String {
        let cg = self.saved()["cgroup_path"].as_str().unwrap().to_string();
        let path = format!("/sys/fs/cgroup/{controller}{cg}/{file}");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {path}: {e}"))
            .trim()
            .to_string()
    }

    /// Waits until the container has `n` processes; returns their pids.
    pub fn wait_pids(&self, n: usize) -> Vec<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids: Vec<i32> =
                serde_json::from_str(&self.ok(&["ps", "--format", "json", &self.id])).unwrap();
            if pids.len() >= n || Instant::now() > deadline {
                return pids;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_stopped(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.status() != "stopped" {
            assert!(Instant::now() < deadline, "{} did not stop", self.id);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "--force", &self.id]).output();
        let _ = std::fs::remove_dir_all(self.bundle.parent().unwrap());
    }
}
