//! Cgroups through libcgroups: v1, v2 or systemd, picked from the host layout
//! and `--systemd-cgroup`. This module decides the path and keeps the rest of
//! runr independent of which driver is in use.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use libcgroups::common::{
    create_cgroup_manager, get_cgroup_setup, AnyCgroupManager, CgroupConfig, CgroupManager,
    CgroupSetup, ControllerOpt, FreezerState,
};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources, Spec};

const V1_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup path for a container: `linux.cgroupsPath` (absolute, or relative
/// to runr's own cgroup), else `/runr/<id>`; with systemd, `slice:prefix:name`.
/// Read lexically, `..` never climbs above the cgroup root (nor, for a
/// relative path, above runr's own cgroup), as runc's CleanPath keeps it.
pub fn container_path(spec: &Spec, id: &str, systemd: bool) -> Result<PathBuf> {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    if systemd {
        let p = given.unwrap_or_else(|| PathBuf::from(format!("system.slice:runr:{id}")));
        let text = p.to_string_lossy();
        if text.split(':').any(|part| part.contains('/')) {
            bail!("linux.cgroupsPath {text:?}: a systemd cgroup is \"slice:prefix:name\", without '/'");
        }
        return Ok(p);
    }
    Ok(match given {
        Some(p) if p.is_absolute() => clean(&p),
        Some(p) => {
            let inner = clean(&Path::new("/").join(p));
            own_cgroup().join(inner.strip_prefix("/").unwrap_or(&inner))
        }
        None => PathBuf::from(format!("/runr/{id}")),
    })
}

/// `p` as an absolute path without `.`, `..` or repeated slashes; `..` at
/// the root stays at the root.
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// runr's own cgroup, from /proc/self/cgroup (the unified line on v2, the
/// first controller line on v1).
fn own_cgroup() -> PathBuf {
    let data = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let unified = matches!(get_cgroup_setup(), Ok(CgroupSetup::Unified));
    data.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
            let wanted = if unified {
                ctrl.is_empty()
            } else {
                !ctrl.is_empty() && !ctrl.starts_with("name=")
            };
            wanted.then(|| PathBuf::from(path))
        })
        .next()
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn manager(path: &Path, systemd: bool, id: &str) -> Result<AnyCgroupManager> {
    create_cgroup_manager(CgroupConfig {
        cgroup_path: path.to_path_buf(),
        systemd_cgroup: systemd,
        container_name: id.to_string(),
    })
    .with_context(|| format!("creating cgroup manager for {}", path.display()))
}

/// Puts `pid` into the container's cgroup and applies the spec's resources.
pub fn setup(mgr: &AnyCgroupManager, path: &Path, spec: &Spec, pid: i32) -> Result<()> {
    mgr.add_task(Pid::from_raw(pid))
        .context("adding the container to its cgroup")?;
    if matches!(mgr, AnyCgroupManager::V1(_)) {
        super::cgroup_join::join_extra(path, pid);
    }
    apply_resources(mgr, path, spec)
}

/// Applies the spec's resources (and the devices it lists) to the cgroup:
/// at create, and again by `update`.
pub fn apply_resources(mgr: &AnyCgroupManager, path: &Path, spec: &Spec) -> Result<()> {
    let mut resources = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    allow_spec_devices(spec, &mut resources);
    let disable_oom_killer = resources
        .memory()
        .as_ref()
        .and_then(|m| m.disable_oom_killer())
        .unwrap_or(false);
    super::cgroup_v1::check_unified(&resources)?;
    let v1 = matches!(mgr, AnyCgroupManager::V1(_));
    if v1 {
        super::cgroup_v1::set_cpu_period_quota(path, &resources)?;
    }
    let opt = ControllerOpt {
        resources: &resources,
        disable_oom_killer,
        oom_score_adj: None,
        freezer_state: None,
    };
    mgr.apply(&opt)
        .with_context(|| format!("applying cgroup resources to {}", path.display()))?;
    if v1 {
        super::cgroup_v1::set_weight_devices(path, &resources)?;
    }
    if let (AnyCgroupManager::V2(_), Some(rules)) = (mgr, resources.devices()) {
        // libcgroups without `cgroupsv2_devices` leaves devices alone on v2.
        let dir = Path::new(V1_ROOT).join(path.strip_prefix("/").unwrap_or(path));
        super::device_filter::apply(&dir, rules)?;
    }
    Ok(())
}

