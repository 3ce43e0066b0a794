//! Bad input: a non-zero exit, an error that names the problem (matched on
//! key words, so runc's and runr's wording both pass) and no leftovers.

use crate::common::{assert_mentions, skip_if_runc, Bundle};
use serde_json::json;

#[test]
fn malformed_config_json_is_rejected() {
    let b = Bundle::new("badjson");
    b.write_config();
    std::fs::write(
        b.bundle_dir().join("config.json"),
        "{ \"ociVersion\": \"1.0.2\", not json",
    )
    .unwrap();
    b.track(b.id());
    let bundle = b.bundle_dir().display().to_string();
    let out = b.rt_args(&["create", "--bundle", &bundle, b.id()]).failed();
    assert_mentions(
        &out,
        &["json", "config", "parse", "invalid", "syntax", "character"],
    );
    b.assert_no_leftovers();
}

#[test]
fn missing_config_json_is_rejected() {
    let b = Bundle::new("noconfig");
    b.track(b.id());
    std::fs::remove_file(b.bundle_dir().join("config.json")).unwrap();
    let bundle = b.bundle_dir().display().to_string();
    let out = b.rt_args(&["create", "--bundle", &bundle, b.id()]).failed();
    assert_mentions(&out, &["config.json", "no such file", "not found", "exist"]);
    b.assert_no_leftovers();
}

#[test]
fn missing_rootfs_is_rejected() {
    let b = Bundle::new("norootfs");
    std::fs::remove_dir_all(b.rootfs()).unwrap();
    let out = b.create().failed();
    assert_mentions(&out, &["rootfs", "no such file", "not found", "exist"]);
    b.assert_no_leftovers();
}

#[test]
fn bad_container_ids_are_rejected() {
    let mut b = Bundle::new("badids");
    b.args(&["true"]);
    for id in ["../x", "a/b", "", "..", "."] {
        let out = b.create_id(id).failed();
        assert_mentions(&out, &["invalid", "id", "empty"]);
    }
    // Nothing escaped --root.
    assert!(
        !b.dir().join("x").exists(),
        "`../x` created a directory outside --root"
    );
    let list = b.rt_args(&["list", "-q"]).ok();
    assert!(list.stdout.trim().is_empty(), "{list}");
}

#[test]
fn duplicate_container_id_is_rejected() {
    let mut b = Bundle::new("dupid");
    b.args(&["sleep", "60"]);
    b.create().ok();
    let pid = b.state_json()["pid"].clone();
    let out = b.create().failed();
    assert_mentions(&out, &["exist", "already", "in use"]);
    let state = b.state_json();
    assert_eq!(
        state["status"], "created",
        "the first container was disturbed: {state}"
    );
    assert_eq!(state["pid"], pid);
}

#[test]
fn nonexistent_hook_binary_fails_create() {
    let mut b = Bundle::new("nohook");
    b.config["hooks"] = json!({"prestart": [{"path": "/no/such/hook-binary"}]});
    let out = b.create().failed();
    assert_mentions(&out, &["no such file", "not found", "hook-binary", "exist"]);
    b.assert_no_leftovers();
}

#[test]
fn unknown_namespace_type_is_rejected() {
    let mut b = Bundle::new("badns");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bogusns"}));
    let out = b.create().failed();
    assert_mentions(&out, &["namespace", "bogusns", "unknown", "invalid"]);
    b.assert_no_leftovers();
}

#[test]
fn oci_version_2_is_rejected() {
    if skip_if_runc("runc 1.1.5 does not check ociVersion") {
        return;
    }
    let mut b = Bundle::new("ociv2");
    b.config["ociVersion"] = json!("2.0.0");
    let out = b.create().failed();
    assert_mentions(&out, &["version", "2.0.0", "unsupported"]);
    b.assert_no_leftovers();
}

#[test]
fn unknown_json_properties_are_ignored() {
    let mut b = Bundle::new("unknownprops");
    b.config["org.example.vendor"] = json!({"anything": [1, 2, 3]});
    b.config["process"]["unknownProcessField"] = json!(true);
    b.config["linux"]["unknownLinuxField"] = json!("x");
    b.config["mounts"][0]["unknownMountField"] = json!(1);
    b.run_checker();
}

#[test]
fn empty_process_args_are_rejected() {
    let mut b = Bundle::new("noargs");
    b.config["process"]["args"] = json!([]);
    let out = b.create().failed();
    assert_mentions(&out, &["args", "empty", "process"]);
    b.assert_no_leftovers();
}

