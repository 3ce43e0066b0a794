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
use oci_spec::runtime::{LinuxDeviceCgroup, Spec};

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
    let unified = matches!(get_cgroup_setup(), Ok(CgroupSetup::Unified));
    sysutil::proc::own_cgroups()
        .into_iter()
        .find(|(ctrl, _)| {
            if unified {
                ctrl.is_empty()
            } else {
                !ctrl.is_empty() && !ctrl.starts_with("name=")
            }
        })
        .map(|(_, path)| path)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The cgroup driver `create` uses: on a v1 or hybrid host without systemd,
/// runr's own join of the hierarchies (one mountinfo read; libcgroups' v1
/// manager reads mountinfo and /proc/self/cgroup once per controller), with
/// libcgroups only for resources it applies; else libcgroups' manager.
pub enum Cgroup {
    Lib(AnyCgroupManager),
    V1(Vec<super::cgroup_join::Hierarchy>),
}

pub fn for_create(path: &Path, systemd: bool, id: &str) -> Result<Cgroup> {
    if !systemd && is_v1_setup() {
        let hs = super::cgroup_join::hierarchies();
        if super::cgroup_join::is_v1_host(&hs) {
            return Ok(Cgroup::V1(hs));
        }
    }
    Ok(Cgroup::Lib(manager(path, systemd, id)?))
}

fn is_v1_setup() -> bool {
    matches!(
        get_cgroup_setup(),
        Ok(CgroupSetup::Legacy | CgroupSetup::Hybrid)
    )
}

/// Resources other than devices (which runr writes itself on v1): only
/// these need libcgroups' manager.
fn needs_lib_v1(spec: &Spec) -> bool {
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return false;
    };
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.network().is_some()
        || r.rdma().as_ref().is_some_and(|h| !h.is_empty())
        || r.unified().as_ref().is_some_and(|h| !h.is_empty())
}

/// Puts `pid` into the container's cgroup and applies the spec's resources.
pub fn setup(cg: &Cgroup, path: &Path, spec: &Spec, pid: i32) -> Result<()> {
    match cg {
        Cgroup::Lib(mgr) => {
            mgr.add_task(Pid::from_raw(pid))
                .context("adding the container to its cgroup")?;
            if matches!(mgr, AnyCgroupManager::V1(_)) {
                super::cgroup_join::join_extra(path, pid);
            }
            apply_resources(mgr, path, spec)
        }
        Cgroup::V1(hs) => {
            super::cgroup_join::join_controllers_v1(hs, path, pid)
                .context("adding the container to its cgroup")?;
            super::cgroup_join::join_extra_in(hs, path, pid);
            // Resources go through libcgroups exactly as before.
            if needs_lib_v1(spec) {
                let mgr = manager(path, false, "")?;
                return apply_resources(&mgr, path, spec);
            }
            let rules = device_rules(spec)?;
            let rel = path.strip_prefix("/").unwrap_or(path);
            write_v1_device_rules(&Path::new(V1_ROOT).join("devices").join(rel), &rules)
        }
    }
}

pub fn manager(path: &Path, systemd: bool, id: &str) -> Result<AnyCgroupManager> {
    create_cgroup_manager(CgroupConfig {
        cgroup_path: path.to_path_buf(),
        systemd_cgroup: systemd,
        container_name: id.to_string(),
    })
    .with_context(|| format!("creating cgroup manager for {}", path.display()))
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
    // On v1 the device list is ours to write (below); libcgroups would start
    // it with a deny-all, which an `update` must never pass through.
    let v1 = matches!(mgr, AnyCgroupManager::V1(_));
    resources.set_devices((!v1).then(|| rules.clone()));
    let disable_oom_killer = resources
        .memory()
        .as_ref()
        .and_then(|m| m.disable_oom_killer())
        .unwrap_or(false);
    super::cgroup_v1::check_unified(&resources)?;
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
/// devices.deny (a later rule overrides an earlier one, as in runc). A cgroup
/// already in allow-list mode (an `update` of a running container) is moved
/// to the new list without passing through deny-all, so the container never
/// loses a device it keeps (runc's minimal transition).
fn write_v1_device_rules(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let write = |file: &str, rule: &str| {
        std::fs::write(dir.join(file), rule)
            .with_context(|| format!("writing {rule:?} to {}", dir.join(file).display()))
    };
    let current = std::fs::read_to_string(dir.join("devices.list")).unwrap_or_default();
    if let Some(plan) = v1_transition(&current, rules) {
        for rule in &plan.allow {
            write("devices.allow", rule)?;
        }
        for rule in &plan.deny {
            write("devices.deny", rule)?;
        }
        return Ok(());
    }
    write("devices.deny", "a")?;
    for r in rules {
        let file = if r.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        write(file, &v1_rule_text(r))?;
    }
    Ok(())
}

fn v1_rule_text(r: &LinuxDeviceCgroup) -> String {
    // "a" with major/minor means every device, whatever the numbers.
    if r.typ().unwrap_or_default() == oci_spec::runtime::LinuxDeviceType::A {
        format!("a *:* {}", r.access().as_deref().unwrap_or("rwm"))
    } else {
        r.to_string()
    }
}

#[derive(Debug, PartialEq)]
struct Transition {
    allow: Vec<String>,
    deny: Vec<String>,
}

/// From an allow list (`devices.list` without `a *:*`) to what `rules` make
/// of a deny-all (an optional leading deny of everything, then allows and
/// denies of single entries, which in allow-list mode add and remove access
/// of exactly that entry): allow the wanted access of each entry (already
/// allowed ones are unchanged), then deny, entry by entry, what is not
/// wanted. None when a plain rewrite is needed (allow-all, a later deny-all).
fn v1_transition(current: &str, rules: &[LinuxDeviceCgroup]) -> Option<Transition> {
    use std::collections::BTreeMap;
    let key_access = |line: &str| -> Option<(String, String)> {
        let mut f = line.split_whitespace();
        let (t, nums, access) = (f.next()?, f.next()?, f.next()?);
        Some((format!("{t} {nums}"), access.to_string()))
    };
    if current.trim().is_empty() || current.lines().any(|l| l.starts_with("a ")) {
        return None;
    }
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let (key, access) = key_access(&v1_rule_text(r))?;
        if key == "a *:*" {
            let everything = "rwm".chars().all(|c| access.contains(c));
            if i == 0 && !r.allow() && everything {
                continue;
            }
            return None;
        }
        let entry = want.entry(key).or_default();
        if r.allow() {
            entry.extend(
                access
                    .chars()
                    .filter(|c| !entry.contains(*c))
                    .collect::<Vec<_>>(),
            );
        } else {
            entry.retain(|c| !access.contains(c));
        }
    }
    want.retain(|_, access| !access.is_empty());
    let allow = want.iter().map(|(k, a)| format!("{k} {a}")).collect();
    let deny = current
        .lines()
        .filter_map(key_access)
        .filter_map(|(key, access)| {
            let wanted = want.get(&key).map(String::as_str).unwrap_or("");
            let extra: String = access.chars().filter(|c| !wanted.contains(*c)).collect();
            (!extra.is_empty()).then(|| format!("{key} {extra}"))
        })
        .collect();
    Some(Transition { allow, deny })
}

