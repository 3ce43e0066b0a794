//! Rootless mode: the runtime run by an unprivileged user (uid 65534 through
//! `setpriv`), with its state under $XDG_RUNTIME_DIR and the config from
//! `spec --rootless`; newuidmap/newgidmap for more than the caller's own id.

use crate::common::{mentions_any, skip_if_runc, Bundle};
use serde_json::{json, Value};
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NOBODY: u32 = 65534;

/// A bundle for an unprivileged runtime: the harness's rootfs, the config
/// that `spec --rootless` makes for uid 65534, and an XDG_RUNTIME_DIR of its own.
struct RootlessBundle {
    b: Bundle,
    xdg: PathBuf,
    config: Value,
}

fn as_nobody(cmd: &mut Command) -> &mut Command {
    cmd.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ])
}

impl RootlessBundle {
    fn new(name: &str) -> RootlessBundle {
        let b = Bundle::new(name);
        let xdg = b.dir().join("xdg");
        let specdir = b.dir().join("spec");
        for d in [&xdg, &specdir] {
            std::fs::create_dir_all(d).unwrap();
            chown(d, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let out = as_nobody(&mut Command::new("setpriv"))
            .arg(crate::common::runtime::runtime_bin())
            .args(["spec", "--rootless"])
            .current_dir(&specdir)
            .output()
            .unwrap();
        assert!(out.status.success(), "spec --rootless: {out:?}");
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(specdir.join("config.json")).unwrap()).unwrap();
        config["root"]["path"] = json!("rootfs");
        config["process"]["terminal"] = json!(false);
        RootlessBundle { b, xdg, config }
    }

    fn sh(&mut self, script: &str) {
        self.config["process"]["args"] = json!(["sh", "-c", script]);
    }

    /// `run` as uid 65534, without --root (the default must be under XDG_RUNTIME_DIR).
    fn run(&self) -> Output {
        let bundle = self.b.bundle_dir().display().to_string();
        let out = self.rt(&["run", "--bundle", &bundle, self.b.id()], false);
        self.assert_nothing_left();
        out
    }

    /// The runtime as uid 65534 with `args`; `detached`: the container may
    /// outlive the command, so its stdio goes to /dev/null.
    fn rt(&self, args: &[&str], detached: bool) -> Output {
        std::fs::write(
            self.b.bundle_dir().join("config.json"),
            serde_json::to_string_pretty(&self.config).unwrap(),
        )
        .unwrap();
        let mut cmd = as_nobody(&mut Command::new("setpriv"))
            .arg("env")
            .arg(format!("XDG_RUNTIME_DIR={}", self.xdg.display()))
            .arg(crate::common::runtime::runtime_bin())
            .args(args)
            .current_dir(self.b.dir())
            .stdin(Stdio::null())
            .spawn_output(detached);
        cmd.take().unwrap()
    }

    fn assert_nothing_left(&self) {
        let state = self.xdg.join("runr").join(self.b.id());
        assert!(!state.exists(), "state dir {} left behind", state.display());
        let cg = Path::new("/sys/fs/cgroup/memory/runr").join(self.b.id());
        assert!(!cg.exists(), "cgroup {} left behind", cg.display());
        let ps = Command::new("pgrep")
            .args(["-u", "65534", "-f", self.b.id()])
            .output()
            .unwrap();
        assert!(
            ps.stdout.is_empty(),
            "processes left: {}",
            String::from_utf8_lossy(&ps.stdout)
        );
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn map_lines(s: &str) -> Vec<Vec<String>> {
    s.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn unprivileged_user_runs_a_container_as_root_of_its_own_namespace() {
    let mut r = RootlessBundle::new("rootlessown");
    assert_eq!(
        r.config["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": NOBODY, "size": 1}]),
        "spec --rootless maps the caller's uid"
    );
    assert!(
        !r.config["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "network"),
        "spec --rootless keeps no network namespace"
    );
    r.sh("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map");
    let out = r.run();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        map_lines(&String::from_utf8_lossy(&out.stdout)),
        vec![
            vec!["0"],
            vec!["0"],
            vec!["0", "65534", "1"],
            vec!["0", "65534", "1"]
        ],
        "{}",
        text(&out)
    );
}

#[test]
fn resources_without_a_writable_cgroup_are_a_warning() {
    if skip_if_runc("runc 1.1.5 words it differently") {
        return;
    }
    let mut r = RootlessBundle::new("rootlessres");
    r.config["linux"]["resources"] = json!({"memory": {"limit": 268435456}});
    r.sh("true");
    let out = r.run();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resource limits not applied"),
        "{}",
        text(&out)
    );
}

#[test]
fn rootless_without_a_user_namespace_is_refused() {
    let mut r = RootlessBundle::new("rootlessnouserns");
    r.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "user");
    r.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("uidMappings");
    r.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("gidMappings");
    r.sh("true");
    let out = r.run();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        mentions_any(
            &String::from_utf8_lossy(&out.stderr),
            &["requires user namespace"]
        ),
        "{}",
        text(&out)
    );
}

