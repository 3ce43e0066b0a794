//! linux.netDevices: a veth interface (this kernel has no dummy module), made
//! in a network namespace of the test's own (never the host's), is moved into
//! the container and renamed.

use crate::common::{assert_mentions, skip_if_runc, Bundle};
use serde_json::json;
use std::os::fd::AsFd;
use std::process::Command;

/// Runs `f` with this thread in a new, private network namespace: the
/// runtime and `ip` started from it inherit it. The namespace goes away
/// with its last user.
fn in_private_netns<T>(f: impl FnOnce() -> T) -> T {
    let host = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    nix::sched::setns(host.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
        .expect("back to the host network namespace");
    r.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("running ip");
    assert!(st.success(), "ip {args:?} failed");
}

#[test]
fn a_host_interface_is_moved_into_the_container_and_renamed() {
    if skip_if_runc("runc 1.1.5 has no netDevices") {
        return;
    }
    in_private_netns(|| {
        ip(&[
            "link",
            "add",
            "runrveth0",
            "type",
            "veth",
            "peer",
            "name",
            "runrveth1",
        ]);
        let mut b = Bundle::new("netdev");
        b.config["linux"]["netDevices"] = json!({"runrveth0": {"name": "ctr0"}});
        b.sh("test -e /sys/class/net/ctr0 && ! test -e /sys/class/net/runrveth0 && echo moved");
        let out = b.run(&[]).ok();
        assert!(out.stdout.contains("moved"), "{out}");
        b.delete();
        b.assert_no_leftovers();
        // It left our namespace, and the pair died with the container's.
        // (Namespaces are torn down asynchronously: allow it a moment.)
        let mut links = String::new();
        for _ in 0..50 {
            let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
            links = String::from_utf8_lossy(&out.stdout).into_owned();
            if !links.contains("runrveth") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(!links.contains("runrveth"), "{links}");
    });
}

#[test]
fn net_devices_are_refused_without_a_new_network_namespace_or_a_device() {
    if skip_if_runc("runc 1.1.5 has no netDevices") {
        return;
    }
    let mut b = Bundle::new("netdevbad");
    b.args(&["true"]);
    b.config["linux"]["netDevices"] = json!({"runr-no-such0": {}});
    let out = b.create().failed();
    assert_mentions(&out, &["runr-no-such0"]);
    b.assert_no_leftovers();

    let mut b = Bundle::new("netdevhost");
    b.args(&["true"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    b.config["linux"]["netDevices"] = json!({"lo": {}});
    let out = b.create().failed();
    assert_mentions(&out, &["network namespace"]);
    b.assert_no_leftovers();
}
