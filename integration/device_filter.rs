//! The cgroup v2 device filter (eBPF), attached to a cgroup of its own in
//! the host's cgroup2 mount (/sys/fs/cgroup/unified here, with no
//! controllers: device programs attach to any cgroup2 directory). Processes
//! moved into it open and mknod devices as the rules say, and a second
//! rule list replaces the first.

use runtime::device_filter;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cgroup2_root() -> Option<PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        post.starts_with("cgroup2 ")
            .then(|| PathBuf::from(pre.split(' ').nth(4).unwrap()))
    })
}

struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Its processes have exited; the programs go with the directory.
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Runs a busybox shell command inside the cgroup; true when it succeeded.
fn in_cgroup(cg: &Path, script: &str) -> bool {
    let procs = cg.join("cgroup.procs");
    Command::new("/bin/busybox")
        .args([
            "sh",
            "-c",
            &format!("echo $$ > {} && {script}", procs.display()),
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn device_rules_decide_open_and_mknod_and_update_replaces_them() {
    let Some(root) = cgroup2_root() else {
        eprintln!("SKIP: no cgroup2 mount");
        return;
    };
    let cg = Cgroup(root.join(format!("runr-it-devfilter-{}", std::process::id())));
    std::fs::create_dir(&cg.0).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display().to_string();
    let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> = serde_json::from_value(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"},
    ]))
    .unwrap();
    device_filter::apply(&cg.0, &rules).unwrap();
    let p = &cg.0;
    assert!(
        in_cgroup(p, "echo x > /dev/null"),
        "/dev/null rw is allowed"
    );
    assert!(
        in_cgroup(p, "head -c1 /dev/zero >/dev/null"),
        "/dev/zero r is allowed"
    );
    assert!(!in_cgroup(p, "echo x > /dev/zero"), "/dev/zero w is denied");
    assert!(!in_cgroup(p, "head -c1 /dev/full"), "/dev/full is denied");
    assert!(
        in_cgroup(p, &format!("mknod {t}/null c 1 3")),
        "mknod 1:3 is allowed"
    );
    assert!(
        !in_cgroup(p, &format!("mknod {t}/full c 1 7")),
        "mknod 1:7 is denied"
    );

    let all: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
        serde_json::from_value(json!([{"allow": true, "access": "rwm"}])).unwrap();
    device_filter::apply(&cg.0, &all).unwrap();
    assert!(
        in_cgroup(p, "head -c1 /dev/full >/dev/null"),
        "after the update /dev/full is allowed: the old program was detached"
    );
}