/// Devices listed in `linux.devices` are usable in the container, as with runc.
fn allow_spec_devices(spec: &Spec, resources: &mut LinuxResources) {
    let Some(devs) = spec.linux().as_ref().and_then(|l| l.devices().clone()) else {
        return;
    };
    let mut rules = resources.devices().clone().unwrap_or_default();
    // fifos need no device permission (and the devices cgroup rejects type p).
    rules.extend(
        devs.iter()
            .filter(|d| !matches!(d.typ(), oci_spec::runtime::LinuxDeviceType::P))
            .map(LinuxDeviceCgroup::from),
    );
    resources.set_devices(Some(rules));
}

pub fn remove(path: &Path, systemd: bool, id: &str) -> Result<()> {
    let mgr = manager(path, systemd, id)?;
    if !systemd {
        super::cgroup_join::remove_nested(path);
    }
    mgr.remove()
        .with_context(|| format!("removing cgroup {}", path.display()))?;
    if !systemd {
        super::cgroup_join::remove_extra(path);
    }
    Ok(())
}

/// Before anything is made (as runc): a cgroup that already has processes
/// gets a warning, a frozen one is refused (the init would freeze in it).
pub fn precheck(spec: &Spec, path: &Path, systemd: bool, id: &str) -> Result<()> {
    if let Some(res) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        super::cgroup_v1::check_unified(res)?;
    }
    if systemd {
        return Ok(());
    }
    let rel = path.strip_prefix("/").unwrap_or(path);
    let root = Path::new(V1_ROOT);
    let procs = [root.join("devices").join(rel), root.join(rel)]
        .into_iter()
        .find_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok());
    let n = procs.map_or(0, |p| p.lines().filter(|l| !l.is_empty()).count());
    if n > 0 {
        log::warn!("container's cgroup is not empty: {n} process(es) found");
    }
    if is_frozen(path, systemd, id) {
        bail!("container's cgroup unexpectedly frozen");
    }
    Ok(())
}

pub fn freeze(path: &Path, systemd: bool, id: &str, frozen: bool) -> Result<()> {
    let state = if frozen {
        FreezerState::Frozen
    } else {
        FreezerState::Thawed
    };
    manager(path, systemd, id)?
        .freeze(state)
        .with_context(|| format!("setting freezer of cgroup {}", path.display()))
}

pub fn pids(path: &Path, systemd: bool, id: &str) -> Result<Vec<i32>> {
    let pids = manager(path, systemd, id)?
        .get_all_pids()
        .with_context(|| format!("listing processes of cgroup {}", path.display()))?;
    Ok(pids.into_iter().map(|p| p.as_raw()).collect())
}

/// When the cgroup's memory controller has OOM-killed a process: where, and
/// the configured limit (v1: memory.oom_control, v2: memory.events).
pub fn oom_report(path: &Path, systemd: bool, spec: &Spec) -> Option<String> {
    if systemd {
        return None;
    }
    let rel = path.strip_prefix("/").unwrap_or(path);
    let killed = |p: PathBuf| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.lines()
                .filter_map(|l| l.strip_prefix("oom_kill "))
                .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
        })
    };
    let v1 = Path::new(V1_ROOT).join("memory").join(rel);
    let v2 = Path::new(V1_ROOT).join(rel);
    let dir = if killed(v1.join("memory.oom_control")) {
        v1
    } else if killed(v2.join("memory.events")) {
        v2
    } else {
        return None;
    };
    let limit = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.limit());
    Some(match limit {
        Some(l) => format!(
            "out of memory in cgroup {} (linux.resources.memory.limit is {l} bytes)",
            dir.display()
        ),
        None => format!("out of memory in cgroup {}", dir.display()),
    })
}

/// Cheap check for `state`: reads the freezer file directly instead of
/// building a manager.
pub fn is_frozen(path: &Path, systemd: bool, _id: &str) -> bool {
    if systemd {
        return false;
    }
    let rel = path.strip_prefix("/").unwrap_or(path);
    let v1 = Path::new(V1_ROOT)
        .join("freezer")
        .join(rel)
        .join("freezer.state");
    if let Ok(s) = std::fs::read_to_string(&v1) {
        return s.trim() == "FROZEN";
    }
    let v2 = Path::new(V1_ROOT).join(rel).join("cgroup.freeze");
    std::fs::read_to_string(v2).is_ok_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_never_climbs_above_the_cgroup_root() {
        assert_eq!(
            clean(Path::new("/../../../../tmp/X/cg")),
            Path::new("/tmp/X/cg")
        );
        assert_eq!(clean(Path::new("/a/./b/../../..//c")), Path::new("/c"));
        assert_eq!(clean(Path::new("/")), Path::new("/"));
    }
}
