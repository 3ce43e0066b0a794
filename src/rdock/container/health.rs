//! Health checks as docker runs them: the configuration (`--health-*`
//! merged over the image's HEALTHCHECK, shown as `Config.Healthcheck`), the
//! state (`health.json` in the container's directory: docker's
//! `State.Health` with Status, FailingStreak and the last 5 results), and
//! the checker: a process of its own (`rdock container-health ID PID`,
//! started by the monitor once the container runs) that execs the probe
//! through the runtime every interval. A process, not a thread of the
//! monitor: the monitor reaps every child (it is a subreaper), which would
//! steal the exit status of the probes.
use super::record::{self, Record};
use super::runtime;
use crate::cli::HealthOpts;
use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The container's health state, in its directory.
pub const FILE: &str = "health.json";
/// docker's defaults and limits (daemon/health.go).
const DEFAULT_INTERVAL: i64 = 30_000_000_000;
const DEFAULT_TIMEOUT: i64 = 30_000_000_000;
const DEFAULT_RETRIES: i64 = 3;
const MIN_DURATION: i64 = 1_000_000;
const MAX_LOG_ENTRIES: usize = 5;
const MAX_OUTPUT: usize = 4096;

/// docker's HealthConfig (durations in nanoseconds, zero: the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A bad health flag: `flag` set for a value the flag parser refuses
/// (docker prints those without its `docker:` prefix).
#[derive(Debug, PartialEq)]
pub struct FlagError {
    pub message: String,
    pub parse: bool,
}

impl Config {
    /// The flags as docker's client reads them: None when none is given.
    pub fn from_flags(o: &HealthOpts) -> Result<Option<Config>, FlagError> {
        let parse_err = |v: &str, flag: &str, e: String| FlagError {
            message: format!("invalid argument \"{v}\" for \"--{flag}\" flag: {e}"),
            parse: true,
        };
        let dur = |v: &Option<String>, flag: &str| -> Result<i64, FlagError> {
            match v {
                None => Ok(0),
                Some(v) => sysutil::duration::parse(v).map_err(|e| parse_err(v, flag, e)),
            }
        };
        let interval = dur(&o.interval, "health-interval")?;
        let timeout = dur(&o.timeout, "health-timeout")?;
        let start_period = dur(&o.start_period, "health-start-period")?;
        let retries = match &o.retries {
            None => 0,
            Some(v) => v.parse::<i64>().map_err(|_| {
                parse_err(
                    v,
                    "health-retries",
                    format!("strconv.ParseInt: parsing {v:?}: invalid syntax"),
                )
            })?,
        };
        let cmd = o.cmd.clone().unwrap_or_default();
        let given =
            !cmd.is_empty() || interval != 0 || timeout != 0 || start_period != 0 || retries != 0;
        let refuse = |m: &str| {
            Err(FlagError {
                message: m.to_string(),
                parse: false,
            })
        };
        if o.no_healthcheck {
            if given {
                return refuse("--no-healthcheck conflicts with --health-* options");
            }
            return Ok(Some(Config {
                test: vec!["NONE".into()],
                ..Config::default()
            }));
        }
        if !given {
            return Ok(None);
        }
        for (v, flag) in [
            (interval, "interval"),
            (timeout, "timeout"),
            (retries, "retries"),
            (start_period, "start-period"),
        ] {
            if v < 0 {
                return refuse(&format!("--health-{flag} cannot be negative"));
            }
        }
        Ok(Some(Config {
            test: if cmd.is_empty() {
                Vec::new()
            } else {
                vec!["CMD-SHELL".into(), cmd]
            },
            interval,
            timeout,
            start_period,
            retries,
        }))
    }

    /// The daemon's check of what the client sent.
    pub fn validate(&self) -> Result<()> {
        for (v, what) in [
            (self.interval, "Interval"),
            (self.timeout, "Timeout"),
            (self.start_period, "StartPeriod"),
        ] {
            if v != 0 && v < MIN_DURATION {
                anyhow::bail!("{what} in Healthcheck cannot be less than 1ms");
            }
        }
        if self.retries < 0 {
            anyhow::bail!("Retries in Healthcheck cannot be negative");
        }
        Ok(())
    }

    /// The image's HEALTHCHECK (its config's `config.Healthcheck`).
    pub fn of_image(raw_config: &[u8]) -> Option<Config> {
        let v: serde_json::Value = serde_json::from_slice(raw_config).ok()?;
        let h = &v["config"]["Healthcheck"];
        if h.is_null() {
            return None;
        }
        serde_json::from_value(h.clone()).ok()
    }

