//! `--memory`, `--memory-swap`, `--cpus`, `--cpu-shares`, `--pids-limit`:
//! docker's parsing and checks, and the OCI `linux.resources` they give.
use anyhow::{bail, Result};
use serde_json::{json, Value};

/// docker refuses less memory than this.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// CFS period docker uses with `--cpus`.
pub const CPU_PERIOD: u64 = 100_000;

/// The checked resource flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub memory: Option<i64>,
    /// Memory plus swap; -1 for unlimited swap.
    pub memory_swap: Option<i64>,
    /// CFS quota in microseconds per [`CPU_PERIOD`].
    pub cpu_quota: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
}

/// Bytes from docker's size syntax: a decimal number and an optional unit
/// b, k, m, g, t, p (with an optional trailing b, any case), powers of 1024.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let lower = s.trim().to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let mult: i64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        _ => bail!("invalid size: '{s}'"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid size: '{s}'"))?;
    Ok((n * mult as f64) as i64)
}

fn flag_error(value: &str, flag: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("invalid argument \"{value}\" for \"{flag}\" flag: {e}")
}

/// Checks the flags as docker does; `host_cpus` bounds `--cpus`.
pub fn parse(
    memory: Option<&str>,
    memory_swap: Option<&str>,
    cpus: Option<&str>,
    cpu_shares: Option<&str>,
    pids_limit: Option<&str>,
    host_cpus: usize,
) -> Result<Resources> {
    let mut r = Resources::default();
    if let Some(m) = memory {
        let b = parse_bytes(m).map_err(|e| flag_error(m, "-m, --memory", e))?;
        if b > 0 && b < MIN_MEMORY {
            bail!("Minimum memory limit allowed is 6MB");
        }
        r.memory = Some(b).filter(|b| *b > 0);
    }
    if let Some(s) = memory_swap {
        let b = if s.trim() == "-1" {
            -1
        } else {
            parse_bytes(s).map_err(|e| flag_error(s, "--memory-swap", e))?
        };
        match r.memory {
            None if b != 0 => bail!(
                "You should always set the Memory limit when using Memoryswap limit, see usage"
            ),
            Some(m) if b > 0 && b < m => {
                bail!("Minimum memoryswap limit should be larger than memory limit, see usage")
            }
            _ => {}
        }
        r.memory_swap = Some(b).filter(|b| *b != 0);
    }
    if let Some(c) = cpus {
        let n: f64 = c
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| flag_error(c, "--cpus", "failed to parse as a rational number"))?;
        if n > host_cpus as f64 {
            bail!(
                "Range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available"
            );
        }
        let quota = (n * CPU_PERIOD as f64).round() as i64;
        if n > 0.0 && quota < 1000 {
            bail!("Range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available");
        }
        r.cpu_quota = Some(quota).filter(|q| *q > 0);
    }
    if let Some(s) = cpu_shares {
        let n: i64 = s
            .trim()
            .parse()
            .map_err(|e| flag_error(s, "-c, --cpu-shares", e))?;
        if n < 0 {
            bail!("invalid CPU shares ({n}): value must be a positive integer");
        }
        r.cpu_shares = Some(n as u64).filter(|n| *n > 0);
    }
    if let Some(p) = pids_limit {
        let n: i64 = p
            .trim()
            .parse()
            .map_err(|e| flag_error(p, "--pids-limit", e))?;
        // docker: zero or less means unlimited.
        r.pids_limit = Some(if n <= 0 { -1 } else { n });
    }
    Ok(r)
}

/// Sets the resources in `resources` (the spec's `linux.resources`);
/// `swap_accounting` says whether the kernel limits swap (memsw).
pub fn apply(resources: &mut Value, r: &Resources, swap_accounting: bool) {
    if let Some(m) = r.memory {
        let mut mem = json!({ "limit": m });
        // docker's default: as much swap as memory (memory+swap = 2x).
        let swap = r.memory_swap.unwrap_or(m.saturating_mul(2));
        if swap_accounting {
            mem["swap"] = json!(swap);
        } else if r.memory_swap.is_some() {
            log::warn!(
                "Your kernel does not support swap limit capabilities or the cgroup is not \
                 mounted. Memory limited without swap."
            );
        }
        resources["memory"] = mem;
    }
    if r.cpu_quota.is_some() || r.cpu_shares.is_some() {
        let mut cpu = json!({});
        if let Some(q) = r.cpu_quota {
            cpu["quota"] = json!(q);
            cpu["period"] = json!(CPU_PERIOD);
        }
        if let Some(s) = r.cpu_shares {
            cpu["shares"] = json!(s);
        }
        resources["cpu"] = cpu;
    }
    if let Some(p) = r.pids_limit {
        resources["pids"] = json!({ "limit": p });
    }
}

/// Whether the memory cgroup limits swap (v1 memsw files, or cgroup v2).
pub fn swap_accounting() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        || std::path::Path::new("/sys/fs/cgroup/memory.swap.max").exists()
        || !std::path::Path::new("/sys/fs/cgroup/memory").exists()
            && std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_bytes("10").unwrap(), 10);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("64MB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("2k").unwrap(), 2048);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("12x").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn flags_are_checked_like_docker() {
        let r = parse(Some("64m"), None, Some("0.5"), Some("512"), Some("5"), 2).unwrap();
        assert_eq!(r.memory, Some(64 << 20));
        assert_eq!(r.cpu_quota, Some(50_000));
        assert_eq!(r.cpu_shares, Some(512));
        assert_eq!(r.pids_limit, Some(5));
        assert!(parse(Some("1m"), None, None, None, None, 2).is_err());
        assert!(parse(None, Some("128m"), None, None, None, 2).is_err());
        assert!(parse(Some("128m"), Some("64m"), None, None, None, 2).is_err());
        assert!(parse(None, None, Some("3"), None, None, 2).is_err());
        assert!(parse(None, None, Some("many"), None, None, 2).is_err());
        assert!(parse(None, None, None, None, Some("x"), 2).is_err());
        let r = parse(Some("64m"), Some("-1"), None, None, Some("-1"), 2).unwrap();
        assert_eq!((r.memory_swap, r.pids_limit), (Some(-1), Some(-1)));
    }

    #[test]
    fn memory_gets_docker_default_swap() {
        let r = parse(Some("64m"), None, None, None, None, 2).unwrap();
        let mut res = json!({});
        apply(&mut res, &r, true);
        assert_eq!(res["memory"]["limit"], 64 << 20);
        assert_eq!(res["memory"]["swap"], 128 << 20);
    }
}
