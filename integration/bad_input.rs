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
