//! The cgroup directories a process joins, one per mounted hierarchy: on
//! cgroup v1 each controller hierarchy and the named ones (name=systemd) and,
//! on a hybrid host, the cgroup2 one (keyed ""); on v2 the one unified
//! directory. libcgroups joins the controller hierarchies; runr adds the rest
//! (as runc does), and `exec --cgroup` picks sub-cgroups of the container's.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Result};

use super::cgroupfs::mountinfo;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v1 controllers libcgroups' manager joins (its CONTROLLERS list).
const LIB_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

/// One mounted hierarchy: the names it is known by and its mount point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Controllers (`cpu`, `cpuacct`), `name=systemd`, or `""` for cgroup2.
    pub names: Vec<String>,
    pub mount: PathBuf,
}

impl Hierarchy {
    /// The container's directory in this hierarchy.
    pub fn dir(&self, cgroup_path: &Path) -> PathBuf {
        self.mount
            .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path))
    }

    /// A hierarchy of a controller libcgroups' v1 manager handles.
    pub fn is_controller(&self) -> bool {
        self.names
            .iter()
            .any(|n| LIB_CONTROLLERS.contains(&n.as_str()))
    }

    /// Hierarchies libcgroups' v1 manager does not handle.
    fn is_extra(&self) -> bool {
        self.names
            .iter()
            .any(|n| n.is_empty() || n.starts_with("name="))
    }
}

/// The hierarchies mounted under /sys/fs/cgroup, first mount of each.
pub fn hierarchies() -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for mi in mountinfo() {
        if !mi.mount_point.starts_with(CGROUP_ROOT) {
            continue;
        }
        let names = match mi.fstype.as_str() {
            "cgroup2" => vec![String::new()],
            "cgroup" => v1_names(&mi.super_opts),
            _ => continue,
        };
        if names.is_empty() || out.iter().any(|h| h.names == names) {
            continue;
        }
        out.push(Hierarchy {
            names,
            mount: mi.mount_point,
        });
    }
    out
}

/// The controller names in a v1 mount's super options (`rw,cpu,cpuacct`).
fn v1_names(opts: &str) -> Vec<String> {
    const NOT_NAMES: &[&str] = &[
        "rw",
        "ro",
        "xattr",
        "noprefix",
        "clone_children",
        "cpuset_v2_mode",
        "favordynmods",
        "none",
    ];
    opts.split(',')
        .filter(|o| !o.is_empty() && !NOT_NAMES.contains(o) && !o.starts_with("release_agent="))
        .map(String::from)
        .collect()
}

/// Whether /sys/fs/cgroup is cgroup v1 (or hybrid): only then does runr join
/// the hierarchies libcgroups leaves out.
pub fn is_v1_host(hs: &[Hierarchy]) -> bool {
    !hs.iter()
        .any(|h| h.mount == Path::new(CGROUP_ROOT) && h.names == [String::new()])
}

/// On a v1 or hybrid host, puts `pid` into the container's cgroup in the
/// named hierarchies (name=systemd) and the cgroup2 one, creating it: as
/// with runc, failures there are ignored (the hierarchy may be read-only).
pub fn join_extra(cgroup_path: &Path, pid: i32) {
    join_extra_in(&hierarchies(), cgroup_path, pid)
}

pub fn join_extra_in(hs: &[Hierarchy], cgroup_path: &Path, pid: i32) {
    if !is_v1_host(hs) {
        return;
    }
    for h in hs.iter().filter(|h| h.is_extra()) {
        let dir = h.dir(cgroup_path);
        let res = fs::create_dir_all(&dir)
            .map_err(anyhow::Error::from)
            .and_then(|_| write_procs(&dir, pid));
        if let Err(e) = res {
            log::debug!("joining {}: {e:#}", dir.display());
        }
    }
}

/// Removes what `join_extra` made (after the controllers' directories are
/// gone, so nothing is left in them).
pub fn remove_extra(cgroup_path: &Path) {
    remove_extra_in(&hierarchies(), cgroup_path)
}

pub fn remove_extra_in(hs: &[Hierarchy], cgroup_path: &Path) {
    if !is_v1_host(hs) {
        return;
    }
    for h in hs.iter().filter(|h| h.is_extra()) {
        let dir = h.dir(cgroup_path);
        if dir != h.mount {
            let _ = fs::remove_dir(&dir);
        }
    }
}

