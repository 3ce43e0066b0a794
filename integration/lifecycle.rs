//! The lifecycle (runtime.md "Lifecycle" and "Operations") and runc's CLI.

use crate::common::console::run_on_console;
use crate::common::{assert_mentions, Bundle};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn create_start_exit_delete_walks_through_the_states() {
    let mut b = Bundle::new("lifecycle");
    b.config["annotations"] = json!({"org.example.key": "value"});
    b.args(&["sleep", "2"]);
    b.create().ok();

    let state = b.state_json();
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], b.id());
    assert!(
        state["pid"].as_i64().unwrap_or(0) > 0,
        "pid not set: {state}"
    );
    assert_eq!(state["bundle"], b.bundle_dir().display().to_string());
    assert!(
        state["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{state}"
    );
    assert_eq!(state["annotations"]["org.example.key"], "value", "{state}");
    assert!(
        state["rootfs"]
            .as_str()
            .is_some_and(|r| r.ends_with("rootfs")),
        "{state}"
    );
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the init process {pid} is not alive"
    );

    b.start().ok();
    assert_eq!(b.status(), "running");
    b.wait_for_status("stopped", WAIT);

    b.delete().ok();
    b.state().failed();
    b.assert_no_leftovers();
}

/// bundles/busybox/config.json, the example `make demo` runs, as committed.
#[test]
fn the_example_bundle_config_runs() {
    let mut b = Bundle::new("example");
    let path = crate::common::products::repo().join("bundles/busybox/config.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.config = serde_json::from_str(&text).expect("the example config is JSON");
    // The harness's cgroup, so that leftovers are looked for where they would be.
    b.config["linux"]["cgroupsPath"] = json!(b.cgroups_path());
    let out = b.run(&[]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout.trim(),
        "Hello from a runr container: runr, pid 1, uid 0",
        "{out}"
    );
    b.assert_no_leftovers();
}

#[test]
fn run_propagates_the_exit_code() {
    let mut b = Bundle::new("exitcode");
    b.sh("exit 42");
    let out = b.run(&[]);
    assert_eq!(out.code, Some(42), "{out}");
    b.assert_no_leftovers();
}

#[test]
fn run_reports_128_plus_signal_when_killed() {
    let mut b = Bundle::new("exitsignal");
    b.args(&["sleep", "60"]);
    // SIGKILL from outside: a pid-1 process ignores other signals it has no handler for.
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| b.run(&[]));
        let start = Instant::now();
        while b.rt_args(&["state", b.id()]).json_status() != "running" {
            assert!(start.elapsed() < WAIT, "the container never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        b.kill("KILL").ok();
        run.join().unwrap()
    });
    assert_eq!(out.code, Some(128 + libc::SIGKILL), "{out}");
    b.assert_no_leftovers();
}

#[test]
fn run_detached_returns_while_the_container_runs() {
    let mut b = Bundle::new("detached");
    b.args(&["sleep", "60"]);
    b.write_config();
    b.track(b.id());
    let bundle = b.bundle_dir().display().to_string();
    let out = b
        .rt()
        .args(&["run", "-d", "--bundle", &bundle, b.id()])
        .timeout(Duration::from_secs(20))
        .run()
        .ok();
    assert!(
        out.elapsed < Duration::from_secs(15),
        "run -d waited for the container: {out}"
    );
    assert_eq!(b.status(), "running");
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
    b.assert_no_leftovers();
}

/// Kills a started container with `signal_args` (empty: the default) and
/// expects it to stop. The process traps TERM because a pid-1 process
/// without a handler ignores it.
fn assert_kill_stops(name: &str, signal_args: &[&str]) {
    let mut b = Bundle::new(name);
    b.sh("trap 'exit 143' TERM; while true; do sleep 0.1; done");
    b.create().ok();
    b.start().ok();
    std::thread::sleep(Duration::from_millis(200)); // let sh install its trap
    let mut args = vec!["kill", b.id()];
    args.extend_from_slice(signal_args);
    b.rt_args(&args).ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
}

#[test]
fn kill_accepts_signal_names_with_and_without_sig_prefix() {
    assert_kill_stops("killname", &["KILL"]);
    assert_kill_stops("killsigname", &["SIGKILL"]);
}

#[test]
fn kill_accepts_signal_numbers() {
    assert_kill_stops("killnum", &["9"]);
}

#[test]
fn kill_sends_term_by_default() {
    assert_kill_stops("killdefault", &[]);
}

#[test]
fn kill_rejects_an_unknown_signal() {
    let mut b = Bundle::new("killbad");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.kill("NOSUCHSIG").failed();
    assert_eq!(b.status(), "created");
}

