//! A runtime killed at any point leaves nothing `delete --force` cannot
//! remove: `create`, `run -d` and `delete` are SIGKILLed at many points
//! (the Nth call of each syscall they make, through strace's fault
//! injection, and after random delays), then `delete --force` must succeed
//! and no state dir, cgroup, mount or process of the container may remain.
//!
//! RUNR_CRASH_POINTS (default 110) is the number of injection points per
//! command; the test prints how many kills landed inside the command.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::runtime::runtime_bin;
use crate::common::{skip_if_runc, Bundle};

/// Where to kill the command.
#[derive(Clone, Debug)]
enum Point {
    /// At the `nth` call of `syscall`.
    Syscall(String, u32),
    /// After this long.
    Delay(Duration),
}

fn points_per_command() -> usize {
    std::env::var("RUNR_CRASH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(110)
}

/// runc leaks cgroups when killed between its cgroup mkdirs and the rename
/// of state.json, and has no creating.json: these tests are for runr.
fn crash_testable() -> bool {
    if skip_if_runc("runc 1.1.5 leaks cgroups when killed before state.json is written") {
        return false;
    }
    assert!(
        strace_available(),
        "strace is needed (make test-deps installs it)"
    );
    true
}

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `args` (runtime arguments), killed at `point`; true when the kill
/// landed (the runtime died of SIGKILL before it finished).
fn run_killed(b: &Bundle, args: &[&str], point: &Point) -> bool {
    let rt = runtime_bin();
    let root = b.root().display().to_string();
    let mut cmd = match point {
        Point::Syscall(name, n) => {
            let mut c = Command::new("strace");
            c.args(["-qq", "-o", "/dev/null", "-e"])
                .arg(format!("trace={name}"))
                .arg("-e")
                .arg(format!("inject={name}:signal=KILL:when={n}"))
                .arg(&rt);
            c
        }
        Point::Delay(_) => Command::new(&rt),
    };
    cmd.args(["--root", &root]).args(args);
    // The container inherits stdio: a pipe would never reach EOF.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawning the runtime");
    if let Point::Delay(d) = point {
        std::thread::sleep(*d);
        let _ = child.kill();
    }
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the runtime") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{args:?}` killed at {point:?} hung");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    status.signal() == Some(libc::SIGKILL)
}

/// The syscalls `args` makes and how often, from `strace -c`.
fn syscall_counts(b: &Bundle, args: &[&str]) -> Vec<(String, u32)> {
    let out = b.dir().join("strace-count");
    let status = Command::new("strace")
        .args(["-qq", "-c", "-o"])
        .arg(&out)
        .arg(runtime_bin())
        .args(["--root", &b.root().display().to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("running strace -c");
    assert!(status.success(), "`{args:?}` under strace -c failed");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f.last()?;
            f.first()?.parse::<f64>().ok()?;
            let calls = f.get(3)?.parse().ok()?;
            (*name != "total").then(|| (name.to_string(), calls))
        })
        .collect()
}

/// About `want` points spread over every call of every syscall; the rare
/// syscalls (clone, rename, sendmsg, mkdir...) each at all of their calls.
fn spread(counts: &[(String, u32)], want: usize) -> Vec<Point> {
    let all: Vec<(String, u32)> = counts
        .iter()
        .flat_map(|(s, c)| (1..=*c).map(move |n| (s.clone(), n)))
        .collect();
    let step = (all.len() / want.max(1)).max(1);
    all.iter()
        .enumerate()
        .filter(|(i, (s, _))| i % step == 0 || counts.iter().any(|(n, c)| n == s && *c <= 12))
        .map(|(_, (s, n))| Point::Syscall(s.clone(), *n))
        .collect()
}

/// Random delays within how long the command takes (xorshift, seeded from
/// the clock; the seed is printed to replay a failure).
fn delays(n: usize, span: Duration) -> Vec<Point> {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash delays: seed {x}");
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Point::Delay(span.mul_f64((x % 1000) as f64 / 1000.0))
        })
        .collect()
}

/// `delete --force` succeeds and the container left nothing.
#[track_caller]
fn assert_cleaned(b: &Bundle, what: &str) {
    let out = b.rt_args(&["delete", "--force", b.id()]);
    assert!(out.success(), "{what}: delete --force failed:\n{out}");
    let mut found = b.leftovers_of(b.id());
    found.extend(runtimes_of(b));
    assert!(
        found.is_empty(),
        "{what}: after delete --force, left behind:\n  {}",
        found.join("\n  ")
    );
}

