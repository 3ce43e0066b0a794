//! After a failing create the runtime leaves nothing: no state dir under
//! --root, no cgroup, no mount under the bundle, no process.

use crate::common::{leftovers, Bundle};
use serde_json::json;

/// Creates with the config as `b` has it, expects failure and a clean machine.
#[track_caller]
fn assert_create_fails_cleanly(b: &Bundle) {
    let out = b.create().failed();
    b.assert_no_leftovers();
    b.state().failed();
    let list = b.rt_args(&["list", "-q"]).ok();
    assert!(
        !list.stdout.lines().any(|l| l == b.id()),
        "failed create still listed:\n{list}\ncreate was:\n{out}"
    );
}

#[test]
fn missing_executable_fails_create_cleanly() {
    let mut b = Bundle::new("noexec");
    b.args(&["/no/such/binary"]);
    assert_create_fails_cleanly(&b);
}

#[test]
fn missing_bind_mount_source_fails_create_cleanly() {
    let mut b = Bundle::new("nomountsrc");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/mnt/x", "type": "bind", "source": "/no/such/source/dir", "options": ["rbind"]
    }));
    assert_create_fails_cleanly(&b);
}

#[test]
fn impossible_memory_limit_fails_create_cleanly() {
    let mut b = Bundle::new("memlimit");
    // Far below what the runtime's own init process already uses.
    b.config["linux"]["resources"]["memory"] = json!({"limit": 4096});
    assert_create_fails_cleanly(&b);
}

#[test]
fn cwd_that_is_a_file_fails_create_cleanly() {
    let mut b = Bundle::new("cwdfile");
    b.config["process"]["cwd"] = json!("/etc/passwd");
    assert_create_fails_cleanly(&b);
}

#[test]
fn unnamespaced_sysctl_fails_create_cleanly() {
    let mut b = Bundle::new("sysctlhost");
    // Not namespaced: applying it would change the host.
    b.config["linux"]["sysctl"] = json!({"kernel.sysrq": "0"});
    assert_create_fails_cleanly(&b);
}

#[test]
fn failing_prestart_hook_fails_create_cleanly() {
    let mut b = Bundle::new("prestartfalse");
    b.config["hooks"] = json!({"prestart": [{"path": "/bin/false", "args": ["false"]}]});
    assert_create_fails_cleanly(&b);
}

/// The leftover check itself: a live container must show up in it, or the
/// tests above prove nothing.
#[test]
fn leftover_check_sees_a_live_container() {
    let mut b = Bundle::new("leftoverself");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.start().ok();
    let found = b.leftovers_of(b.id()).join("\n");
    for what in ["state dir", "cgroup", "process"] {
        assert!(
            found.contains(what),
            "the leftover check missed the live container's {what}:\n{found}"
        );
    }
    // Without the cgroup hint, through the mount namespace alone.
    let by_mounts = leftovers::find(b.root(), b.id(), "", b.dir()).join("\n");
    assert!(
        by_mounts.contains("process"),
        "a pivoted container process was not found by its mounts:\n{by_mounts}"
    );
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.assert_no_leftovers();
}
