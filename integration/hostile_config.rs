//! Configs of any size and paths that try to leave their root: a runtime
//! runs what runc runs (megabytes of annotations, mounts through the dangling
//! symlinks of systemd-based images) and keeps every path inside its root
//! (cgroups, mount targets); what it refuses, it refuses by name.

use std::path::Path;

use crate::common::{assert_mentions, skip_if_runc, Bundle};
use serde_json::json;

/// `..` in cgroupsPath is read lexically at the cgroup root: the cgroup is
/// made under /sys/fs/cgroup, never at the host path it would climb to.
#[test]
fn cgroups_path_with_dot_dot_stays_in_the_cgroup_root() {
    let mut b = Bundle::new("cgdotdot");
    let climbing = format!("/../../../../../../..{}", b.cgroups_path());
    b.config["linux"]["cgroupsPath"] = json!(climbing);
    b.args(&["sleep", "60"]);
    b.create().ok();
    let in_root = Path::new("/sys/fs/cgroup/memory")
        .join(b.cgroups_path().trim_start_matches('/'))
        .is_dir()
        || Path::new("/sys/fs/cgroup")
            .join(b.cgroups_path().trim_start_matches('/'))
            .join("cgroup.procs")
            .is_file();
    assert!(
        in_root,
        "no cgroup {} under /sys/fs/cgroup",
        b.cgroups_path()
    );
    assert!(
        !Path::new(b.cgroups_path()).exists(),
        "cgroupsPath {climbing} made {} on the host",
        b.cgroups_path()
    );
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.assert_no_leftovers();
}

/// Kubernetes allows 256 KiB of annotations and runc runs configs of 10 MB:
/// the state (which carries them) reaches the init, `state` prints them.
#[test]
fn ten_megabytes_of_annotations_run() {
    let mut b = Bundle::new("bigannot");
    let value = "a".repeat(64 << 10);
    let annotations: serde_json::Map<String, serde_json::Value> = (0..160)
        .map(|i| (format!("example.com/big-{i}"), json!(value)))
        .collect();
    b.config["annotations"] = json!(annotations);
    b.args(&["sleep", "60"]);
    b.create().ok();
    let state = b.state_json();
    let got = state["annotations"]
        .as_object()
        .expect("no annotations in state");
    assert!(got.len() >= 160, "{} annotations in state", got.len());
    assert_eq!(got["example.com/big-159"].as_str().unwrap().len(), 64 << 10);
    b.start().ok();
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.assert_no_leftovers();
}

/// systemd-based images have /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf,
/// missing in the image; docker and podman bind a file onto /etc/resolv.conf.
/// As with runc, the symlink's target is created in the rootfs and bound.
#[test]
fn bind_onto_a_dangling_resolv_conf_symlink_runs() {
    let mut b = Bundle::new("danglingresolv");
    let etc = b.rootfs().join("etc");
    let _ = std::fs::remove_file(etc.join("resolv.conf"));
    std::os::unix::fs::symlink(
        "../run/systemd/resolve/stub-resolv.conf",
        etc.join("resolv.conf"),
    )
    .unwrap();
    let src = b.dir().join("resolv.conf");
    std::fs::write(&src, "nameserver 10.87.9.9\n").unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/etc/resolv.conf", "type": "bind",
        "source": src, "options": ["rbind", "ro"]
    }));
    b.args(&["cat", "/etc/resolv.conf"]);
    let out = b.run(&[]).ok();
    assert!(out.stdout.contains("nameserver 10.87.9.9"), "{out}");
    assert!(b
        .rootfs()
        .join("run/systemd/resolve/stub-resolv.conf")
        .is_file());
    b.assert_no_leftovers();
}

/// A tmpfs under an absolute symlink whose target is missing goes to the
/// target inside the rootfs, never to the host's path of the same name.
#[test]
fn tmpfs_under_a_dangling_absolute_symlink_lands_in_the_rootfs() {
    let mut b = Bundle::new("danglingtmpfs");
    let target = format!("/runr-it-missing-{}", b.id());
    std::os::unix::fs::symlink(&target, b.rootfs().join("data")).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data/cache", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]
    }));
    b.sh(&format!(
        "grep -q ' {target}/cache tmpfs ' /proc/mounts && test -d /data/cache && echo in-tmpfs"
    ));
    let out = b.run(&[]).ok();
    assert!(out.stdout.contains("in-tmpfs"), "{out}");
    assert!(
        !Path::new(&target).exists(),
        "{target} was made on the host"
    );
    assert!(b
        .rootfs()
        .join(target.trim_start_matches('/'))
        .join("cache")
        .is_dir());
    b.assert_no_leftovers();
}

/// The spec wants hook paths absolute; runr's own $PATH is no place to look.
#[test]
fn relative_hook_path_is_refused() {
    if skip_if_runc("runc 1.1.5 looks a relative hook path up in its own $PATH") {
        return;
    }
    let mut b = Bundle::new("relhook");
    b.config["hooks"] = json!({"createRuntime": [{"path": "true"}]});
    let out = b.create().failed();
    assert_mentions(&out, &["hooks.createRuntime[0].path"]);
    b.assert_no_leftovers();
}

#[test]
fn env_entry_without_equals_is_refused() {
    let mut b = Bundle::new("envnoeq");
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("JUSTANAME"));
    let out = b.create().failed();
    assert_mentions(&out, &["environment variable"]);
    assert_mentions(&out, &["justaname"]);
    b.assert_no_leftovers();
}

/// A memory limit below what the init needs: the error names the memory
/// cgroup (the kernel refuses the write, or OOM-kills the init).
#[test]
fn memory_limit_too_small_names_the_cgroup() {
    if skip_if_runc("runc names the write and the usage, not the cgroup") {
        return;
    }
    let mut b = Bundle::new("mem1");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 1});
    let out = b.create().failed();
    assert!(
        out.stderr.contains(b.cgroups_path()) && out.stderr.contains("memory"),
        "the error does not name the memory cgroup:\n{out}"
    );
    b.assert_no_leftovers();
}
