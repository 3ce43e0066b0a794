//! Where runr must match runc 1.1.5 at the edges: exec's exit codes and
//! `--cgroup`, kill with signal 0, ps on a stopped container, the key order of
//! state and list, update's flag names, and the cgroup checks before create.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::harness::Container;

/// The container's directory in each mounted v1 hierarchy and, on a hybrid
/// host, the cgroup2 one (mount point, controller-list key).
fn hierarchies() -> Vec<(PathBuf, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mnt = pre.split(' ').nth(4)?;
            let mut post = post.split(' ');
            let fstype = post.next()?;
            let opts = post.nth(1).unwrap_or("");
            let key = match fstype {
                "cgroup2" => String::new(),
                "cgroup" => opts
                    .split(',')
                    .filter(|o| *o != "rw" && *o != "xattr")
                    .collect::<Vec<_>>()
                    .join(","),
                _ => return None,
            };
            mnt.starts_with("/sys/fs/cgroup/")
                .then(|| (PathBuf::from(mnt), key))
        })
        .collect()
}

fn is_v1_host() -> bool {
    !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[test]
fn exec_reports_its_own_failures_with_255_and_passes_the_status_through() {
    let c = Container::run("exec-255", &["sleep", "300"], None);
    assert_eq!(c.code(&["exec", &c.id, "sh", "-c", "exit 3"]).0, 3);
    let (code, err) = c.code(&["exec", &c.id, "/no/such/binary"]);
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("exec failed:"), "{err}");
    let (code, err) = c.code(&["exec", "no-such-container", "true"]);
    assert_eq!(code, 255, "{err}");
    let (code, err) = c.code(&["exec", "--pid-file", "/no/such/dir/pid", &c.id, "true"]);
    assert_eq!(code, 255, "{err}");
    c.ok(&["pause", &c.id]);
    let (code, err) = c.code(&["exec", &c.id, "true"]);
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("paused"), "{err}");
    c.ok(&["resume", &c.id]);
}

#[test]
fn exec_cgroup_joins_sub_cgroups_and_refuses_bad_ones() {
    if !is_v1_host() {
        eprintln!("SKIP: the per-controller form needs cgroup v1");
        return;
    }
    let c = Container::run("exec-cgroup", &["sleep", "300"], None);
    let cg = c.cgroup_path();
    let err = c.code(&["exec", "--cgroup", "..", &c.id, "true"]);
    assert_eq!(err.0, 255, "{}", err.1);
    assert!(err.1.contains(".. is not a sub cgroup path"), "{}", err.1);
    let err = c.fail(&["exec", "--cgroup", "nope", &c.id, "true"]);
    assert!(err.contains("/nope/cgroup.procs: no such file"), "{err}");
    let err = c.fail(&["exec", "--cgroup", "memory:nope", &c.id, "true"]);
    assert!(err.contains("/nope/cgroup.procs: no such file"), "{err}");
    let err = c.fail(&["exec", "--cgroup", "whaaat:/", &c.id, "true"]);
    assert!(err.contains("unknown controller whaaat"), "{err}");
    let err = c.fail(&["exec", "--cgroup", "a", "--cgroup", "b", &c.id, "true"]);
    assert!(err.contains("missing <controller>: prefix"), "{err}");

    // A sub-cgroup made in two hierarchies; the process lands in both.
    let mem = format!("/sys/fs/cgroup/memory{cg}/sub");
    let pids = format!("/sys/fs/cgroup/pids{cg}/sub2/deeper");
    std::fs::create_dir_all(&mem).unwrap();
    std::fs::create_dir_all(&pids).unwrap();
    let out = c.ok(&[
        "exec",
        "--cgroup",
        "memory:sub",
        "--cgroup",
        "pids:sub2/deeper",
        &c.id,
        "cat",
        "/proc/self/cgroup",
    ]);
    assert!(
        out.lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&format!("{cg}/sub"))),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains(":pids:") && l.ends_with(&format!("{cg}/sub2/deeper"))),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains(":cpu") && l.ends_with(&cg)),
        "{out}"
    );
    // delete removes the sub-cgroups with the container's own.
    c.ok(&["delete", "--force", &c.id]);
    assert!(!Path::new(&format!("/sys/fs/cgroup/memory{cg}")).exists());
    assert!(!Path::new(&format!("/sys/fs/cgroup/pids{cg}")).exists());
}

