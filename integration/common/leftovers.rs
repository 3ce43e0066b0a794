//! What a container can leave on the machine — a state dir under `--root`,
//! cgroup directories, mounts, processes — and the forced cleanup of it.

use std::path::Path;
use std::time::Duration;

/// The cgroup directories of `cgroups_path` that exist, in every mounted
/// hierarchy under /sys/fs/cgroup (v1 controllers and the unified one).
fn cgroup_dirs(cgroups_path: &str) -> Vec<std::path::PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    if rel.is_empty() {
        return Vec::new();
    }
    let mut dirs = Vec::new();
    let top = Path::new("/sys/fs/cgroup");
    if top.join(rel).is_dir() {
        dirs.push(top.join(rel));
    }
    for e in std::fs::read_dir(top).into_iter().flatten().flatten() {
        let d = e.path().join(rel);
        if d.is_dir() {
            dirs.push(d);
        }
    }
    dirs
}

/// Mount points (as the test process sees them) at or under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.display().to_string();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|mp| mp.replace("\\040", " "))
        .filter(|mp| mp == &dir || mp.starts_with(&format!("{dir}/")))
        .collect()
}

/// Processes that live in `cgroups_path`, or in a mount namespace built
/// from `dir` (a pivoted container shows its root as "/" in /proc/PID/root,
/// but its mountinfo names the bundle path as a mount's root or mount point).
fn processes(dir: &Path, cgroups_path: &str) -> Vec<(i32, String)> {
    let dir = dir.display().to_string();
    let under = |p: &str| p == dir || p.starts_with(&format!("{dir}/"));
    let mut found = Vec::new();
    let me = std::process::id() as i32;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let in_cgroup = !cgroups_path.is_empty()
            && cgroup
                .lines()
                .any(|l| l.rsplit(':').next() == Some(cgroups_path));
        let in_bundle = || {
            let mounts = std::fs::read_to_string(e.path().join("mountinfo")).unwrap_or_default();
            mounts.lines().any(|l| {
                let mut f = l.split(' ').skip(3);
                let (root, mount_point) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                under(root) || under(mount_point)
            })
        };
        if in_cgroup || in_bundle() {
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

/// Everything container `id` left: state dir, cgroups, mounts under `dir`,
/// processes.
pub fn find(root: &Path, id: &str, cgroups_path: &str, dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let state = root.join(id);
    if state.exists() {
        found.push(format!("state dir {}", state.display()));
    }
    for d in cgroup_dirs(cgroups_path) {
        found.push(format!("cgroup {}", d.display()));
    }
    for mp in mounts_under(dir) {
        found.push(format!("mount {mp}"));
    }
    for (pid, comm) in processes(dir, cgroups_path) {
        found.push(format!("process {pid} ({comm})"));
    }
    found
}

/// Removes what a runtime left behind: kills the container processes (which
/// this test started), unmounts under `dir`, removes the cgroups.
pub fn force_clean(_root: &Path, cgroups_path: &str, dir: &Path) {
    for (pid, _) in processes(dir, cgroups_path) {
        // A container process that this test's runtime started.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let mut mounts = mounts_under(dir);
    mounts.reverse();
    for mp in mounts {
        let _ = nix::mount::umount2(mp.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
    for _ in 0..50 {
        let dirs = cgroup_dirs(cgroups_path);
        if dirs.is_empty() {
            break;
        }
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
