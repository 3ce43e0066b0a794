//! Where behaviour is runc's: the same bundle run by runc and by the runtime
//! under test, compared (state fields, list columns, exit codes). Skipped
//! when the runtime under test is runc itself, or runc is not installed.

use crate::common::{runtime_is_runc, Bundle, Output};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const RUNC: &str = "/usr/sbin/runc";

fn skip() -> bool {
    if runtime_is_runc() {
        eprintln!("SKIP: the runtime under test is runc");
        return true;
    }
    if !Path::new(RUNC).exists() {
        eprintln!("SKIP: {RUNC} not installed");
        return true;
    }
    false
}

/// Two bundles with the same config: one for the runtime under test, one for runc.
fn pair(name: &str, args: &[&str]) -> (Bundle, Bundle) {
    let mut ours = Bundle::new(name);
    ours.args(args);
    let mut theirs = Bundle::with_runtime(&format!("{name}runc"), Path::new(RUNC));
    let cgroups = theirs.cgroups_path().to_string();
    theirs.config = ours.config.clone();
    theirs.config["linux"]["cgroupsPath"] = Value::from(cgroups);
    (ours, theirs)
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

#[test]
fn state_has_the_same_fields_as_runc() {
    if skip() {
        return;
    }
    let (ours, theirs) = pair("cmpstate", &["sleep", "60"]);
    for b in [&ours, &theirs] {
        b.create().ok();
    }
    let (a, b) = (ours.state_json(), theirs.state_json());
    assert_eq!(
        keys(&a),
        keys(&b),
        "state fields differ:\nours: {a}\nrunc: {b}"
    );
    for k in keys(&a) {
        assert_eq!(
            std::mem::discriminant(&a[&k]),
            std::mem::discriminant(&b[&k]),
            "type of {k} differs: {a} vs {b}"
        );
    }
    for b in [&ours, &theirs] {
        b.start().ok();
    }
    assert_eq!(keys(&ours.state_json()), keys(&theirs.state_json()));
    for b in [&ours, &theirs] {
        b.kill("KILL").ok();
        b.wait_for_status("stopped", Duration::from_secs(20));
    }
    let (a, b) = (ours.state_json(), theirs.state_json());
    assert_eq!(
        keys(&a),
        keys(&b),
        "stopped state fields differ:\nours: {a}\nrunc: {b}"
    );
    assert_eq!(
        a["pid"], b["pid"],
        "pid of a stopped container differs (runc: 0)"
    );
}

#[test]
fn list_columns_match_runc() {
    if skip() {
        return;
    }
    let (ours, theirs) = pair("cmplist", &["sleep", "60"]);
    let header = |b: &Bundle| {
        b.create().ok();
        let out = b.rt_args(&["list"]).ok();
        let lines: Vec<Vec<String>> = out
            .stdout
            .lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect();
        lines
    };
    let (a, b) = (header(&ours), header(&theirs));
    assert_eq!(a[0], b[0], "list headers differ");
    assert_eq!(
        a[1].len(),
        b[1].len(),
        "list rows have different column counts: {a:?} vs {b:?}"
    );
    assert_eq!(a[1][2], b[1][2], "status column differs");
    let json = |b: &Bundle| keys(&b.rt_args(&["list", "--format", "json"]).ok().json()[0]);
    assert_eq!(
        json(&ours),
        json(&theirs),
        "list --format json fields differ"
    );
}

fn codes(b: &Bundle) -> Vec<(String, Option<i32>)> {
    let mut out: Vec<(String, Option<i32>)> = Vec::new();
    let mut rec = |what: &str, o: Output| out.push((what.to_string(), o.code));
    rec(
        "state of a missing container",
        b.rt_args(&["state", "nope"]),
    );
    rec("run exit 7", b.run(&[]));
    rec("delete after run", b.rt_args(&["delete", b.id()]));
    out
}

#[test]
fn exit_codes_match_runc() {
    if skip() {
        return;
    }
    let (ours, theirs) = pair("cmpcodes", &["sh", "-c", "exit 7"]);
    assert_eq!(codes(&ours), codes(&theirs));

    let (ours, theirs) = pair("cmpcodes2", &["sleep", "60"]);
    let running = |b: &Bundle| {
        b.create().ok();
        b.start().ok();
        let mut v = vec![("delete running".to_string(), b.delete().code)];
        b.kill("KILL").ok();
        b.wait_for_status("stopped", Duration::from_secs(20));
        v.push(("kill stopped".to_string(), b.kill("KILL").code));
        v.push(("start stopped".to_string(), b.start().code));
        v.push(("delete stopped".to_string(), b.delete().code));
        v
    };
    assert_eq!(running(&ours), running(&theirs));
}