    /// docker's merge: what the user left unset comes from the image.
    pub fn merge(user: Option<Config>, image: Option<Config>) -> Option<Config> {
        let (mut u, i) = match (user, image) {
            (None, i) => return i,
            (Some(u), None) => return Some(u),
            (Some(u), Some(i)) => (u, i),
        };
        if u.test.is_empty() {
            u.test = i.test;
        }
        for (mine, theirs) in [
            (&mut u.interval, i.interval),
            (&mut u.timeout, i.timeout),
            (&mut u.start_period, i.start_period),
            (&mut u.retries, i.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        Some(u)
    }

    /// The probe's command line; None when nothing is to be checked
    /// (no test, `NONE`, or a type docker does not know).
    pub fn probe(&self) -> Option<Vec<String>> {
        let (kind, rest) = self.test.split_first()?;
        match kind.as_str() {
            "CMD" if !rest.is_empty() => Some(rest.to_vec()),
            "CMD-SHELL" if !rest.is_empty() => {
                let mut c = vec!["/bin/sh".to_string(), "-c".to_string()];
                c.extend(rest.iter().cloned());
                Some(c)
            }
            _ => None,
        }
    }

    fn or_default(v: i64, d: i64) -> i64 {
        if v > 0 {
            v
        } else {
            d
        }
    }
}

/// The configuration recorded at create (`Healthcheck` in inspect.json).
pub fn config_of(dir: &Path) -> Option<Config> {
    let data = std::fs::read(dir.join("inspect.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&data).ok()?;
    serde_json::from_value(v["Healthcheck"].clone()).ok()
}

/// One probe's result, docker's HealthcheckResult.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// docker's State.Health.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<Probe>,
}

impl Health {
    pub fn load(dir: &Path) -> Option<Health> {
        serde_json::from_slice(&std::fs::read(dir.join(FILE)).ok()?).ok()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let p = dir.join(FILE);
        sysutil::fs::write_atomic(
            &p,
            &serde_json::to_vec(self)?,
            sysutil::fs::Atomic::mode(0o644),
        )
        .with_context(|| format!("writing {}", p.display()))
    }

    /// docker's handleProbeResult: the log keeps the last 5; a success is
    /// healthy; a failure counts unless the container is still starting
    /// within its start period, and `retries` of them in a row are
    /// unhealthy.
    pub fn record(&mut self, p: Probe, retries: i64, start_period: i64, started: &str) {
        if self.log.len() >= MAX_LOG_ENTRIES {
            self.log.drain(..self.log.len() + 1 - MAX_LOG_ENTRIES);
        }
        let code = p.exit_code;
        let since_start = nanos_between(started, &p.start);
        self.log.push(p);
        if code == 0 {
            self.failing_streak = 0;
            self.status = "healthy".into();
            return;
        }
        if self.status == "starting" && since_start < start_period {
            return;
        }
        self.failing_streak += 1;
        if self.failing_streak >= Config::or_default(retries, DEFAULT_RETRIES) {
            self.status = "unhealthy".into();
        }
    }

    /// What `ps` adds to "Up 5 seconds": "(healthy)", "(health: starting)".
    pub fn ps_suffix(&self) -> String {
        match self.status.as_str() {
            "starting" => " (health: starting)".into(),
            s => format!(" ({s})"),
        }
    }
}

fn nanos_between(from: &str, to: &str) -> i64 {
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    match (t(from), t(to)) {
        (Some(a), Some(b)) => (b - a).num_nanoseconds().unwrap_or(i64::MAX),
        _ => i64::MAX,
    }
}

/// The running checker, seen from the monitor: stopped (and the state
/// marked unhealthy, as docker does for a stopped container) when dropped.
pub struct Checker {
    child: Child,
    pidfd: OwnedFd,
    dir: PathBuf,
}

impl Checker {
    /// For a container just started with a health check: the state reset
    /// to starting (the log kept, as docker does on a restart) and the
    /// checker started. None without a health check.
    pub fn start(root: &Path, r: &Record, init_pid: i32) -> Option<Checker> {
        let dir = record::dir_of(root, &r.id);
        config_of(&dir)?.probe()?;
        let res = (|| -> Result<Checker> {
            let mut h = Health::load(&dir).unwrap_or_default();
            h.status = "starting".into();
            h.failing_streak = 0;
            h.save(&dir)?;
            let exe = std::env::current_exe().context("finding rdock's own binary")?;
            let mut c = Command::new(exe);
            c.arg("--root")
                .arg(root)
                .arg("container-health")
                .arg(&r.id)
                .arg(init_pid.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            use std::os::unix::process::CommandExt;
            // Its own process group: a terminal's ^C is for the container.
            c.process_group(0);
            let child = c.spawn().context("starting the health checker")?;
            let pidfd = pidfd_open(child.id() as i32)?;
            Ok(Checker { child, pidfd, dir })
        })();
        res.map_err(|e| log::warn!("health check of {}: {e:#}", r.id))
            .ok()
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        // Through the pidfd: the monitor may have reaped the checker already
        // and its pid be another process's now.
        // SAFETY: pidfd_send_signal with our own pidfd and no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGTERM,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
        // It ends its probe first; readable once it has exited.
        let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(10_000u16));
        let _ = self.child.try_wait();
        if let Some(mut h) = Health::load(&self.dir) {
            h.status = "unhealthy".into();
            let _ = h.save(&self.dir);
        }
    }
}

fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context(format!("pidfd_open of {pid}"));
    }
    // SAFETY: the fd was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Why the checker stops waiting.
enum Wake {
    /// The interval passed (or the probe's output or exit came).
    Time,
    /// SIGTERM from the monitor, or the container's init exited.
    Stop,
}

/// The checker's signals and the container's init, polled together.
struct Stops {
    sigfd: SignalFd,
    init: OwnedFd,
}

impl Stops {
    fn fds(&self) -> [PollFd<'_>; 2] {
        [
            PollFd::new(self.sigfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.init.as_fd(), PollFlags::POLLIN),
        ]
    }

    fn sleep(&self, d: Duration) -> Wake {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Wake::Time;
            }
            let mut fds = self.fds();
            let ms = left.as_millis().clamp(1, 60_000) as u16;
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(n) if n > 0 => return Wake::Stop,
                _ => {}
            }
        }
    }
}