pub fn remove(path: &Path, systemd: bool, id: &str) -> Result<()> {
    if !systemd && is_v1_setup() {
        let hs = super::cgroup_join::hierarchies();
        if super::cgroup_join::is_v1_host(&hs) {
            super::cgroup_join::remove_nested_in(&hs, path);
            super::cgroup_join::remove_controllers_v1(&hs, path)
                .with_context(|| format!("removing cgroup {}", path.display()))?;
            super::cgroup_join::remove_extra_in(&hs, path);
            return Ok(());
        }
    }
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

    #[test]
    fn only_resources_beyond_devices_need_libcgroups_on_v1() {
        let spec = |resources: serde_json::Value| -> Spec {
            serde_json::from_value(serde_json::json!({
                "ociVersion": "1.0.2",
                "linux": {"resources": resources}
            }))
            .unwrap()
        };
        let devices = serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]});
        assert!(!needs_lib_v1(&spec(serde_json::json!({}))));
        assert!(!needs_lib_v1(&spec(devices)));
        assert!(!needs_lib_v1(&spec(
            serde_json::json!({"hugepageLimits": []})
        )));
        for r in [
            serde_json::json!({"memory": {"limit": 1048576}}),
            serde_json::json!({"cpu": {}}),
            serde_json::json!({"pids": {"limit": 5}}),
            serde_json::json!({"blockIO": {}}),
            serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}),
            serde_json::json!({"network": {}}),
            serde_json::json!({"unified": {"pids.max": "5"}}),
        ] {
            assert!(needs_lib_v1(&spec(r.clone())), "{r}");
        }
    }
}

#[cfg(test)]
mod transition_tests {
    use super::*;
    use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType};

    fn rule(
        allow: bool,
        typ: LinuxDeviceType,
        maj: Option<i64>,
        min: Option<i64>,
        acc: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .access(acc);
        if let Some(m) = maj {
            b = b.major(m);
        }
        if let Some(m) = min {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn an_allow_list_moves_without_passing_through_deny_all() {
        let rules = [
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(5), "rw"),
        ];
        let current = "c 1:3 rwm\nc 1:5 rwm\nc 5:1 rwm\n";
        let t = v1_transition(current, &rules).unwrap();
        assert_eq!(t.allow, vec!["c 1:3 rwm", "c 1:5 rw"]);
        assert_eq!(t.deny, vec!["c 1:5 m", "c 5:1 rwm"]);
    }

    #[test]
    fn a_deny_of_one_entry_removes_only_its_access() {
        let rules = [
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(false, LinuxDeviceType::C, Some(1), Some(11), "rw"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
            rule(false, LinuxDeviceType::C, Some(1), Some(3), "m"),
        ];
        let t = v1_transition("c 1:3 rwm\nc 1:11 r\n", &rules).unwrap();
        assert_eq!(t.allow, vec!["c 1:3 rw"]);
        assert_eq!(t.deny, vec!["c 1:3 m", "c 1:11 r"]);
    }

    #[test]
    fn allow_all_or_later_denies_need_a_rewrite() {
        let deny_all = rule(false, LinuxDeviceType::A, None, None, "rwm");
        let null = rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm");
        assert_eq!(
            v1_transition("a *:* rwm\n", &[deny_all.clone(), null.clone()]),
            None
        );
        let late_deny = rule(false, LinuxDeviceType::A, None, None, "rwm");
        assert_eq!(
            v1_transition("c 1:3 rwm\n", &[deny_all, null, late_deny]),
            None
        );
    }
}
