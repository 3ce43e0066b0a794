//! runr's ps, pause/resume, update, events and kill --all against real
//! containers: a busybox bundle, a private --root, the host's cgroups.

mod harness;
mod runc_edges;

use std::time::Duration;

use harness::Container;

#[test]
fn ps_json_lists_every_pid_of_the_cgroup() {
    let c = Container::run("ps-json", &["sh", "-c", "sleep 300 & sleep 300"], None);
    let out = c.wait_pids(2);
    assert_eq!(out.len(), 2, "pids: {out:?}");
    assert!(out.contains(&c.pid()), "init {} not in {out:?}", c.pid());
}

#[test]
fn ps_table_keeps_the_header_and_the_container_lines_only() {
    let c = Container::run("ps-table", &["sh", "-c", "sleep 301 & sleep 301"], None);
    c.wait_pids(2);
    let out = c.ok(&["ps", &c.id]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("PID") && lines[0].contains("CMD"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1..].iter().all(|l| l.contains("sleep 301")), "{out}");
    let custom = c.ok(&["ps", &c.id, "-o", "pid,comm"]);
    assert!(
        custom.starts_with("  PID COMMAND") || custom.contains("PID COMMAND"),
        "{custom}"
    );
    assert_eq!(custom.lines().count(), 3, "{custom}");
}

#[test]
fn pause_freezes_the_container_and_resume_thaws_it() {
    let c = Container::run("pause", &["sleep", "300"], None);
    let err = c.fail(&["resume", &c.id]);
    assert!(err.contains("container not paused"), "{err}");
    c.ok(&["pause", &c.id]);
    assert_eq!(c.status(), "paused");
    let st = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap();
    assert!(st.contains("State:\tD") || st.contains("State:\tS"), "{st}");
    let err = c.fail(&["pause", &c.id]);
    assert!(err.contains("container not running"), "{err}");
    c.ok(&["resume", &c.id]);
    assert_eq!(c.status(), "running");
}

#[test]
fn pause_and_resume_refuse_a_stopped_container() {
    let c = Container::run("pause-stopped", &["true"], None);
    c.wait_stopped();
    assert!(c.fail(&["pause", &c.id]).contains("container not running"));
    assert!(c.fail(&["resume", &c.id]).contains("container not paused"));
}

#[test]
fn update_flags_change_the_cgroup_and_the_saved_resources() {
    let res = r#"{"memory":{"limit":67108864},"pids":{"limit":50},"cpu":{"shares":512}}"#;
    let c = Container::run("update-flags", &["sleep", "300"], Some(res));
    c.ok(&[
        "update",
        "--memory",
        "100m",
        "--pids-limit",
        "20",
        "--cpu-quota",
        "50000",
        "--cpu-period",
        "100000",
        &c.id,
    ]);
    assert_eq!(
        c.cgroup_file("memory", "memory.limit_in_bytes"),
        "104857600"
    );
    assert_eq!(c.cgroup_file("pids", "pids.max"), "20");
    assert_eq!(c.cgroup_file("cpu", "cpu.cfs_quota_us"), "50000");
    // What was not named stays as it was.
    assert_eq!(c.cgroup_file("cpu", "cpu.shares"), "512");
    let saved = c.saved_resources();
    assert_eq!(saved["memory"]["limit"], 104857600);
    assert_eq!(saved["pids"]["limit"], 20);
    assert_eq!(saved["cpu"]["shares"], 512);
    c.ok(&["update", "--memory", "-1", "--memory-swap", "-1", &c.id]);
    assert_eq!(c.saved_resources()["memory"]["limit"], -1);
}

