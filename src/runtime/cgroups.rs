//! Cgroups through libcgroups: v1, v2 or systemd, picked from the host layout
//! and `--systemd-cgroup`. This module decides the path and keeps the rest of
//! runr independent of which driver is in use.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use libcgroups::common::{
    create_cgroup_manager, get_cgroup_setup, AnyCgroupManager, CgroupConfig, CgroupManager,
    CgroupSetup, ControllerOpt, FreezerState,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, Spec};

const V1_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup path for a container: `linux.cgroupsPath` (absolute, or relative
/// to runr's own cgroup), else `/runr/<id>`; with systemd, `slice:prefix:name`.
pub fn container_path(spec: &Spec, id: &str, systemd: bool) -> PathBuf {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    if systemd {
        return given.unwrap_or_else(|| PathBuf::from(format!("system.slice:runr:{id}")));
    }
    match given {
        Some(p) if p.is_absolute() => p,
        Some(p) => own_cgroup().join(p),
        None => PathBuf::from(format!("/runr/{id}")),
    }
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
    apply_resources(mgr, path, spec)
}

/// Applies the spec's resources to the cgroup, at create and again by `update`.
/// Device access is exactly `device_rules`: the default set and
/// `resources.devices`, never what `linux.devices` merely creates.
pub fn apply_resources(mgr: &AnyCgroupManager, path: &Path, spec: &Spec) -> Result<()> {
    let mut resources = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let rules = device_rules(spec)?;
    resources.set_devices(Some(rules.clone()));
    let disable_oom_killer = resources
        .memory()
        .as_ref()
        .and_then(|m| m.disable_oom_killer())
        .unwrap_or(false);
    let opt = ControllerOpt {
        resources: &resources,
        disable_oom_killer,
        oom_score_adj: None,
        freezer_state: None,
    };
    mgr.apply(&opt).context("applying cgroup resources")?;
    let rel = path.strip_prefix("/").unwrap_or(path);
    match mgr {
        // libcgroups without `cgroupsv2_devices` leaves devices alone on v2.
        AnyCgroupManager::V2(_) => {
            super::device_filter::apply(&Path::new(V1_ROOT).join(rel), &rules)?
        }
        // libcgroups appends its own defaults (more than runc's): start over
        // from deny-all with exactly ours.
        AnyCgroupManager::V1(_) => {
            write_v1_device_rules(&Path::new(V1_ROOT).join("devices").join(rel), &rules)?
        }
        _ => {}
    }
    Ok(())
}

/// The device cgroup rules of a container, built as runc 1.1.5 does:
/// `resources.devices` in order (access letters other than r, w, m dropped,
/// as runc's device emulator does), then runc's default allow list, less
/// the defaults whose path `linux.devices` lists again (the spec's entry
/// replaces them). Listing a device in `linux.devices` creates the node; it
/// does not allow access to it.
pub fn device_rules(spec: &Spec) -> Result<Vec<LinuxDeviceCgroup>> {
    let linux = spec.linux().as_ref();
    let mut rules = Vec::new();
    let given = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref());
    for (i, d) in given.into_iter().flatten().enumerate() {
        let access = d.access().as_deref().unwrap_or_default();
        if access.is_empty() {
            bail!("linux.resources.devices[{i}]: access cannot be empty");
        }
        let mut rule = d.clone();
        rule.set_access(Some(filter_access(access)));
        rules.push(rule);
    }
    let listed: Vec<&Path> = linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .map(|d| d.path().as_path())
        .collect();
    for (path, rule) in default_device_rules() {
        if !path.is_some_and(|p| listed.contains(&Path::new(p))) {
            rules.push(rule);
        }
    }
    Ok(rules)
}

fn filter_access(access: &str) -> String {
    "rwm".chars().filter(|c| access.contains(*c)).collect()
}

/// runc's AllowedDevices: mknod of any node, the standard character
/// devices, ptys and /dev/net/tun; with the path that names each.
fn default_device_rules() -> Vec<(Option<&'static str>, LinuxDeviceCgroup)> {
    use oci_spec::runtime::LinuxDeviceType::{B, C};
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    vec![
        (None, rule(C, None, None, "m")),
        (None, rule(B, None, None, "m")),
        (Some("/dev/null"), rule(C, Some(1), Some(3), "rwm")),
        (Some("/dev/random"), rule(C, Some(1), Some(8), "rwm")),
        (Some("/dev/full"), rule(C, Some(1), Some(7), "rwm")),
        (Some("/dev/tty"), rule(C, Some(5), Some(0), "rwm")),
        (Some("/dev/zero"), rule(C, Some(1), Some(5), "rwm")),
        (Some("/dev/urandom"), rule(C, Some(1), Some(9), "rwm")),
        (None, rule(C, Some(136), None, "rwm")),
        (None, rule(C, Some(5), Some(2), "rwm")),
        (None, rule(C, Some(10), Some(200), "rwm")),
    ]
}

/// v1: deny everything, then each rule in order through devices.allow or
/// devices.deny (a later rule overrides an earlier one, as in runc).
fn write_v1_device_rules(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let write = |file: &str, rule: &str| {
        std::fs::write(dir.join(file), rule)
            .with_context(|| format!("writing {rule:?} to {}", dir.join(file).display()))
    };
    write("devices.deny", "a")?;
    for r in rules {
        let file = if r.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        // "a" with major/minor means every device, whatever the numbers.
        let text = if r.typ().unwrap_or_default() == oci_spec::runtime::LinuxDeviceType::A {
            format!("a *:* {}", r.access().as_deref().unwrap_or("rwm"))
        } else {
            r.to_string()
        };
        write(file, &text)?;
    }
    Ok(())
}

pub fn remove(path: &Path, systemd: bool, id: &str) -> Result<()> {
    if !systemd {
        remove_children(path);
    }
    let mgr = manager(path, systemd, id)?;
    mgr.remove()
        .with_context(|| format!("removing cgroup {}", path.display()))
}

/// Sub-cgroups the container made (it may, through its cgroup namespace or a
/// writable cgroup mount) would keep its cgroup from being removed: kill their
/// processes and remove them, deepest first, in every hierarchy.
fn remove_children(path: &Path) {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        return;
    }
    let mut tops = vec![Path::new(V1_ROOT).join(rel)];
    if let Ok(hiers) = std::fs::read_dir(V1_ROOT) {
        tops.extend(hiers.flatten().map(|h| h.path().join(rel)));
    }
    for top in tops.iter().filter(|t| t.join("cgroup.procs").exists()) {
        let Ok(entries) = std::fs::read_dir(top) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    for attempt in 0..50 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            // Busy until the killed processes are gone.
            Err(e) if attempt == 49 => {
                log::warn!("removing sub-cgroup {}: {e}", dir.display())
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
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
