//! `runr update`: merges new limits into the container's resources, applies
//! them with the cgroup manager and records them in state.json.

use std::io::Read;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use crate::cli::{Cli, Update};
use runtime::cgroups;
use runtime::state::{StateDir, Status};

pub fn run(cli: &Cli, u: &Update) -> Result<()> {
    if u.l3_cache_schema.is_some() {
        bail!("Intel RDT/CAT: l3 cache schema is not enabled");
    }
    if u.mem_bw_schema.is_some() {
        bail!("Intel RDT/MBA: memory bandwidth schema is not enabled");
    }
    let new = match &u.resources {
        Some(src) => read_resources(src)?,
        None => from_flags(u)?,
    };
    let dir = StateDir::open(&cli.root, &u.id)?;
    let mut state = dir.load()?;
    if state.status(&dir) == Status::Stopped {
        bail!("container not running");
    }
    let mut linux = state.config.linux().clone().unwrap_or_default();
    let mut res = linux.resources().clone().unwrap_or_default();
    merge(&mut res, &new);
    linux.set_resources(Some(res));
    state.config.set_linux(Some(linux));
    state.require_cgroup("update")?;
    let mgr = cgroups::manager(&state.cgroup_path, state.systemd_cgroup, &state.id)?;
    cgroups::apply_resources(&mgr, &state.cgroup_path, &state.config)
        .context("updating cgroup resources")?;
    dir.save(&state)
}

/// `--resources FILE`, or `-` for the standard input: a LinuxResources in JSON.
fn read_resources(src: &str) -> Result<LinuxResources> {
    let mut data = Vec::new();
    if src == "-" {
        std::io::stdin()
            .read_to_end(&mut data)
            .context("reading resources from stdin")?;
    } else {
        data = std::fs::read(src).with_context(|| format!("reading resources from {src}"))?;
    }
    serde_json::from_slice(&data).with_context(|| format!("decoding resources from {src}"))
}

fn from_flags(u: &Update) -> Result<LinuxResources> {
    let mut r = LinuxResources::default();
    let mut mem = LinuxMemory::default();
    mem.set_limit(bytes(&u.memory, "memory")?);
    mem.set_swap(bytes(&u.memory_swap, "memory-swap")?);
    mem.set_reservation(bytes(&u.memory_reservation, "memory-reservation")?);
    mem.set_kernel(bytes(&u.kernel_memory, "kernel-memory")?);
    mem.set_kernel_tcp(bytes(&u.kernel_memory_tcp, "kernel-memory-tcp")?);
    r.set_memory(Some(mem));
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(u.cpu_shares);
    cpu.set_quota(u.cpu_quota);
    cpu.set_period(u.cpu_period);
    cpu.set_realtime_period(u.cpu_rt_period);
    cpu.set_realtime_runtime(u.cpu_rt_runtime);
    cpu.set_cpus(u.cpuset_cpus.clone());
    cpu.set_mems(u.cpuset_mems.clone());
    r.set_cpu(Some(cpu));
    if let Some(w) = u.blkio_weight {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    if let Some(l) = u.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(l);
        r.set_pids(Some(p));
    }
    Ok(r)
}

/// A size as runc takes it: plain bytes, -1 for unlimited, or a number with
/// a binary suffix (k, m, g, t, with an optional b).
fn bytes(v: &Option<String>, flag: &str) -> Result<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    parse_bytes(s)
        .map(Some)
        .with_context(|| format!("invalid value for {flag}: {s}"))
}

fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: f64 = match unit.trim() {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => bail!("unknown unit {u:?}"),
    };
    let n: f64 = num.parse().context("not a number")?;
    Ok((n * mult) as i64)
}

/// Values given (and, as with runc, non-zero) replace the current ones.
fn merge(cur: &mut LinuxResources, new: &LinuxResources) {
    fn pick<T: Copy + PartialEq + Default>(cur: Option<T>, new: Option<T>) -> Option<T> {
        match new {
            Some(v) if v != T::default() => Some(v),
            _ => cur,
        }
    }
    if let Some(n) = new.memory() {
        let mut m = cur.memory().unwrap_or_default();
        m.set_limit(pick(m.limit(), n.limit()));
        m.set_reservation(pick(m.reservation(), n.reservation()));
        m.set_swap(pick(m.swap(), n.swap()));
        // As runc: lifting the memory limit without a swap value lifts the
        // swap limit too (the kernel refuses memory+swap below memory).
        if n.limit() == Some(-1) && n.swap().is_none_or(|s| s == 0) && m.swap().is_some() {
            m.set_swap(Some(-1));
        }
        m.set_kernel(pick(m.kernel(), n.kernel()));
        m.set_kernel_tcp(pick(m.kernel_tcp(), n.kernel_tcp()));
        m.set_swappiness(n.swappiness().or(m.swappiness()));
        cur.set_memory(Some(m));
    }
    if let Some(n) = new.cpu() {
        let mut c = cur.cpu().clone().unwrap_or_default();
        c.set_shares(pick(c.shares(), n.shares()));
        c.set_quota(pick(c.quota(), n.quota()));
        c.set_period(pick(c.period(), n.period()));
        c.set_realtime_period(pick(c.realtime_period(), n.realtime_period()));
        c.set_realtime_runtime(pick(c.realtime_runtime(), n.realtime_runtime()));
        if let Some(s) = n.cpus().clone().filter(|s| !s.is_empty()) {
            c.set_cpus(Some(s));
        }
        if let Some(s) = n.mems().clone().filter(|s| !s.is_empty()) {
            c.set_mems(Some(s));
        }
        cur.set_cpu(Some(c));
    }
    if let Some(w) = new.block_io().as_ref().and_then(|b| b.weight()) {
        let mut b = cur.block_io().clone().unwrap_or_default();
        b.set_weight(Some(w));
        cur.set_block_io(Some(b));
    }
    if let Some(p) = new.pids().filter(|p| p.limit() != 0) {
        cur.set_pids(Some(p));
    }
    if let Some(h) = new.hugepage_limits().clone().filter(|h| !h.is_empty()) {
        cur.set_hugepage_limits(Some(h));
    }
    if let Some(u) = new.unified().clone().filter(|u| !u.is_empty()) {
        let mut all = cur.unified().clone().unwrap_or_default();
        all.extend(u);
        cur.set_unified(Some(all));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("1048576").unwrap(), 1048576);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn merge_keeps_what_is_not_given() {
        let mut cur: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":1000,"swap":2000},"cpu":{"shares":512,"cpus":"0"},"pids":{"limit":10}}"#,
        )
        .unwrap();
        let new: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":4096},"cpu":{"quota":5000},"pids":{"limit":0}}"#,
        )
        .unwrap();
        merge(&mut cur, &new);
        let m = cur.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(4096), Some(2000)));
        let c = cur.cpu().clone().unwrap();
        assert_eq!((c.shares(), c.quota()), (Some(512), Some(5000)));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(cur.pids().unwrap().limit(), 10);
    }
}