/// The hidden `container-health ID PID` verb: runs the probe every
/// interval until SIGTERM (from the monitor, or its death) or until the
/// container's init (PID) exits.
pub fn checker_main(root: &Path, id: &str, init_pid: i32) -> Result<i32> {
    // SAFETY: prctl with an integer argument.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("creating signalfd")?;
    let stops = Stops {
        sigfd,
        init: pidfd_open(init_pid)?,
    };
    let r = Record::load(root, id)?;
    let dir = record::dir_of(root, id);
    let Some(cfg) = config_of(&dir) else {
        return Ok(0);
    };
    let Some(args) = cfg.probe() else {
        return Ok(0);
    };
    let process = write_probe_process(&dir, &args)?;
    let interval = Duration::from_nanos(Config::or_default(cfg.interval, DEFAULT_INTERVAL) as u64);
    let timeout = Config::or_default(cfg.timeout, DEFAULT_TIMEOUT);
    let started = r.started.clone().unwrap_or_else(record::now);
    let paused = || super::pause::is_paused(root, &r);
    loop {
        if let Wake::Stop = stops.sleep(interval) {
            break;
        }
        if paused() {
            mark_paused(&dir)?;
            continue;
        }
        let Some(p) = run_probe(&r, &process, timeout, &stops) else {
            break;
        };
        let mut h = Health::load(&dir).unwrap_or_else(|| Health {
            status: "starting".into(),
            ..Health::default()
        });
        if paused() {
            // Paused meanwhile: docker drops that probe.
            mark_paused(&dir)?;
            continue;
        }
        let before = h.status.clone();
        h.record(p, cfg.retries, cfg.start_period, &started);
        if h.status != before {
            // docker logs a change of status, not every probe; logged
            // first, so whoever sees the new status finds its event.
            let action = format!("health_status: {}", h.status);
            crate::events::container(root, &r, &action, &[]);
        }
        h.save(&dir)?;
    }
    Ok(0)
}

/// docker stops probing a paused container and calls it unhealthy (the
/// streak and log unchanged) until a probe after the unpause says otherwise.
fn mark_paused(dir: &Path) -> Result<()> {
    match Health::load(dir) {
        Some(mut h) if h.status != "unhealthy" => {
            h.status = "unhealthy".into();
            h.save(dir)
        }
        _ => Ok(()),
    }
}