/// Removes the sub-cgroups made inside the container's cgroup (by its
/// processes, through its cgroup namespace, or `exec --cgroup` users),
/// deepest first, in every hierarchy, so the container's own directory can
/// go. A process still in one is killed; EBUSY is retried briefly while the
/// kernel notices it is gone.
pub fn remove_nested(cgroup_path: &Path) {
    remove_nested_in(&hierarchies(), cgroup_path)
}

pub fn remove_nested_in(hs: &[Hierarchy], cgroup_path: &Path) {
    for h in hs {
        let dir = h.dir(cgroup_path);
        if dir == h.mount {
            continue;
        }
        for sub in subdirs_deepest_first(&dir) {
            for attempt in 0..50 {
                match fs::remove_dir(&sub) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                        kill_members(&sub);
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Err(e) => {
                        log::debug!("removing {}: {e}", sub.display());
                        break;
                    }
                    Ok(()) => break,
                }
            }
        }
    }
}

/// libcgroups' v1 `add_task` without its manager (which reads mountinfo
/// once per controller): in each controller hierarchy, create the
/// container's directory (cpuset: cpus and mems filled from the parents, as
/// the kernel refuses tasks in an empty cpuset) and write the pid.
pub fn join_controllers_v1(hs: &[Hierarchy], cgroup_path: &Path, pid: i32) -> Result<()> {
    for h in hs.iter().filter(|h| h.is_controller()) {
        let dir = h.dir(cgroup_path);
        fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        if h.names.iter().any(|n| n == "cpuset") {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                fill_from_parents(&h.mount, &dir, f)?;
            }
        }
        write_procs(&dir, pid)?;
    }
    Ok(())
}

/// libcgroups' cpuset ensure_not_empty: walking down from the mount, an
/// empty `file` takes its parent's value.
fn fill_from_parents(mount: &Path, dir: &Path, file: &str) -> Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        let parent = fs::read_to_string(cur.join(file))?;
        if parent.trim().is_empty() {
            bail!("cpuset: {} is empty", cur.join(file).display());
        }
        cur.push(c);
        let child = cur.join(file);
        if fs::read_to_string(&child)?.trim().is_empty() {
            fs::write(&child, &parent)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", child.display()))?;
        }
    }
    Ok(())
}

/// libcgroups' v1 `remove` without its manager: kill what is left in each
/// controller directory, then rmdir it (4 tries, 10, 10, 20, 60 ms apart).
pub fn remove_controllers_v1(hs: &[Hierarchy], cgroup_path: &Path) -> Result<()> {
    for h in hs.iter().filter(|h| h.is_controller()) {
        let dir = h.dir(cgroup_path);
        if dir == h.mount || !dir.exists() {
            continue;
        }
        let procs = fs::read_to_string(dir.join("cgroup.procs"))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.join("cgroup.procs").display()))?;
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut delay = std::time::Duration::from_millis(10);
        let mut removed = false;
        for attempt in 1..=4u32 {
            if fs::remove_dir(&dir).is_ok() {
                removed = true;
                break;
            }
            std::thread::sleep(delay);
            delay = (delay * attempt).min(std::time::Duration::from_millis(100));
        }
        if !removed {
            bail!("could not delete {}", dir.display());
        }
    }
    Ok(())
}

fn kill_members(dir: &Path) {
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn subdirs_deepest_first(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(subdirs_deepest_first(&e.path()));
            out.push(e.path());
        }
    }
    out
}

/// `exec --cgroup` arguments as runc takes them: one bare `PATH` (for every
/// hierarchy), or any number of `CONTROLLER[,CONTROLLER]:PATH`.
pub fn parse_sub_paths(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        let parts: Vec<&str> = a.splitn(3, ':').collect();
        match parts[..] {
            [path] => {
                if args.len() != 1 {
                    bail!("invalid --cgroup argument: {a} (missing <controller>: prefix)");
                }
                out.insert(String::new(), path.to_string());
            }
            [ctrls, path] => {
                for c in ctrls.split(',') {
                    if c.is_empty() {
                        bail!("invalid --cgroup argument: {a} (empty <controller> prefix)");
                    }
                    if out.insert(c.to_string(), path.to_string()).is_some() {
                        bail!(
                            "invalid --cgroup argument(s): controller {c} specified multiple times"
                        );
                    }
                }
            }
            _ => bail!("invalid --cgroup argument: {a}"),
        }
    }
    Ok(out)
}

