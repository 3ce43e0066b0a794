//! Cgroup limits, read back from the container's own cgroup files where the
//! container can see them (a cgroup mount in its mount namespace).

use crate::mountinfo::{self, Mount};
use crate::tap::Tap;
use serde_json::Value;
use std::path::PathBuf;

/// The directory of this process's cgroup for `controller`, through a
/// visible cgroup mount (v1), or the unified hierarchy when `controller`
/// is None.
fn cgroup_dir(mounts: &[Mount], controller: Option<&str>) -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = match controller {
            Some(c) => ctrls.split(',').any(|x| x == c),
            None => ctrls.is_empty(),
        };
        hit.then(|| path.to_string())
    })?;
    let mount = mounts.iter().rev().find(|m| match controller {
        Some(c) => m.fs_type == "cgroup" && m.super_options.iter().any(|o| o == c),
        None => m.fs_type == "cgroup2",
    })?;
    // The mount shows the hierarchy from `root` down; our cgroup is below it.
    let rel = path
        .strip_prefix(&mount.root)
        .unwrap_or(&path)
        .trim_start_matches('/')
        .to_string();
    Some(PathBuf::from(&mount.mount_point).join(rel))
}

fn read(dir: &Option<PathBuf>, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.as_ref()?.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

fn expect(tap: &mut Tap, dir: &Option<PathBuf>, file: &str, want: String) {
    match read(dir, file) {
        Some(got) => tap.eq(format!("cgroup {file}"), want, got),
        None => tap.skip(format!("cgroup {file}"), "not visible in the container"),
    }
}

pub fn check(config: &Value, tap: &mut Tap) {
    let resources = &config["linux"]["resources"];
    if resources.is_null() {
        return;
    }
    let Ok(mounts) = mountinfo::read() else {
        return;
    };
    let v2 = mounts
        .iter()
        .any(|m| m.fs_type == "cgroup2" && m.mount_point == "/sys/fs/cgroup");
    let dir = |c: &str| {
        if v2 {
            cgroup_dir(&mounts, None)
        } else {
            cgroup_dir(&mounts, Some(c))
        }
    };
    let page = 4096u64;

    let memory = &resources["memory"];
    if let Some(limit) = memory["limit"].as_i64().filter(|l| *l > 0) {
        let want = (limit as u64) / page * page;
        if v2 {
            expect(tap, &dir("memory"), "memory.max", want.to_string());
        } else {
            expect(
                tap,
                &dir("memory"),
                "memory.limit_in_bytes",
                want.to_string(),
            );
        }
    }
    if let Some(res) = memory["reservation"].as_i64().filter(|l| *l > 0) {
        let want = (res as u64) / page * page;
        let file = if v2 {
            "memory.low"
        } else {
            "memory.soft_limit_in_bytes"
        };
        expect(tap, &dir("memory"), file, want.to_string());
    }
    if let Some(limit) = resources["pids"]["limit"].as_i64() {
        let want = if limit > 0 {
            limit.to_string()
        } else {
            "max".to_string()
        };
        expect(tap, &dir("pids"), "pids.max", want);
    }
    let cpu = &resources["cpu"];
    if !v2 {
        if let Some(shares) = cpu["shares"].as_u64() {
            expect(tap, &dir("cpu"), "cpu.shares", shares.to_string());
        }
        if let Some(quota) = cpu["quota"].as_i64() {
            expect(tap, &dir("cpu"), "cpu.cfs_quota_us", quota.to_string());
        }
        if let Some(period) = cpu["period"].as_u64() {
            expect(tap, &dir("cpu"), "cpu.cfs_period_us", period.to_string());
        }
    }
    if let Some(cpus) = cpu["cpus"].as_str() {
        let file = "cpuset.cpus";
        expect(tap, &dir("cpuset"), file, cpus.to_string());
    }
}