/// The probe as an OCI process for `RUNTIME exec --process`: the
/// container's own (user, env, cwd, capabilities, limits), with the
/// probe's arguments and no terminal, as docker's exec of the probe.
fn write_probe_process(dir: &Path, args: &[String]) -> Result<PathBuf> {
    let config = super::bundle_config(dir)?;
    let mut p = config["process"].clone();
    p["args"] = serde_json::json!(args);
    p["terminal"] = serde_json::json!(false);
    if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    let path = dir.join("health-process.json");
    sysutil::fs::write_atomic(
        &path,
        &serde_json::to_vec(&p)?,
        sysutil::fs::Atomic::mode(0o600),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Runs one probe through the runtime's `exec`: its exit code and first
/// 4096 bytes of output (stdout and stderr together, "..." when cut, as
/// docker); past `timeout` the probe is killed and docker's message
/// recorded. None when told to stop meanwhile (the probe killed too).
fn run_probe(r: &Record, process: &Path, timeout: i64, stops: &Stops) -> Option<Probe> {
    let start = record::now();
    let fail = |msg: String| Probe {
        start: start.clone(),
        end: record::now(),
        exit_code: -1,
        output: msg,
    };
    let (out_r, out_w) =
        match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK) {
            Ok(p) => p,
            Err(e) => return Some(fail(format!("creating a pipe: {e}"))),
        };
    let proc_arg = process.display().to_string();
    let mut cmd = runtime::command(
        &r.runtime,
        &r.runtime_root,
        &["exec", "--process", &proc_arg, &r.id],
    );
    let out_w2 = match out_w.try_clone() {
        Ok(w) => w,
        Err(e) => return Some(fail(format!("creating a pipe: {e}"))),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(out_w2));
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Some(fail(format!("running {}: {e}", r.runtime.display()))),
    };
    let pid = child.id() as i32;
    let pidfd = match pidfd_open(pid) {
        Ok(f) => f,
        Err(e) => {
            kill_tree(pid);
            let _ = child.wait();
            return Some(fail(format!("{e:#}")));
        }
    };
    let mut out = Output::default();
    let deadline = Instant::now() + Duration::from_nanos(timeout as u64);
    let mut out_open = true;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_tree(pid);
            let _ = child.wait();
            return Some(fail(format!(
                "Health check exceeded timeout ({})",
                sysutil::duration::format(timeout)
            )));
        }
        let [s0, s1] = stops.fds();
        let mut fds = vec![s0, s1, PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        if out_open {
            fds.push(PollFd::new(out_r.as_fd(), PollFlags::POLLIN));
        }
        let ms = left.as_millis().clamp(1, 60_000) as u16;
        if poll(&mut fds, PollTimeout::from(ms)).is_err() {
            continue;
        }
        let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
        let (stop, exited, output) = (ready(0) || ready(1), ready(2), out_open && ready(3));
        drop(fds);
        if stop {
            kill_tree(pid);
            let _ = child.wait();
            return None;
        }
        if output {
            out_open = out.read_from(&out_r);
        }
        if exited {
            // What is in the pipe now; a process the probe left in the
            // background may hold it open.
            out.read_from(&out_r);
            break;
        }
    }
    let code = match child.wait() {
        Ok(st) => st.code().map_or(-1, i64::from),
        Err(_) => -1,
    };
    Some(Probe {
        start,
        end: record::now(),
        exit_code: code,
        output: out.text(),
    })
}

/// docker's limitedBuffer: the first 4096 bytes, "..." when more came.
#[derive(Default)]
struct Output {
    kept: Vec<u8>,
    truncated: bool,
}

impl Output {
    /// Reads what `fd` has now; false at its end.
    fn read_from(&mut self, fd: &OwnedFd) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let keep = n.min(MAX_OUTPUT - self.kept.len());
                    self.kept.extend_from_slice(&buf[..keep]);
                    self.truncated |= keep < n;
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return true,
            }
        }
    }

    fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.kept).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