/// Processes still running the runtime on this bundle's `--root` (a
/// container's init is a runtime process until it execs): an init that
/// outlived the killed runtime ends within moments, or it leaked.
fn runtimes_of(b: &Bundle) -> Vec<String> {
    let root = b.root().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut found = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&root) {
                found.push(format!("process {:?} ({cmd})", e.file_name()));
            }
        }
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn crash_bundle(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.args(&["sleep", "600"]);
    b.write_config();
    b.track(b.id());
    b
}

/// Kills `args` at every point; `before` sets the stage for each.
fn crash_at_points(b: &Bundle, args: &[&str], before: &dyn Fn(&Bundle)) -> (usize, usize) {
    before(b);
    let started = Instant::now();
    let counts = syscall_counts(b, args);
    let span = started.elapsed();
    assert_cleaned(b, "the counting run");
    let mut points = spread(&counts, points_per_command());
    points.extend(delays(points.len() / 4, span));
    let mut kills = 0;
    for p in &points {
        before(b);
        if run_killed(b, args, p) {
            kills += 1;
        }
        assert_cleaned(b, &format!("`{}` killed at {p:?}", args.join(" ")));
    }
    eprintln!(
        "`{}`: {kills} kills landed of {} points",
        args.join(" "),
        points.len()
    );
    (kills, points.len())
}

fn bundle_path(b: &Bundle) -> String {
    b.bundle_dir().display().to_string()
}

#[test]
fn create_killed_anywhere_leaves_nothing() {
    if !crash_testable() {
        return;
    }
    let b = crash_bundle("crashcreate");
    let bundle = bundle_path(&b);
    let (kills, points) = crash_at_points(&b, &["create", "--bundle", &bundle, b.id()], &|_| {});
    assert!(kills * 2 > points, "only {kills} of {points} kills landed");
}

#[test]
fn run_detached_killed_anywhere_leaves_nothing() {
    if !crash_testable() {
        return;
    }
    let b = crash_bundle("crashrun");
    let bundle = bundle_path(&b);
    let (kills, points) = crash_at_points(&b, &["run", "-d", "--bundle", &bundle, b.id()], &|_| {});
    assert!(kills * 2 > points, "only {kills} of {points} kills landed");
}

#[test]
fn delete_killed_anywhere_leaves_nothing() {
    if !crash_testable() {
        return;
    }
    let b = crash_bundle("crashdelete");
    let bundle = bundle_path(&b);
    let create = |b: &Bundle| {
        b.rt_args(&["run", "-d", "--bundle", &bundle, b.id()]).ok();
    };
    let (kills, points) = crash_at_points(&b, &["delete", "--force", b.id()], &create);
    assert!(kills * 2 > points, "only {kills} of {points} kills landed");
}

/// The probe of the issue: killed at the rename of state.json, the create
/// leaves its init (which would wait on exec.fifo forever) and its cgroups;
/// a second create of the same id removes them and succeeds.
#[test]
fn create_of_the_same_id_cleans_a_killed_create() {
    if !crash_testable() {
        return;
    }
    let b = crash_bundle("crashrecreate");
    let bundle = bundle_path(&b);
    let args = ["create", "--bundle", &bundle, b.id()];
    assert!(run_killed(&b, &args, &Point::Syscall("rename".into(), 1)));
    // The record names the init; it died with runr.
    let record = b.root().join(b.id()).join("creating.json");
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).expect("no creating.json")).unwrap();
    let pid = rec["pid"].as_i64().unwrap();
    wait_gone(pid);
    b.rt_args(&args).ok();
    assert_eq!(b.status(), "created");
    assert_cleaned(&b, "after the second create");
}

fn wait_gone(pid: i64) {
    let stat = format!("/proc/{pid}/stat");
    for _ in 0..500 {
        let text = std::fs::read_to_string(&stat).unwrap_or_default();
        let state = text.rsplit(')').next().unwrap_or("").trim_start();
        if text.is_empty() || state.starts_with('Z') {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the init {pid} outlived the runtime killed before commit");
}

/// Switching to the container's user clears the parent-death signal: an
/// init of a non-root process, its runtime killed at the rename of
/// state.json, must still die rather than wait on exec.fifo for ever.
#[test]
fn init_of_a_non_root_process_dies_with_a_killed_create() {
    if !crash_testable() {
        return;
    }
    let mut b = crash_bundle("crashuser");
    b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    b.write_config();
    let bundle = bundle_path(&b);
    let args = ["create", "--bundle", &bundle, b.id()];
    assert!(run_killed(&b, &args, &Point::Syscall("rename".into(), 1)));
    let record = b.root().join(b.id()).join("creating.json");
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).expect("no creating.json")).unwrap();
    wait_gone(rec["pid"].as_i64().unwrap());
    assert_cleaned(&b, "after the killed create");
}