#[test]
fn kill_with_a_signal_the_process_catches_does_not_stop_it() {
    let mut b = Bundle::new("killusr1");
    b.sh("trap 'echo usr1 > /tmp/got-usr1' USR1; while true; do sleep 0.1; done");
    b.config["root"]["readonly"] = json!(false);
    b.create().ok();
    b.start().ok();
    std::thread::sleep(Duration::from_millis(300)); // let sh install its trap
    b.kill("USR1").ok();
    let marker = b.rootfs().join("tmp/got-usr1");
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        marker.exists(),
        "the container process did not receive SIGUSR1"
    );
    assert_eq!(b.status(), "running");
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
}

#[test]
fn kill_of_a_stopped_container_fails_and_changes_nothing() {
    let mut b = Bundle::new("killstopped");
    b.args(&["true"]);
    b.create().ok();
    b.start().ok();
    b.wait_for_status("stopped", WAIT);
    let before = b.state_json();
    b.kill("KILL").failed();
    let after = b.state_json();
    assert_eq!(
        before, after,
        "kill changed the state of a stopped container"
    );
    b.delete().ok();
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let mut b = Bundle::new("deleterunning");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.start().ok();
    let out = b.delete().failed();
    assert_mentions(&out, &["running", "not stopped", "force"]);
    assert_eq!(
        b.status(),
        "running",
        "a failed delete changed the container"
    );
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.state().failed();
    b.assert_no_leftovers();
}

#[test]
fn kill_of_a_created_container_stops_it() {
    let mut b = Bundle::new("killcreated");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
    b.assert_no_leftovers();
}

#[test]
fn delete_of_a_created_container_succeeds_as_in_runc() {
    // runc kills the waiting init and deletes; runr follows runc here.
    let mut b = Bundle::new("deletecreatednoforce");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.delete().ok();
    b.state().failed();
    b.assert_no_leftovers();
}

#[test]
fn start_of_a_running_container_fails() {
    let mut b = Bundle::new("starttwice");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.start().ok();
    b.start().failed();
    assert_eq!(b.status(), "running");
}

#[test]
fn delete_force_removes_a_created_container() {
    let mut b = Bundle::new("deletecreated");
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.state().failed();
    b.assert_no_leftovers();
}

#[test]
fn start_after_init_died_fails_promptly() {
    let mut b = Bundle::new("startdead");
    b.args(&["sleep", "60"]);
    b.create().ok();
    let pid = b.state_json()["pid"].as_i64().unwrap() as i32;
    // The init process of the container this test created.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let out = b
        .rt()
        .args(&["start", b.id()])
        .timeout(Duration::from_secs(10))
        .run();
    assert!(
        !out.success(),
        "start of a container whose init died succeeded:\n{out}"
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "start took {:?} to notice the dead init",
        out.elapsed
    );
    b.rt_args(&["delete", "--force", b.id()]).ok();
    b.assert_no_leftovers();
}

#[test]
fn list_shows_containers_in_table_quiet_and_json_forms() {
    let mut b = Bundle::new("list");
    b.args(&["sleep", "60"]);
    b.create().ok();
    let table = b.rt_args(&["list"]).ok();
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(b.id()))
        .unwrap_or_else(|| panic!("no row for {}:\n{table}", b.id()));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[2], "created", "{table}");
    assert_eq!(cols[3], b.bundle_dir().display().to_string(), "{table}");

    let quiet = b.rt_args(&["list", "-q"]).ok();
    assert_eq!(quiet.stdout.trim(), b.id(), "{quiet}");

    let json = b.rt_args(&["list", "--format", "json"]).ok().json();
    let entry = &json.as_array().expect("list --format json is an array")[0];
    assert_eq!(entry["id"], b.id());
    assert_eq!(entry["status"], "created");
    assert!(entry["pid"].as_i64().unwrap_or(0) > 0, "{entry}");
    assert_eq!(entry["bundle"], b.bundle_dir().display().to_string());
}

#[test]
fn list_of_an_empty_root_prints_only_the_header() {
    let b = Bundle::new("listempty");
    let out = b.rt_args(&["list"]).ok();
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    let json = b.rt_args(&["list", "--format", "json"]).ok();
    let v: serde_json::Value =
        serde_json::from_str(json.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        v.is_null() || v.as_array().is_some_and(|a| a.is_empty()),
        "{json}"
    );
}

#[test]
fn options_may_follow_the_container_id() {
    let mut b = Bundle::new("optsafter");
    b.args(&["sleep", "60"]);
    b.write_config();
    b.track(b.id());
    let other = b.dir().to_path_buf();
    let bundle = b.bundle_dir().display().to_string();
    // From another cwd, so the --bundle after the id must be honoured.
    b.rt()
        .args(&["create", b.id(), "--bundle", &bundle])
        .cwd(&other)
        .run()
        .ok();
    assert_eq!(b.state_json()["bundle"], bundle);
    b.rt_args(&["start", b.id()]).ok();
    b.rt_args(&["delete", b.id(), "--force"]).ok();
    b.state().failed();
}