/// Kills the probe: its processes (in the container) first, then the
/// runtime, our child, which is reaped by the caller. Repeated while new
/// descendants appear (a probe forking as it is killed).
fn kill_tree(pid: i32) {
    for _ in 0..20 {
        let d = sysutil::proc::descendants(pid);
        if d.is_empty() {
            break;
        }
        for p in d {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(f: impl FnOnce(&mut HealthOpts)) -> HealthOpts {
        let mut o = HealthOpts::default();
        f(&mut o);
        o
    }

    #[test]
    fn flags_read_as_dockers_client() {
        assert_eq!(Config::from_flags(&HealthOpts::default()), Ok(None));
        let c = Config::from_flags(&opts(|o| {
            o.cmd = Some("test -f /ok".into());
            o.interval = Some("1s".into());
            o.retries = Some("2".into());
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"Test":["CMD-SHELL","test -f /ok"],"Interval":1000000000,"Retries":2}"#
        );
        let none = Config::from_flags(&opts(|o| o.no_healthcheck = true)).unwrap();
        assert_eq!(none.unwrap().test, vec!["NONE"]);
        let e = Config::from_flags(&opts(|o| o.interval = Some("x".into()))).unwrap_err();
        assert_eq!(
            e.message,
            "invalid argument \"x\" for \"--health-interval\" flag: time: invalid duration \"x\""
        );
        assert!(e.parse);
        let e = Config::from_flags(&opts(|o| {
            o.no_healthcheck = true;
            o.cmd = Some("true".into());
        }))
        .unwrap_err();
        assert_eq!(
            e.message,
            "--no-healthcheck conflicts with --health-* options"
        );
        let e = Config::from_flags(&opts(|o| o.retries = Some("-1".into()))).unwrap_err();
        assert_eq!(e.message, "--health-retries cannot be negative");
        let e = Config::from_flags(&opts(|o| o.retries = Some("x".into()))).unwrap_err();
        assert!(e
            .message
            .ends_with("strconv.ParseInt: parsing \"x\": invalid syntax"));
    }

    #[test]
    fn the_image_fills_what_the_flags_leave() {
        let img = Config::of_image(
            br#"{"config":{"Healthcheck":{"Test":["CMD","true"],"Interval":5000000000,"Retries":4}}}"#,
        );
        let user = Config {
            interval: 1_000_000_000,
            ..Config::default()
        };
        let m = Config::merge(Some(user), img.clone()).unwrap();
        assert_eq!(m.test, vec!["CMD", "true"]);
        assert_eq!((m.interval, m.retries), (1_000_000_000, 4));
        assert_eq!(Config::merge(None, img.clone()), img);
        assert_eq!(Config::of_image(br#"{"config":{}}"#), None);
    }

    #[test]
    fn probes_as_docker_runs_them() {
        let t = |v: &[&str]| Config {
            test: v.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        };
        assert_eq!(
            t(&["CMD-SHELL", "exit 1"]).probe().unwrap(),
            vec!["/bin/sh", "-c", "exit 1"]
        );
        assert_eq!(t(&["CMD", "true", "x"]).probe().unwrap(), vec!["true", "x"]);
        assert_eq!(t(&["NONE"]).probe(), None);
        assert_eq!(t(&[]).probe(), None);
        assert_eq!(t(&["BOGUS", "x"]).probe(), None);
        assert!(t(&[]).validate().is_ok());
        let short = Config {
            interval: 500_000,
            ..Config::default()
        };
        assert_eq!(
            short.validate().unwrap_err().to_string(),
            "Interval in Healthcheck cannot be less than 1ms"
        );
    }

    fn probe(at: &str, code: i64) -> Probe {
        Probe {
            start: at.into(),
            end: at.into(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn statuses_follow_dockers_rules() {
        let t0 = "2026-01-01T00:00:00Z";
        let mut h = Health {
            status: "starting".into(),
            ..Health::default()
        };
        // Within the start period (2s) a failure does not count.
        h.record(probe("2026-01-01T00:00:01Z", 1), 2, 2_000_000_000, t0);
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 0));
        h.record(probe("2026-01-01T00:00:03Z", 1), 2, 2_000_000_000, t0);
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 1));
        h.record(probe("2026-01-01T00:00:04Z", 1), 2, 2_000_000_000, t0);
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
        h.record(probe("2026-01-01T00:00:05Z", 0), 2, 2_000_000_000, t0);
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
        // Once healthy the start period no longer matters; default retries 3.
        for s in 6..9 {
            h.record(probe(&format!("2026-01-01T00:00:0{s}Z"), 1), 0, 0, t0);
        }
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 3));
        assert_eq!(h.log.len(), 5);
        assert_eq!(h.log[4].start, "2026-01-01T00:00:08Z");
        assert_eq!(h.ps_suffix(), " (unhealthy)");
    }

    #[test]
    fn output_is_cut_at_4096_bytes_as_docker() {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
        nix::unistd::write(&w, &[b'a'; 5000]).unwrap();
        drop(w);
        let mut o = Output::default();
        assert!(!o.read_from(&r));
        let t = o.text();
        assert_eq!(t.len(), 4099);
        assert!(t.ends_with("a..."));
    }
}
