//! Health checks (`--health-cmd` and the other `--health-*` flags, the
//! image's HEALTHCHECK, `--no-healthcheck`): while a container runs, its
//! monitor keeps a `container-health` process (rdock re-executed, its
//! child) that runs the check through the runtime's `exec` every interval
//! and writes docker's `State.Health` to `<dir>/health.json`; `ps` shows
//! `(healthy)`, `(unhealthy)` or `(health: starting)`.
use super::record::{self, Record, State};
use super::runtime;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// docker's `Config.Healthcheck` (durations in nanoseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Healthcheck {
    #[serde(rename = "Test")]
    pub test: Vec<String>,
    #[serde(rename = "Interval", default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(rename = "Timeout", default, skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(rename = "StartPeriod", default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    #[serde(rename = "Retries", default, skip_serializing_if = "is_zero")]
    pub retries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// docker's defaults for what a check leaves unset.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u64 = 3;
/// docker keeps the last five results.
const LOG_ENTRIES: usize = 5;
const MAX_OUTPUT: usize = 4096;

/// The `--health-*` flags as given.
pub struct Flags<'a> {
    pub cmd: Option<&'a str>,
    pub interval: Option<&'a str>,
    pub timeout: Option<&'a str>,
    pub start_period: Option<&'a str>,
    pub retries: Option<i64>,
    pub none: bool,
}

/// A flag error as docker's client prints it (no daemon prefix).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(pub String);

/// Go's time.ParseDuration for the `--health-*` durations.
pub fn parse_duration(flag: &str, s: &str) -> Result<Duration, FlagError> {
    let bad = || {
        FlagError(format!(
            "invalid argument \"{s}\" for \"--{flag}\" flag: time: invalid duration \"{s}\""
        ))
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let num: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// The container's check: the flags over the image's HEALTHCHECK (its
/// `config.Healthcheck`); None for no check.
pub fn from_flags(f: &Flags, image: Option<Healthcheck>) -> Result<Option<Healthcheck>, FlagError> {
    let timing = f.interval.is_some()
        || f.timeout.is_some()
        || f.start_period.is_some()
        || f.retries.is_some();
    if f.none {
        if f.cmd.is_some() || timing {
            return Err(FlagError(
                "rdock: --no-healthcheck conflicts with --health-* options".into(),
            ));
        }
        return Ok(Some(Healthcheck {
            test: vec!["NONE".into()],
            interval: 0,
            timeout: 0,
            start_period: 0,
            retries: 0,
        }));
    }
    let ns = |flag: &str, v: Option<&str>| -> Result<Option<u64>, FlagError> {
        v.map(|s| parse_duration(flag, s).map(|d| d.as_nanos() as u64))
            .transpose()
    };
    let interval = ns("health-interval", f.interval)?;
    let timeout = ns("health-timeout", f.timeout)?;
    let start_period = ns("health-start-period", f.start_period)?;
    if f.retries.is_some_and(|r| r < 0) {
        return Err(FlagError(
            "rdock: --health-retries cannot be negative".into(),
        ));
    }
    if f.cmd.is_none() && !timing {
        return Ok(image);
    }
    let mut hc = image.unwrap_or(Healthcheck {
        test: Vec::new(),
        interval: 0,
        timeout: 0,
        start_period: 0,
        retries: 0,
    });
    if let Some(c) = f.cmd {
        hc.test = vec!["CMD-SHELL".into(), c.into()];
    }
    hc.interval = interval.unwrap_or(hc.interval);
    hc.timeout = timeout.unwrap_or(hc.timeout);
    hc.start_period = start_period.unwrap_or(hc.start_period);
    hc.retries = f.retries.map_or(hc.retries, |r| r as u64);
    Ok(Some(hc))
}

impl Healthcheck {
    /// Whether it checks anything (`NONE` and an empty test do not).
    pub fn active(&self) -> bool {
        matches!(
            self.test.first().map(String::as_str),
            Some("CMD" | "CMD-SHELL")
        )
    }

    fn command(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), self.test[1..].join(" ")],
            _ => self.test[1..].to_vec(),
        }
    }

    fn dur(ns: u64, default: Duration) -> Duration {
        if ns == 0 {
            default
        } else {
            Duration::from_nanos(ns)
        }
    }
}

/// docker's `State.Health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "FailingStreak")]
    pub failing_streak: u64,
    #[serde(rename = "Log")]
    pub log: Vec<Probe>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    #[serde(rename = "Start")]
    pub start: String,
    #[serde(rename = "End")]
    pub end: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i32,
    #[serde(rename = "Output")]
    pub output: String,
}

fn health_path(root: &Path, id: &str) -> PathBuf {
    record::dir_of(root, id).join("health.json")
}