#[test]
fn pid_file_holds_only_digits_and_relative_paths_follow_the_cwd() {
    let mut b = Bundle::new("pidfile");
    b.args(&["sleep", "60"]);
    b.write_config();
    b.track(b.id());
    let cwd = b.dir().to_path_buf();
    // A relative bundle too.
    b.rt()
        .args(&[
            "create",
            "--bundle",
            "bundle",
            "--pid-file",
            "init.pid",
            b.id(),
        ])
        .cwd(&cwd)
        .run()
        .ok();
    let text = std::fs::read_to_string(cwd.join("init.pid"))
        .expect("the pid file is relative to the caller's cwd");
    assert!(
        !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()),
        "pid file is {text:?}"
    );
    assert_eq!(
        text.parse::<i64>().unwrap(),
        b.state_json()["pid"].as_i64().unwrap()
    );
    assert_eq!(
        b.state_json()["bundle"],
        b.bundle_dir().display().to_string(),
        "relative --bundle not made absolute"
    );
}

#[test]
fn console_socket_receives_the_pty_master() {
    let mut b = Bundle::new("console");
    b.config["process"]["terminal"] = json!(true);
    b.sh("echo hello-from-tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty; [ -c /dev/console ] && echo console-is-a-chardev");
    let text = run_on_console(&b, WAIT);
    assert!(text.contains("hello-from-tty"), "got {text:?} from the pty");
    assert!(
        text.contains("stdio-is-a-tty"),
        "the process's stdio is not the pty: {text:?}"
    );
    b.wait_for_status("stopped", WAIT);
}

#[test]
fn without_terminal_the_container_uses_the_callers_stdio() {
    let mut b = Bundle::new("stdio");
    b.sh("read line; echo \"out:$line\"; echo err-line >&2");
    let input = b.dir().join("stdin.txt");
    std::fs::write(&input, "from-stdin\n").unwrap();
    b.write_config();
    b.track(b.id());
    let bundle = b.bundle_dir().display().to_string();
    let out = b
        .rt()
        .args(&["run", "--bundle", &bundle, b.id()])
        .stdin(Stdio::from(std::fs::File::open(&input).unwrap()))
        .run()
        .ok();
    assert!(out.stdout.contains("out:from-stdin"), "{out}");
    assert!(out.stderr.contains("err-line"), "{out}");
}

#[test]
fn log_file_gets_json_lines_on_error() {
    let b = Bundle::new("logjson");
    let log = b.dir().join("runtime.log");
    let log_s = log.display().to_string();
    let out = b
        .rt()
        .global(&["--log", &log_s, "--log-format", "json"])
        .args(&["state", "no-such-container"])
        .run()
        .failed();
    let text =
        std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("no log file {log_s}: {e}\n{out}"));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?} is not JSON: {e}"))
        })
        .collect();
    let error = lines
        .iter()
        .find(|l| l["level"] == "error")
        .unwrap_or_else(|| panic!("no error line in {text:?}"));
    assert!(
        error["msg"]
            .as_str()
            .is_some_and(|m| m.contains("not exist") || m.contains("not found")),
        "{error}"
    );
    assert!(error["time"].is_string(), "{error}");
}

#[test]
fn spec_writes_a_config_that_run_accepts() {
    let b = Bundle::new("spec");
    std::fs::remove_file(b.bundle_dir().join("config.json")).unwrap();
    b.rt().args(&["spec"]).cwd(b.bundle_dir()).run().ok();
    let text = std::fs::read_to_string(b.bundle_dir().join("config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Only what a non-interactive test must change.
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["true"]);
    std::fs::write(b.bundle_dir().join("config.json"), config.to_string()).unwrap();
    b.track(b.id());
    let bundle = b.bundle_dir().display().to_string();
    b.rt_args(&["run", "--bundle", &bundle, b.id()]).ok();
    // Without linux.cgroupsPath the runtime picks a path; it must be gone too.
    let leaked: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join(b.id()))
        .filter(|p| p.exists())
        .collect();
    assert!(leaked.is_empty(), "cgroups left after run: {leaked:?}");
}

#[test]
fn spec_refuses_to_overwrite_a_config() {
    let b = Bundle::new("specexists");
    let out = b.rt().args(&["spec"]).cwd(b.bundle_dir()).run().failed();
    assert_mentions(&out, &["exist"]);
}

#[test]
fn features_prints_valid_json() {
    let b = Bundle::new("features");
    let v = b.rt_args(&["features"]).ok().json();
    assert!(
        v["ociVersionMin"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(
        v["ociVersionMax"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(
        v["hooks"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x == "prestart")),
        "{v}"
    );
}

#[test]
fn version_flags_print_the_version_and_spec() {
    let b = Bundle::new("version");
    for flag in ["-v", "--version"] {
        let out = b.rt_args(&[flag]).ok();
        assert!(out.stdout.contains("version"), "{out}");
        assert!(
            out.stdout.lines().any(|l| l.starts_with("spec: 1.")),
            "{out}"
        );
    }
}
