//! `runr events`: runc's JSON lines on stdout: a `stats` event once
//! (`--stats`) or every interval, and an `oom` event whenever the kernel's
//! OOM killer strikes in the container's memory cgroup. Ends when the
//! container stops.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use libcgroups::common::CgroupManager;
use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::cli::{Cli, Events};
use runtime::cgroups;
use runtime::state::{ContainerState, StateDir, Status};

/// How often the OOM counter and the init's liveness are checked.
const POLL: Duration = Duration::from_millis(100);

pub fn run(cli: &Cli, e: &Events) -> Result<()> {
    let interval = parse_duration(&e.interval)?;
    if interval.is_zero() {
        bail!("duration interval must be greater than 0");
    }
    let state = {
        let dir = StateDir::open(&cli.root, &e.id)?;
        let state = dir.load()?;
        if state.status(&dir) == Status::Stopped {
            bail!("container with id {} is not running", e.id);
        }
        state
    };
    if e.stats {
        return emit(&stats_event(&state)?);
    }
    let oom = OomCounter::find(&state.cgroup_path);
    let mut seen = oom.as_ref().map_or(0, OomCounter::read);
    let mut next_stats = Instant::now() + interval;
    while state.init_alive() {
        if let Some(o) = &oom {
            let now = o.read();
            if now > seen {
                emit(&Event {
                    kind: "oom",
                    id: &state.id,
                    data: None,
                })?;
            }
            seen = now;
        }
        if Instant::now() >= next_stats {
            // The cgroup may vanish as the container stops: not an error.
            match stats_event(&state) {
                Ok(ev) => emit(&ev)?,
                Err(err) if state.init_alive() => return Err(err),
                Err(_) => break,
            }
            next_stats += interval;
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// One event line, fields in runc's order.
#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

fn emit(ev: &Event) -> Result<()> {
    let line = serde_json::to_string(ev).context("serializing event")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").context("writing event")?;
    out.flush().context("writing event")
}

/// A Go duration as runc's flag takes it: "5s", "100ms", "1m30s", "2h".
fn parse_duration(s: &str) -> Result<Duration> {
    match sysutil::duration::parse(s.trim()) {
        Ok(ns) if ns >= 0 => Ok(Duration::from_nanos(ns as u64)),
        _ => Err(anyhow::anyhow!("invalid duration {s:?}")),
    }
}

/// The memory cgroup's count of OOM kills: `oom_kill` in v1's
/// memory.oom_control and in v2's memory.events.
struct OomCounter {
    file: PathBuf,
}

impl OomCounter {
    fn find(cgroup: &Path) -> Option<OomCounter> {
        let rel = cgroup.strip_prefix("/").unwrap_or(cgroup);
        let root = Path::new("/sys/fs/cgroup");
        [
            root.join("memory").join(rel).join("memory.oom_control"),
            root.join(rel).join("memory.events"),
        ]
        .into_iter()
        .find(|f| f.exists())
        .map(|file| OomCounter { file })
    }

    fn read(&self) -> u64 {
        let data = std::fs::read_to_string(&self.file).unwrap_or_default();
        data.lines()
            .filter_map(|l| l.strip_prefix("oom_kill "))
            .find_map(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

fn stats_event(state: &ContainerState) -> Result<Event<'_>> {
    state.require_cgroup("events")?;
    let mgr = cgroups::manager(&state.cgroup_path, state.systemd_cgroup, &state.id)?;
    let stats = mgr
        .stats()
        .with_context(|| format!("reading stats of cgroup {}", state.cgroup_path.display()))?;
    Ok(Event {
        kind: "stats",
        id: &state.id,
        data: Some(runc_stats(&stats)),
    })
}

/// libcgroups' stats in the shape of runc's `events` types.
fn runc_stats(s: &Stats) -> Value {
    let u = &s.cpu.usage;
    let t = &s.cpu.throttling;
    let m = &s.memory;
    let entry = |d: &MemoryData| json!({"limit": d.limit, "usage": d.usage, "max": d.max_usage, "failcnt": d.fail_count});
    let dev = |v: &[BlkioDeviceStat]| -> Value {
        v.iter()
            .map(|d| {
                json!({"major": d.major, "minor": d.minor,
                       "op": d.op_type.clone().unwrap_or_default(), "value": d.value})
            })
            .collect()
    };
    let b = &s.blkio;
    let hugetlb: Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(k, h)| {
            (
                k.clone(),
                json!({"usage": h.usage, "max": h.max_usage, "failcnt": h.fail_count}),
            )
        })
        .collect();
    json!({
        "cpu": {
            "usage": {
                "total": u.usage_total, "percpu": u.per_core_usage_total,
                "percpu_kernel": u.per_core_usage_kernel, "percpu_user": u.per_core_usage_user,
                "kernel": u.usage_kernel, "user": u.usage_user,
            },
            "throttling": {
                "periods": t.periods, "throttledPeriods": t.throttled_periods,
                "throttledTime": t.throttled_time,
            },
        },
        "memory": {
            "cache": m.cache,
            "usage": entry(&m.memory),
            "swap": entry(&m.memswap),
            "kernel": entry(&m.kernel),
            "kernelTCP": entry(&m.kernel_tcp),
            "raw": m.stats,
        },
        "pids": {"current": s.pids.current, "limit": s.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": dev(&b.service_bytes),
            "ioServicedRecursive": dev(&b.serviced),
            "ioQueueRecursive": dev(&b.queued),
            "ioServiceTimeRecursive": dev(&b.service_time),
            "ioWaitTimeRecursive": dev(&b.wait_time),
            "ioMergedRecursive": dev(&b.merged),
            "ioTimeRecursive": dev(&b.time),
            "sectorsRecursive": dev(&b.sectors),
        },
        "hugetlb": hugetlb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