#[test]
fn update_reads_resources_as_json_from_stdin_and_from_a_file() {
    let c = Container::run("update-json", &["sleep", "300"], None);
    c.ok_stdin(
        &["update", "--resources", "-", &c.id],
        r#"{"pids":{"limit":33},"memory":{"limit":50331648}}"#,
    );
    assert_eq!(c.cgroup_file("pids", "pids.max"), "33");
    assert_eq!(c.cgroup_file("memory", "memory.limit_in_bytes"), "50331648");
    let file = c.root.join("res.json");
    std::fs::write(&file, r#"{"pids":{"limit":44}}"#).unwrap();
    c.ok(&["update", &format!("--resources={}", file.display()), &c.id]);
    assert_eq!(c.cgroup_file("pids", "pids.max"), "44");
    assert_eq!(c.saved_resources()["memory"]["limit"], 50331648);
}

#[test]
fn events_stats_prints_one_stats_event() {
    let res = r#"{"pids":{"limit":40}}"#;
    let c = Container::run(
        "events-stats",
        &["sh", "-c", "sleep 300 & sleep 300"],
        Some(res),
    );
    c.wait_pids(2);
    let out = c.ok(&["events", "--stats", &c.id]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let ev: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], c.id.as_str());
    assert_eq!(ev["data"]["pids"]["current"], 2, "{ev}");
    assert_eq!(ev["data"]["pids"]["limit"], 40, "{ev}");
    assert!(
        ev["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{ev}"
    );
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{ev}"
    );
}

#[test]
fn events_streams_stats_and_an_oom_then_ends_with_the_container() {
    let res = r#"{"memory":{"limit":16777216,"swap":16777216}}"#;
    // tail buffers /dev/zero (no newline) until the OOM killer takes it.
    let script = "sleep 1; tail /dev/zero; sleep 2";
    let c = Container::run("events-oom", &["sh", "-c", script], Some(res));
    let out = c.ok_timeout(
        &["events", "--interval", "1s", &c.id],
        Duration::from_secs(30),
    );
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["type"] == "oom"), "{out}");
    assert!(events.iter().any(|e| e["type"] == "stats"), "{out}");
    assert!(events.iter().all(|e| e["id"] == c.id.as_str()), "{out}");
}

#[test]
fn events_refuses_a_stopped_container() {
    let c = Container::run("events-stopped", &["true"], None);
    c.wait_stopped();
    assert!(c
        .fail(&["events", "--stats", &c.id])
        .contains("is not running"));
}

#[test]
fn kill_all_signals_every_process_of_the_container() {
    // The init ignores TERM; its child does not.
    let c = Container::run(
        "kill-all",
        &["sh", "-c", "trap '' TERM; sleep 302 & wait; sleep 302"],
        None,
    );
    let pids = c.wait_pids(2);
    c.ok(&["kill", "--all", &c.id, "KILL"]);
    c.wait_stopped();
    for p in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{p}")).exists()
                || std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .map(|s| s.contains(") Z"))
                    .unwrap_or(true),
            "pid {p} survived kill --all"
        );
    }
    let err = c.fail(&["kill", &c.id, "TERM"]);
    assert!(err.contains("container not running"), "{err}");
}

#[test]
fn kill_all_on_a_stopped_container_succeeds_as_with_runc() {
    let c = Container::run("kill-all-stopped", &["true"], None);
    c.wait_stopped();
    c.ok(&["kill", "--all", &c.id, "KILL"]);
}

#[test]
fn delete_then_delete_force_exits_zero_as_containerd_expects() {
    // containerd's shim: global flags before the verb, then delete, then
    // delete --force on a container already gone.
    let c = Container::run("delete-twice", &["true"], None);
    c.wait_stopped();
    let log = c.root.join("log.json");
    let log = log.to_str().unwrap();
    c.ok(&["--log", log, "--log-format", "json", "delete", &c.id]);
    c.ok(&[
        "--log",
        log,
        "--log-format",
        "json",
        "delete",
        "--force",
        &c.id,
    ]);
    let err = c.fail(&["--log", log, "--log-format", "json", "delete", &c.id]);
    assert!(err.contains("does not exist"), "{err}");
}