#[test]
fn init_and_exec_join_every_hierarchy_of_a_v1_or_hybrid_host() {
    if !is_v1_host() {
        eprintln!("SKIP: not a cgroup v1 host");
        return;
    }
    let c = Container::run("hybrid-join", &["sleep", "300"], None);
    let cg = c.cgroup_path();
    let init = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).unwrap();
    // Every hierarchy mounted here (incl. name=systemd and cgroup2) has it.
    for (mnt, key) in hierarchies() {
        assert!(
            Path::new(&format!("{}{cg}", mnt.display())).is_dir(),
            "no {cg} in {}",
            mnt.display()
        );
        let line = init
            .lines()
            .find(|l| l.split(':').nth(1) == Some(key.as_str()))
            .unwrap_or_else(|| panic!("no line for {key:?} in {init}"));
        assert!(line.ends_with(&cg), "init not in {cg} for {key:?}: {init}");
    }
    let out = c.ok(&["exec", &c.id, "cat", "/proc/self/cgroup"]);
    assert!(out.lines().all(|l| l.ends_with(&cg)), "{out}");
    c.ok(&["delete", "--force", &c.id]);
    for (mnt, _) in hierarchies() {
        assert!(!Path::new(&format!("{}{cg}", mnt.display())).exists());
    }
}

#[test]
fn kill_with_signal_0_checks_the_container_like_runc() {
    let c = Container::run("kill-0", &["sleep", "300"], None);
    c.ok(&["kill", &c.id, "0"]);
    assert_eq!(c.status(), "running");
    c.ok(&["kill", &c.id, "KILL"]);
    c.wait_stopped();
    c.ok(&["kill", "--all", &c.id, "0"]);
    assert!(c
        .fail(&["kill", &c.id, "0"])
        .contains("container not running"));
}

