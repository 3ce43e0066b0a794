//! process.scheduler, process.ioPriority, linux.personality and
//! linux.memoryPolicy: applied (the checker reads them back from inside,
//! for the init and for `exec`), or refused at create with a clear error.

use crate::common::{assert_mentions, skip_if_runc, Bundle};
use serde_json::json;

const BEYOND_RUNC: &str = "runc 1.1.5 has no scheduler, ioPriority, personality or memoryPolicy";

#[test]
fn scheduler_batch_with_nice_and_reset_on_fork_is_applied() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let mut b = Bundle::new("schedbatch");
    b.config["process"]["scheduler"] =
        json!({"policy": "SCHED_BATCH", "nice": 7, "flags": ["SCHED_RESET_ON_FORK"]});
    b.run_checker();
}

#[test]
fn scheduler_fifo_is_applied_with_realtime_bandwidth() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let mut b = Bundle::new("schedfifo");
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 10});
    // Under cgroup v1 with RT group scheduling a new cgroup has no RT time.
    b.config["linux"]["resources"]["cpu"] =
        json!({"realtimeRuntime": 10000, "realtimePeriod": 1000000});
    b.run_checker();
}

#[test]
fn scheduler_deadline_is_applied() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let mut b = Bundle::new("scheddl");
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_DEADLINE",
        "runtime": 1000000, "deadline": 10000000, "period": 10000000});
    b.run_checker();
}

#[test]
fn io_priority_is_applied() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    for (class, prio) in [
        ("IOPRIO_CLASS_BE", 5),
        ("IOPRIO_CLASS_IDLE", 0),
        ("IOPRIO_CLASS_RT", 3),
    ] {
        let mut b = Bundle::new("ioprio");
        b.config["process"]["ioPriority"] = json!({"class": class, "priority": prio});
        b.run_checker();
    }
}

#[test]
fn linux32_personality_shows_i686() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let mut b = Bundle::new("linux32");
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    b.run_checker();
}

#[test]
fn memory_policy_is_applied() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    for policy in [
        json!({"mode": "MPOL_BIND", "nodes": "0"}),
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
        json!({"mode": "MPOL_LOCAL"}),
    ] {
        let mut b = Bundle::new("mempolicy");
        b.config["linux"]["memoryPolicy"] = policy;
        b.run_checker();
    }
}

#[test]
fn exec_gets_its_scheduler_io_priority_and_the_containers_personality() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let mut b = Bundle::new("execattrs");
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.start().ok();
    let mut p = b.config["process"].clone();
    p["args"] = json!(["/runr-checker", "/runr-checker.json"]);
    p["scheduler"] = json!({"policy": "SCHED_IDLE"});
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 2});
    let mut expected = b.config.clone();
    expected["process"] = p.clone();
    std::fs::write(
        b.rootfs().join("runr-checker.json"),
        serde_json::to_string(&expected).unwrap(),
    )
    .unwrap();
    let pfile = b.dir().join("process.json");
    std::fs::write(&pfile, serde_json::to_string(&p).unwrap()).unwrap();
    let out = b
        .rt_args(&["exec", "--process", &pfile.display().to_string(), b.id()])
        .ok();
    assert!(
        out.stdout.contains("ok") && !out.stdout.contains("not ok"),
        "{out}"
    );
    b.kill("KILL");
}

#[test]
fn bad_values_are_refused_at_create() {
    if skip_if_runc(BEYOND_RUNC) {
        return;
    }
    let cases = [
        (
            "process",
            "scheduler",
            json!({"policy": "SCHED_FIFO", "priority": 0}),
            "priority",
        ),
        (
            "process",
            "scheduler",
            json!({"policy": "SCHED_OTHER", "nice": 40}),
            "nice",
        ),
        (
            "process",
            "scheduler",
            json!({"policy": "SCHED_ISO"}),
            "SCHED_ISO",
        ),
        (
            "process",
            "ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 9}),
            "ioPriority",
        ),
        (
            "linux",
            "personality",
            json!({"domain": "LINUX", "flags": ["X"]}),
            "personality",
        ),
        (
            "linux",
            "memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "1-0"}),
            "memoryPolicy",
        ),
        (
            "linux",
            "memoryPolicy",
            json!({"mode": "MPOL_BIND"}),
            "nodes",
        ),
    ];
    for (section, field, value, word) in cases {
        let mut b = Bundle::new("badattr");
        b.args(&["true"]);
        b.config[section][field] = value.clone();
        let out = b.create().failed();
        assert_mentions(&out, &[word]);
        b.assert_no_leftovers();
    }
}

fn host_has_apparmor() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

#[test]
fn apparmor_selinux_and_intel_rdt_are_refused_where_the_host_lacks_them() {
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    let resctrl = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" - resctrl ");
    let mut cases = vec![];
    if !host_has_apparmor() {
        cases.push((
            "process",
            "apparmorProfile",
            json!("runr-test-profile"),
            "apparmor",
        ));
    }
    if !selinux {
        cases.push((
            "process",
            "selinuxLabel",
            json!("system_u:system_r:container_t:s0"),
            "selinux",
        ));
        cases.push((
            "linux",
            "mountLabel",
            json!("system_u:object_r:container_file_t:s0"),
            "context",
        ));
    }
    if !resctrl {
        cases.push((
            "linux",
            "intelRdt",
            json!({"l3CacheSchema": "L3:0=f"}),
            "intelRdt",
        ));
        if !crate::common::runtime_is_runc() {
            // runc 1.1.5 ignores a bare closID without resctrl.
            cases.push((
                "linux",
                "intelRdt",
                json!({"closID": "runr-test"}),
                "resctrl",
            ));
        }
    }
    for (section, field, value, word) in cases {
        let mut b = Bundle::new("nolsm");
        b.args(&["true"]);
        b.config[section][field] = value;
        let out = b.create().failed();
        // runc fails a mountLabel at the first labelled mount ("context=...").
        assert_mentions(&out, &[word, field]);
        b.assert_no_leftovers();
    }
}