#[test]
fn operations_on_a_missing_container_fail() {
    let b = Bundle::new("missing");
    for args in [
        &["state", "nope"][..],
        &["start", "nope"],
        &["kill", "nope", "KILL"],
        &["delete", "nope"],
    ] {
        let out = b.rt_args(args).failed();
        assert_mentions(&out, &["not exist", "not found", "no such"]);
    }
}

#[test]
fn terminal_without_console_socket_is_rejected() {
    let mut b = Bundle::new("ttynosock");
    b.config["process"]["terminal"] = json!(true);
    b.args(&["true"]);
    let out = b.create().failed();
    assert_mentions(&out, &["console", "socket", "tty", "terminal"]);
    b.assert_no_leftovers();
}

/// Creates with `edit` applied and expects a failure naming one of `words`, and no leftovers.
fn refused(name: &str, edit: impl FnOnce(&mut serde_json::Value), words: &[&str]) {
    let mut b = Bundle::new(name);
    b.args(&["true"]);
    edit(&mut b.config);
    let out = b.create().failed();
    assert_mentions(&out, words);
    b.assert_no_leftovers();
}

#[test]
fn seccomp_unknown_action_is_rejected() {
    refused(
        "scbadact",
        |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_BOGUS"}),
        &["SCMP_ACT_BOGUS"],
    );
}

#[test]
fn seccomp_unknown_operator_is_rejected() {
    refused(
        "scbadop",
        |c| {
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]})
        },
        &["SCMP_CMP_BOGUS"],
    );
}

#[test]
fn seccomp_unknown_architecture_is_rejected() {
    refused(
        "scbadarch",
        |c| {
            c["linux"]["seccomp"] =
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]})
        },
        &["SCMP_ARCH_BOGUS"],
    );
}

#[test]
fn seccomp_unknown_syscall_is_rejected() {
    if skip_if_runc("runc 1.1.5 skips syscall names libseccomp does not know") {
        return;
    }
    refused(
        "scbadsys",
        |c| {
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["no_such_syscall_x"], "action": "SCMP_ACT_ERRNO"}]})
        },
        &["no_such_syscall_x"],
    );
}

#[test]
fn unknown_capability_name_is_rejected() {
    if skip_if_runc("runc warns about unknown capability names and ignores them") {
        return;
    }
    refused(
        "capbogus",
        |c| {
            c["process"]["capabilities"]["effective"]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_BOGUS"))
        },
        &["CAP_BOGUS"],
    );
}

#[test]
fn capability_missing_from_the_bounding_set_is_rejected() {
    // Only meaningful where runr itself lacks a capability (CAP_SYS_RESOURCE on the test VM).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap();
    const CAP_SYS_RESOURCE: u32 = 24;
    if bnd & (1 << CAP_SYS_RESOURCE) != 0 {
        eprintln!("SKIP: CAP_SYS_RESOURCE is in the bounding set here");
        return;
    }
    refused(
        "capmissing",
        |c| {
            for set in ["effective", "permitted"] {
                c["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_SYS_RESOURCE"));
            }
        },
        &["CAP_SYS_RESOURCE", "operation not permitted"],
    );
}

#[test]
fn relative_masked_and_readonly_paths_are_rejected() {
    if skip_if_runc("runc 1.1.5 resolves relative masked paths from the container's /") {
        return;
    }
    refused(
        "maskrel",
        |c| c["linux"]["maskedPaths"] = json!(["../../etc"]),
        &["maskedPaths", "../../etc"],
    );
    refused(
        "rorel",
        |c| c["linux"]["readonlyPaths"] = json!(["/proc/../../etc"]),
        &["readonlyPaths", "../../etc"],
    );
}

#[test]
fn masked_and_readonly_paths_through_escaping_symlinks_are_rejected() {
    if skip_if_runc("runc 1.1.5 follows the symlink, clamped to the container's root") {
        return;
    }
    for (field, path) in [("maskedPaths", "/esc/passwd"), ("readonlyPaths", "/esc")] {
        let mut b = Bundle::new("maskesc");
        b.args(&["true"]);
        std::os::unix::fs::symlink("../../../../../../etc", b.rootfs().join("esc")).unwrap();
        b.config["linux"][field] = json!([path]);
        let out = b.create().failed();
        assert_mentions(&out, &["outside"]);
        assert_mentions(&out, &[field]);
        b.assert_no_leftovers();
    }
}