/// /etc/subuid and /etc/subgid with a temporary entry for nobody, restored
/// byte for byte (or removed if they did not exist) on drop.
struct SubIds(Vec<(PathBuf, Option<Vec<u8>>)>);

impl SubIds {
    fn grant(line: &str) -> SubIds {
        let mut saved = Vec::new();
        for f in ["/etc/subuid", "/etc/subgid"] {
            let old = std::fs::read(f).ok();
            let mut new = old.clone().unwrap_or_default();
            if !new.is_empty() && !new.ends_with(b"\n") {
                new.push(b'\n');
            }
            new.extend_from_slice(line.as_bytes());
            saved.push((PathBuf::from(f), old));
            std::fs::write(f, new).unwrap();
        }
        SubIds(saved)
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for (f, old) in &self.0 {
            match old {
                Some(bytes) => std::fs::write(f, bytes).unwrap(),
                None => std::fs::remove_file(f).unwrap(),
            }
        }
    }
}

/// Both newuidmap cases in one test, so the temporary /etc/subuid entry is
/// there for exactly as long as needed.
#[test]
fn more_than_the_callers_id_goes_through_newuidmap() {
    let two = json!([
        {"containerID": 0, "hostID": NOBODY, "size": 1},
        {"containerID": 1, "hostID": 300000, "size": 1000}
    ]);
    // Not granted in /etc/subuid: a clear refusal naming it.
    let mut r = RootlessBundle::new("rootlessnosubuid");
    r.config["linux"]["uidMappings"] = two.clone();
    r.sh("true");
    let out = r.run();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        mentions_any(
            &String::from_utf8_lossy(&out.stderr),
            &["/etc/subuid", "newuidmap"]
        ),
        "{}",
        text(&out)
    );

    let granted = SubIds::grant("nobody:300000:65536\n");
    let mut r = RootlessBundle::new("rootlessnewuidmap");
    r.config["linux"]["uidMappings"] = two.clone();
    r.config["linux"]["gidMappings"] = two;
    r.sh("cat /proc/self/uid_map /proc/self/gid_map");
    let out = r.run();
    drop(granted);
    assert!(out.status.success(), "{}", text(&out));
    let want = vec![vec!["0", "65534", "1"], vec!["1", "300000", "1000"]];
    let got = map_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got, [want.clone(), want].concat(), "{}", text(&out));
}

trait SpawnOutput {
    fn spawn_output(&mut self, detached: bool) -> Option<Output>;
}

impl SpawnOutput for Command {
    /// Output with stdout captured, or (detached) stdout and stderr to a file.
    fn spawn_output(&mut self, detached: bool) -> Option<Output> {
        if detached {
            self.stdout(Stdio::null()).stderr(Stdio::null());
            let status = self.status().unwrap();
            return Some(Output {
                status,
                stdout: vec![],
                stderr: vec![],
            });
        }
        Some(self.output().unwrap())
    }
}

/// A detached rootless container without a cgroup: exec, kill and delete
/// work; ps says clearly why it cannot.
#[test]
fn detached_rootless_container_execs_kills_and_deletes() {
    let mut r = RootlessBundle::new("rootlessdetached");
    r.config["process"]["args"] = json!(["sleep", "60"]);
    let bundle = r.b.bundle_dir().display().to_string();
    let id = r.b.id().to_string();
    let created = r.rt(&["create", "--bundle", &bundle, &id], true);
    assert!(created.status.success(), "create failed");
    let started = r.rt(&["start", &id], true);
    assert!(started.status.success(), "start failed");
    let out = r.rt(
        &["exec", &id, "sh", "-c", "id -u; cat /proc/self/uid_map"],
        false,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        map_lines(&String::from_utf8_lossy(&out.stdout)),
        vec![vec!["0"], vec!["0", "65534", "1"]],
        "{}",
        text(&out)
    );
    let ps = r.rt(&["ps", &id], false);
    assert!(!ps.status.success(), "{}", text(&ps));
    assert!(
        mentions_any(
            &String::from_utf8_lossy(&ps.stderr),
            &["no cgroup", "cgroup"]
        ),
        "{}",
        text(&ps)
    );
    let killed = r.rt(&["kill", &id, "KILL"], false);
    assert!(killed.status.success(), "{}", text(&killed));
    let mut deleted = r.rt(&["delete", &id], false);
    for _ in 0..50 {
        if deleted.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        deleted = r.rt(&["delete", &id], false);
    }
    assert!(deleted.status.success(), "{}", text(&deleted));
    r.assert_nothing_left();
}
