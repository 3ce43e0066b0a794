//! What confines the container, checked from inside: its cgroup namespace is
//! rooted at its own cgroup, the device cgroup allows only the default set
//! and `resources.devices`, the seccomp filter is in place during create (so
//! startContainer hooks run under it), and mounts are as read-only and as
//! isolated as configured.

use crate::common::Bundle;
use serde_json::json;

fn namespaces(b: &mut Bundle) -> &mut Vec<serde_json::Value> {
    b.config["linux"]["namespaces"].as_array_mut().unwrap()
}

fn with_cgroupns(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    if !namespaces(&mut b).iter().any(|n| n["type"] == "cgroup") {
        namespaces(&mut b).push(json!({"type": "cgroup"}));
    }
    b
}

fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's cgroup is the root of its cgroup namespace: every line
/// of /proc/self/cgroup reads `/`, and /sys/fs/cgroup shows its own limits,
/// not the host's tree.
#[test]
fn cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    let mut b = with_cgroupns("cgroupns");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 64 * 1024 * 1024});
    b.config["linux"]["resources"]["pids"] = json!({"limit": 77});
    let (mem, pids) = if cgroup_v2() {
        ("memory.max", "pids.max")
    } else {
        ("memory/memory.limit_in_bytes", "pids/pids.max")
    };
    b.sh(&format!(
        "grep -v ':/$' /proc/self/cgroup; \
         echo mem=$(cat /sys/fs/cgroup/{mem}) pids=$(cat /sys/fs/cgroup/{pids}); \
         ls /sys/fs/cgroup/pids/ | grep -c runr-it-"
    ));
    let out = b.run(&[]);
    assert_eq!(out.stdout, "mem=67108864 pids=77\n0\n", "{out}");
}

/// Sub-cgroups the container makes (its cgroup mount is writable here) are
/// removed with it by `delete --force`, their processes killed.
#[test]
fn delete_force_removes_the_containers_sub_cgroups() {
    let mut b = with_cgroupns("cgroupsub");
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys/fs/cgroup" {
            m["options"] = json!(["nosuid", "noexec", "nodev"]);
        }
    }
    let sub = if cgroup_v2() { "" } else { "pids/" };
    b.sh(&format!(
        "mkdir -p /sys/fs/cgroup/{sub}a/b && sleep 1000 & \
         sleep 0.2; echo $! > /sys/fs/cgroup/{sub}a/b/cgroup.procs; wait"
    ));
    b.create().ok();
    b.start().ok();
    let host = std::path::Path::new("/sys/fs/cgroup")
        .join(sub)
        .join(b.cgroups_path().trim_start_matches('/'))
        .join("a/b");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(host.join("cgroup.procs"))
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "the container made no sub-cgroup {}",
            host.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.rt_args(&["delete", "--force", b.id()]).ok();
    assert!(!host.exists(), "{} is left", host.display());
    b.assert_no_leftovers();
}

/// Reading the kernel log also needs CAP_SYSLOG (dmesg_restrict), and
/// mknod CAP_MKNOD: granted, so that only the device cgroup can refuse.
fn with_device_caps(b: &mut Bundle) {
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        caps.push(json!("CAP_SYSLOG"));
        caps.push(json!("CAP_MKNOD"));
    }
}

fn kmsg() -> serde_json::Value {
    json!({"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644})
}

/// A node in `linux.devices` is created, not allowed: under deny-all only
/// the default set and `resources.devices` may be opened (runc's rules).
#[test]
fn listed_devices_are_not_allowed_without_a_device_rule() {
    let mut b = Bundle::new("devdeny");
    with_device_caps(&mut b);
    b.config["linux"]["devices"] = json!([kmsg()]);
    b.config["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    b.sh(
        "test -c /dev/kmsg && echo node; head -c1 /dev/kmsg >/dev/null 2>&1 || echo denied; \
          echo x > /dev/null && echo null-ok",
    );
    let out = b.run(&[]);
    assert_eq!(out.stdout, "node\ndenied\nnull-ok\n", "{out}");
}

/// An explicit rule allows it; access letters other than r, w, m are dropped
/// (`rwa` reads as `rw`) instead of reaching the kernel.
#[test]
fn device_rules_allow_and_their_access_is_filtered_to_rwm() {
    let mut b = Bundle::new("devallow");
    with_device_caps(&mut b);
    b.config["linux"]["devices"] = json!([kmsg()]);
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}
    ]);
    b.sh("head -c1 /dev/kmsg >/dev/null && echo read; mknod /dev/k2 c 1 11 && echo mknod-default");
    let out = b.run(&[]);
    assert_eq!(out.stdout, "read\nmknod-default\n", "{out}");
}