/// The health of a running container with a check.
pub fn read(root: &Path, r: &Record) -> Option<Health> {
    if r.live_state() != State::Running || !r.healthcheck.as_ref().is_some_and(|h| h.active()) {
        return None;
    }
    let data = std::fs::read(health_path(root, &r.id)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// What `ps` adds to `Up ...`.
pub fn ps_suffix(root: &Path, r: &Record) -> &'static str {
    match read(root, r).map(|h| h.status) {
        Some(s) if s == "healthy" => " (healthy)",
        Some(s) if s == "unhealthy" => " (unhealthy)",
        Some(_) => " (health: starting)",
        None => "",
    }
}

fn save(root: &Path, id: &str, h: &Health) -> Result<()> {
    sysutil::fs::write_atomic(
        &health_path(root, id),
        &serde_json::to_vec(h)?,
        sysutil::fs::Atomic::mode(0o600),
    )
}

/// Started by the monitor once the container runs: a `container-health`
/// process that dies with the monitor.
pub fn spawn_checker(root: &Path, r: &Record) -> Option<std::process::Child> {
    if !r.healthcheck.as_ref().is_some_and(|h| h.active()) {
        return None;
    }
    let _ = save(
        root,
        &r.id,
        &Health {
            status: "starting".into(),
            failing_streak: 0,
            log: Vec::new(),
        },
    );
    let exe = std::env::current_exe().ok()?;
    let mut c = Command::new(exe);
    c.arg("--root")
        .arg(root)
        .arg("container-health")
        .arg(&r.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl with integer arguments only, async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            // Out of the terminal's process group (ctrl-c), dying with the monitor.
            libc::setsid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    c.spawn()
        .map_err(|e| log::warn!("starting the health checks of {}: {e}", r.id))
        .ok()
}

/// The hidden `container-health ID` verb: probes every interval while the
/// run it was started for goes on.
pub fn checker_main(root: &Path, id: &str) -> Result<i32> {
    let r = Record::load(root, id)?;
    let Some(hc) = r.healthcheck.clone().filter(Healthcheck::active) else {
        return Ok(0);
    };
    let started = Instant::now();
    let interval = Healthcheck::dur(hc.interval, DEFAULT_INTERVAL);
    let timeout = Healthcheck::dur(hc.timeout, DEFAULT_TIMEOUT);
    let start_period = Duration::from_nanos(hc.start_period);
    let retries = if hc.retries == 0 {
        DEFAULT_RETRIES
    } else {
        hc.retries
    };
    let mut health = Health {
        status: "starting".into(),
        failing_streak: 0,
        log: Vec::new(),
    };
    loop {
        std::thread::sleep(interval);
        let now = Record::load(root, id)?;
        if now.live_state() != State::Running || now.started != r.started {
            return Ok(0);
        }
        let probe = probe(&r, &hc.command(), timeout)?;
        if probe.exit_code == 0 {
            health.status = "healthy".into();
            health.failing_streak = 0;
        } else if started.elapsed() >= start_period || health.status != "starting" {
            // Failures in the start period do not count.
            health.failing_streak += 1;
            if health.failing_streak >= retries {
                health.status = "unhealthy".into();
            }
        }
        health.log.push(probe);
        if health.log.len() > LOG_ENTRIES {
            health.log.remove(0);
        }
        save(root, id, &health)?;
    }
}

/// One run of the check through `RUNTIME exec`.
fn probe(r: &Record, cmd: &[String], timeout: Duration) -> Result<Probe> {
    let start = record::now();
    let mut args = vec!["exec", r.id.as_str()];
    args.extend(cmd.iter().map(String::as_str));
    let mut child = runtime::command(&r.runtime, &r.runtime_root, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the health check")?;
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut buf);
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let Some(st) = status else {
        return Ok(Probe {
            start,
            end: record::now(),
            exit_code: -1,
            output: format!("Health check exceeded timeout ({})", go_duration(timeout)),
        });
    };
    let mut buf = reader.join().unwrap_or_default();
    buf.truncate(MAX_OUTPUT);
    Ok(Probe {
        start,
        end: record::now(),
        exit_code: super::exit_code(st),
        output: String::from_utf8_lossy(&buf).into_owned(),
    })
}

fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The image's HEALTHCHECK from its config blob (`config.Healthcheck`).
pub fn of_image(config: &serde_json::Value) -> Option<Healthcheck> {
    serde_json::from_value(config["config"]["Healthcheck"].clone()).ok()
}

/// Checks `--health-retries` given as text (clap keeps it a string so that
/// a negative number reaches docker's message).
pub fn parse_retries(s: Option<&str>) -> Result<Option<i64>> {
    match s {
        None => Ok(None),
        Some(v) => match v.parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!(FlagError(format!(
                "invalid argument \"{v}\" for \"--health-retries\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_go_does() {
        let d = |s| parse_duration("health-interval", s);
        assert_eq!(d("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(d("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(d("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(d("0").unwrap(), Duration::ZERO);
        assert_eq!(
            d("x").unwrap_err().0,
            "invalid argument \"x\" for \"--health-interval\" flag: time: invalid duration \"x\""
        );
        assert!(d("1").is_err() && d("").is_err() && d("1q").is_err());
    }

    #[test]
    fn flags_override_the_image_check() {
        let none = Flags {
            cmd: None,
            interval: None,
            timeout: None,
            start_period: None,
            retries: None,
            none: false,
        };
        let img = Healthcheck {
            test: vec!["CMD".into(), "true".into()],
            interval: 5,
            timeout: 0,
            start_period: 0,
            retries: 2,
        };
        assert_eq!(
            from_flags(&none, Some(img.clone())).unwrap(),
            Some(img.clone())
        );
        let f = Flags {
            cmd: Some("test -f /ok"),
            interval: Some("1s"),
            ..none
        };
        let hc = from_flags(&f, Some(img)).unwrap().unwrap();
        assert_eq!(hc.test, vec!["CMD-SHELL", "test -f /ok"]);
        assert_eq!((hc.interval, hc.retries), (1_000_000_000, 2));
        let f = Flags {
            none: true,
            retries: Some(1),
            ..none
        };
        assert_eq!(
            from_flags(&f, None).unwrap_err().0,
            "rdock: --no-healthcheck conflicts with --health-* options"
        );
        let f = Flags {
            retries: Some(-1),
            ..none
        };
        assert_eq!(
            from_flags(&f, None).unwrap_err().0,
            "rdock: --health-retries cannot be negative"
        );
    }
}
