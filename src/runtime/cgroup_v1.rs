//! What runc does on cgroup v1 that libcgroups leaves out or does in an
//! order the kernel may refuse: per-device blkio weights (bfq's files where
//! the legacy ones are absent), and cpu period/quota written so that a new
//! pair is accepted whatever the old one was. `resources.unified` is refused
//! on a v1 (or hybrid) host instead of being ignored.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;

const ROOT: &str = "/sys/fs/cgroup";

/// runc's check: the unified map is for cgroup v2 only.
pub fn check_unified(res: &LinuxResources) -> Result<()> {
    let asks = res.unified().as_ref().is_some_and(|u| !u.is_empty());
    if asks && !is_unified_host() {
        bail!("invalid configuration: cannot use unified on cgroup v1");
    }
    Ok(())
}

fn is_unified_host() -> bool {
    nix::sys::statfs::statfs(ROOT)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

fn dir(controller: &str, cgroup_path: &Path) -> PathBuf {
    Path::new(ROOT)
        .join(controller)
        .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path))
}

fn write(dir: &Path, file: &str, value: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(file), value)
}

/// cpu.cfs_period_us and cpu.cfs_quota_us, before libcgroups writes them
/// (it writes the period first, which the kernel refuses with EINVAL when
/// the old quota does not fit the new period): as runc, a refused period is
/// written again after the quota.
pub fn set_cpu_period_quota(cgroup_path: &Path, res: &LinuxResources) -> Result<()> {
    let Some(cpu) = res.cpu() else { return Ok(()) };
    let period = cpu.period().filter(|p| *p != 0);
    let quota = cpu.quota().filter(|q| *q != 0);
    if period.is_none() && quota.is_none() {
        return Ok(());
    }
    let d = dir("cpu", cgroup_path);
    let what = |f: &str| format!("writing {}", d.join(f).display());
    let mut retry_period = None;
    if let Some(p) = period {
        match write(&d, "cpu.cfs_period_us", &p.to_string()) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota.is_some() => {
                retry_period = Some(p);
            }
            r => r.with_context(|| what("cpu.cfs_period_us"))?,
        }
    }
    if let Some(q) = quota {
        write(&d, "cpu.cfs_quota_us", &q.to_string()).with_context(|| what("cpu.cfs_quota_us"))?;
    }
    if let Some(p) = retry_period {
        write(&d, "cpu.cfs_period_us", &p.to_string())
            .with_context(|| what("cpu.cfs_period_us"))?;
    }
    Ok(())
}

/// `blockIO.weightDevice`: weight and leafWeight per device. The weight goes
/// to blkio.weight_device, or to blkio.bfq.weight_device where the host's
/// blkio has no legacy (cfq) weight files.
pub fn set_weight_devices(cgroup_path: &Path, res: &LinuxResources) -> Result<()> {
    let Some(devs) = res
        .block_io()
        .as_ref()
        .and_then(|b| b.weight_device().clone())
    else {
        return Ok(());
    };
    let d = dir("blkio", cgroup_path);
    let weight_file = if d.join("blkio.weight").exists() {
        "blkio.weight_device"
    } else {
        "blkio.bfq.weight_device"
    };
    for wd in devs {
        let dev = format!("{}:{}", wd.major(), wd.minor());
        if let Some(w) = wd.weight().filter(|w| *w != 0) {
            write(&d, weight_file, &format!("{dev} {w}"))
                .with_context(|| format!("writing {}", d.join(weight_file).display()))?;
        }
        if let Some(w) = wd.leaf_weight().filter(|w| *w != 0) {
            write(&d, "blkio.leaf_weight_device", &format!("{dev} {w}"))
                .with_context(|| format!("writing {}/blkio.leaf_weight_device", d.display()))?;
        }
    }
    Ok(())
}