#[test]
fn ps_on_a_stopped_container_prints_the_header() {
    let c = Container::run("ps-stopped", &["true"], None);
    c.wait_stopped();
    let out = c.ok(&["ps", &c.id]);
    assert!(out.lines().next().unwrap_or("").contains("PID"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn state_and_list_keep_runcs_key_order() {
    let c = Container::run("key-order", &["sleep", "300"], None);
    let order = [
        "\"ociVersion\"",
        "\"id\"",
        "\"pid\"",
        "\"status\"",
        "\"bundle\"",
        "\"rootfs\"",
        "\"created\"",
        "\"owner\"",
    ];
    for out in [c.ok(&["state", &c.id]), c.ok(&["list", "--format", "json"])] {
        let at: Vec<usize> = order
            .iter()
            .map(|k| out.find(k).unwrap_or_else(|| panic!("{k} missing: {out}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "key order: {out}");
    }
}

#[test]
fn update_takes_runcs_cpu_share_flag() {
    let c = Container::run("cpu-share", &["sleep", "300"], None);
    c.ok(&["update", "--cpu-share", "200", &c.id]);
    assert_eq!(c.cgroup_file("cpu", "cpu.shares"), "200");
    assert_eq!(c.saved_resources()["cpu"]["shares"], 200);
}

fn shared_cgroup(cg: &str) -> impl FnOnce(&mut serde_json::Value) + '_ {
    move |spec| spec["linux"]["cgroupsPath"] = cg.into()
}

#[test]
fn create_warns_when_the_cgroup_already_has_processes() {
    let cg = format!("/runr-it-shared-{}", std::process::id());
    let a = Container::prepare("shared-a", &["sleep", "300"], None, shared_cgroup(&cg));
    let (ok, msg) = a.run_detached();
    assert!(ok, "{msg}");
    assert!(!msg.contains("not empty"), "{msg}");
    let b = Container::prepare("shared-b", &["sleep", "300"], None, shared_cgroup(&cg));
    let (ok, msg) = b.run_detached();
    assert!(ok, "{msg}");
    assert!(msg.contains("container's cgroup is not empty"), "{msg}");
    drop(b);
    drop(a);
}

#[test]
fn create_refuses_a_frozen_cgroup_at_once_and_leaves_it_alone() {
    if !is_v1_host() {
        eprintln!("SKIP: needs the v1 freezer");
        return;
    }
    let cg = format!("/runr-it-frozen-{}", std::process::id());
    let freezer = format!("/sys/fs/cgroup/freezer{cg}");
    std::fs::create_dir_all(&freezer).unwrap();
    std::fs::write(format!("{freezer}/freezer.state"), "FROZEN").unwrap();
    let c = Container::prepare("frozen", &["true"], None, shared_cgroup(&cg));
    let start = Instant::now();
    let (ok, msg) = c.run_detached();
    let took = start.elapsed();
    std::fs::write(format!("{freezer}/freezer.state"), "THAWED").unwrap();
    let gone = std::fs::remove_dir(&freezer);
    assert!(
        !ok && msg.contains("container's cgroup unexpectedly frozen"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        gone.is_ok(),
        "the pre-existing cgroup should be left: {gone:?}"
    );
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn unified_resources_are_refused_on_a_v1_host() {
    if !is_v1_host() {
        eprintln!("SKIP: not a cgroup v1 host");
        return;
    }
    let res = r#"{"unified":{"memory.min":"131072"}}"#;
    let c = Container::prepare("unified-v1", &["true"], Some(res), |_| {});
    let (ok, msg) = c.run_detached();
    assert!(
        !ok && msg.contains("cannot use unified on cgroup v1"),
        "{msg}"
    );
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    let c = Container::run("unified-v1-update", &["sleep", "300"], None);
    let err = c.fail(&["update", "-r", "-", &c.id]);
    assert!(
        err.contains("reading resources") || err.contains("decoding"),
        "{err}"
    );
    let file = c.root.join("unified.json");
    std::fs::write(&file, res).unwrap();
    let err = c.fail(&["update", "-r", file.to_str().unwrap(), &c.id]);
    assert!(err.contains("cannot use unified on cgroup v1"), "{err}");
}

#[test]
fn update_memory_minus_one_lifts_memory_and_swap() {
    let res = r#"{"memory":{"limit":33554432,"swap":67108864}}"#;
    let c = Container::run("mem-unlimited", &["sleep", "300"], Some(res));
    if !Path::new(&format!(
        "/sys/fs/cgroup/memory{}/memory.memsw.limit_in_bytes",
        c.cgroup_path()
    ))
    .exists()
    {
        eprintln!("SKIP: no swap accounting");
        return;
    }
    c.ok(&["update", "--memory", "-1", &c.id]);
    let unlimited = std::fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes").unwrap();
    assert_eq!(
        c.cgroup_file("memory", "memory.limit_in_bytes"),
        unlimited.trim()
    );
    assert_eq!(
        c.cgroup_file("memory", "memory.memsw.limit_in_bytes"),
        unlimited.trim()
    );
    assert_eq!(c.saved_resources()["memory"]["swap"], -1);
}

#[test]
fn cpu_period_and_quota_are_accepted_under_a_limited_parent() {
    if !is_v1_host() {
        eprintln!("SKIP: not a cgroup v1 host");
        return;
    }
    // A parent allowing half a cpu: a smaller period written before the
    // quota would exceed it for a moment, which the kernel refuses.
    let parent = format!("/runr-it-pod-{}", std::process::id());
    let pdir = format!("/sys/fs/cgroup/cpu{parent}");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(format!("{pdir}/cpu.cfs_quota_us"), "50000").unwrap();
    let cg = format!("{parent}/ct");
    let res = r#"{"cpu":{"period":100000,"quota":50000}}"#;
    let c = Container::prepare(
        "cpu-order",
        &["sleep", "300"],
        Some(res),
        shared_cgroup(&cg),
    );
    let (ok, msg) = c.run_detached();
    assert!(ok, "{msg}");
    c.ok(&[
        "update",
        "--cpu-period",
        "10000",
        "--cpu-quota",
        "5000",
        &c.id,
    ]);
    assert_eq!(c.cgroup_file("cpu", "cpu.cfs_period_us"), "10000");
    assert_eq!(c.cgroup_file("cpu", "cpu.cfs_quota_us"), "5000");
    c.ok(&[
        "update",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
        &c.id,
    ]);
    assert_eq!(c.cgroup_file("cpu", "cpu.cfs_quota_us"), "50000");
    c.ok(&["delete", "--force", &c.id]);
    // The parent, made by us (cpu) and by create's mkdir -p (the others).
    for (mnt, _) in hierarchies() {
        let _ = std::fs::remove_dir(format!("{}{parent}", mnt.display()));
    }
    let _ = std::fs::remove_dir(&pdir);
}

/// A loop device with the bfq scheduler, or None where the host has none.
struct BfqLoop {
    dev: String,
    _file: PathBuf,
}

impl BfqLoop {
    fn new(name: &str) -> Option<BfqLoop> {
        let file = std::env::temp_dir().join(format!("runr-it-{name}-{}.img", std::process::id()));
        std::fs::write(&file, vec![0u8; 4096]).ok()?;
        let out = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .ok()?;
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || dev.is_empty() {
            let _ = std::fs::remove_file(&file);
            return None;
        }
        let l = BfqLoop { dev, _file: file };
        let sched = format!(
            "/sys/block/{}/queue/scheduler",
            l.dev.trim_start_matches("/dev/")
        );
        std::fs::write(&sched, "bfq").ok()?;
        Some(l)
    }

    fn numbers(&self) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        let rdev = std::fs::metadata(&self.dev).unwrap().rdev();
        (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev))
    }
}

impl Drop for BfqLoop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .status();
        let _ = std::fs::remove_file(&self._file);
    }
}

#[test]
fn blkio_weight_device_reaches_bfq() {
    if !is_v1_host() {
        eprintln!("SKIP: not a cgroup v1 host");
        return;
    }
    let Some(lo) = BfqLoop::new("bfq") else {
        eprintln!("SKIP: no loop device with bfq");
        return;
    };
    let (major, minor) = lo.numbers();
    let res = format!(
        r#"{{"blockIO":{{"weight":333,"weightDevice":[{{"major":{major},"minor":{minor},"weight":444}}]}}}}"#
    );
    let c = Container::run("bfq", &["sleep", "300"], Some(&res));
    let file = if Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists() {
        "blkio.weight_device"
    } else {
        "blkio.bfq.weight_device"
    };
    let weights = c.cgroup_file("blkio", file);
    assert!(
        weights.contains(&format!("{major}:{minor} 444")),
        "{file}: {weights}"
    );
}

#[test]
fn exec_process_file_without_user_runs_as_root() {
    let c = Container::run("exec-process-nouser", &["sleep", "300"], None);
    let file = c.root.join("process.json");
    std::fs::write(
        &file,
        r#"{"args":["sh","-c","echo $(id -u):$(id -g)"],"cwd":"/"}"#,
    )
    .unwrap();
    let out = c.ok(&["exec", "-p", file.to_str().unwrap(), &c.id]);
    assert_eq!(out.trim(), "0:0");
}

#[test]
fn default_spec_has_runc_1_1_namespaces_so_a_cgroup_ns_can_be_added() {
    // runc 1.1.5's `spec` has no cgroup namespace; test suites add one.
    let c = Container::prepare(
        "spec-cgroupns",
        &["cat", "/proc/self/cgroup"],
        None,
        |spec| {
            let ns = spec["linux"]["namespaces"].as_array_mut().unwrap();
            let types: Vec<&str> = ns.iter().map(|n| n["type"].as_str().unwrap()).collect();
            assert_eq!(types, ["pid", "network", "ipc", "uts", "mount"]);
            ns.push(serde_json::json!({"type": "cgroup"}));
        },
    );
    let (ok, msg) = c.run_detached();
    assert!(ok, "{msg}");
}

#[test]
fn update_never_takes_a_kept_device_away_and_adds_none() {
    if !is_v1_host() {
        eprintln!("SKIP: not a cgroup v1 host");
        return;
    }
    // The process writes to /dev/null without pause; any failed open shows
    // in /dev/shm/bad. runc's update moves between device lists without a
    // moment of deny-all, and libcgroups' own defaults must not stay.
    let loop_ = "while :; do if ! echo x > /dev/null; then echo bad >> /dev/shm/bad; fi; done";
    // A deny of one device after the deny-all, as runc's own test has.
    let res = r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":false,"type":"c","major":1,"minor":11,"access":"rwa"}]}"#;
    let c = Container::run("dev-transition", &["sh", "-c", loop_], Some(res));
    let before = c.cgroup_file("devices", "devices.list");
    for _ in 0..30 {
        c.ok(&["update", "--pids-limit", "30", &c.id]);
    }
    let bad = format!("/proc/{}/root/dev/shm/bad", c.pid());
    assert!(
        !Path::new(&bad).exists(),
        "/dev/null was denied during update: {:?}",
        std::fs::read_to_string(&bad)
    );
    assert_eq!(c.cgroup_file("devices", "devices.list"), before);
}