/// A directory an exec'd process joins; joining an `optional` one may fail
/// (the named and hybrid hierarchies, as at create).
pub struct JoinDir {
    pub dir: PathBuf,
    pub optional: bool,
}

/// The directories an exec'd process joins: the container's cgroup in each
/// hierarchy it has there, a sub-cgroup where `subs` asks for one. Checked
/// before the process starts.
pub fn exec_dirs(cgroup_path: &Path, subs: &BTreeMap<String, String>) -> Result<Vec<JoinDir>> {
    let hs: Vec<Hierarchy> = hierarchies()
        .into_iter()
        .filter(|h| h.dir(cgroup_path).is_dir())
        .collect();
    for c in subs.keys().filter(|c| !c.is_empty()) {
        if !hs.iter().any(|h| h.names.contains(c)) {
            bail!("unknown controller {c} in --cgroup");
        }
    }
    let mut out = Vec::new();
    for h in &hs {
        let sub = subs
            .get("")
            .or_else(|| h.names.iter().find_map(|n| subs.get(n)));
        let base = h.dir(cgroup_path);
        out.push(match sub {
            Some(s) => JoinDir {
                dir: sub_dir(&base, s)?,
                optional: false,
            },
            None => JoinDir {
                dir: base,
                optional: h.is_extra(),
            },
        });
    }
    Ok(out)
}

/// `base/sub`, cleaned; it must stay inside `base`.
fn sub_dir(base: &Path, sub: &str) -> Result<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(sub).components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::ParentDir => {
                parts
                    .pop()
                    .ok_or_else(|| anyhow::anyhow!("{sub} is not a sub cgroup path"))?;
            }
            _ => {}
        }
    }
    Ok(parts.iter().fold(base.to_path_buf(), |p, n| p.join(n)))
}

/// Joins every directory; the first failure names the file, as runc's does.
pub fn join_dirs(dirs: &[JoinDir], pid: i32) -> Result<()> {
    for d in dirs {
        match write_procs(&d.dir, pid) {
            Err(e) if d.optional => log::debug!("joining {}: {e:#}", d.dir.display()),
            r => r.map_err(|e| anyhow::anyhow!("error adding pid {pid} to cgroups: {e}"))?,
        }
    }
    Ok(())
}

fn write_procs(dir: &Path, pid: i32) -> Result<()> {
    let file = dir.join("cgroup.procs");
    let res = OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|mut f| f.write_all(pid.to_string().as_bytes()));
    res.map_err(|e| anyhow::anyhow!("writing {}: {}", file.display(), errno_text(&e)))
}

/// The kernel's error text the way Go prints it ("no such file or directory").
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sub_paths_parse_like_runc() {
        let m = parse_sub_paths(&args(&["foo"])).unwrap();
        assert_eq!(m.get(""), Some(&"foo".to_string()));
        let m = parse_sub_paths(&args(&["memory:a", "cpu,cpuacct:b"])).unwrap();
        assert_eq!(m.get("cpuacct"), Some(&"b".to_string()));
        assert_eq!(m.len(), 3);
        assert!(parse_sub_paths(&args(&["a", "b"])).is_err());
        assert!(parse_sub_paths(&args(&["a:b:c"])).is_err());
        assert!(parse_sub_paths(&args(&["cpu:a", "cpu:b"])).is_err());
        assert!(parse_sub_paths(&args(&[":a"])).is_err());
    }

    #[test]
    fn sub_dirs_stay_inside() {
        let base = Path::new("/sys/fs/cgroup/memory/ct");
        assert_eq!(sub_dir(base, "/").unwrap(), base);
        assert_eq!(sub_dir(base, "a/../b").unwrap(), base.join("b"));
        assert!(sub_dir(base, "..").is_err());
        assert!(sub_dir(base, "a/../../x").is_err());
    }

    #[test]
    fn v1_options_give_controller_names() {
        assert_eq!(v1_names("rw,cpu,cpuacct"), ["cpu", "cpuacct"]);
        assert_eq!(v1_names("rw,xattr,name=systemd"), ["name=systemd"]);
        assert_eq!(v1_names("rw,release_agent=/x,memory"), ["memory"]);
    }
}
