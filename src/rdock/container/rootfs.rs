//! The container's root: overlayfs over the image's layer dirs, with the
//! upper and work dirs in the container's directory.
use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::{Path, PathBuf};

pub fn rootfs_of(dir: &Path) -> PathBuf {
    dir.join("bundle/rootfs")
}

fn is_mounted(p: &Path) -> bool {
    let want = match p.canonicalize() {
        Ok(p) => p,
        Err(_) => return false,
    };
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4).map(Path::new) == Some(want.as_path()))
}

/// Mounts the overlay at `dir/bundle/rootfs` unless it is already there.
/// `layers` come bottom first, as the store lists them.
pub fn mount_overlay(dir: &Path, layers: &[PathBuf]) -> Result<PathBuf> {
    let target = rootfs_of(dir);
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    for d in [&target, &upper, &work] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    if is_mounted(&target) {
        return Ok(target);
    }
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    // An image with one layer still needs two lowers or an upper: we have an upper.
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        &target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .with_context(|| format!("mounting overlay on {}", target.display()))?;
    Ok(target)
}

/// Unmounts the overlay if mounted.
pub fn unmount(dir: &Path) -> Result<()> {
    // A shareable /dev/shm goes with the run (`--ipc shareable`).
    super::namespaces::unmount_shm(dir);
    let target = rootfs_of(dir);
    while is_mounted(&target) {
        umount2(&target, MntFlags::MNT_DETACH)
            .with_context(|| format!("unmounting {}", target.display()))?;
    }
    Ok(())
}

/// The container's file tree as its process sees it, for the 126/127 check:
/// the rootfs with the config's bind mounts (volumes, the /etc files) and
/// tmpfs mounts (empty at start) over it, and the process's cwd, against
/// which relative commands resolve. For `exec`, the running container's own
/// view through `/proc/PID/root`.
pub struct View {
    root: PathBuf,
    /// (destination, host source; None: an empty tmpfs), in config order.
    mounts: Vec<(PathBuf, Option<PathBuf>)>,
    cwd: String,
}

impl View {
    /// Before the start: the bundle's config (`mounts`, `process.cwd`) over `rootfs`.
    pub fn of_config(rootfs: &Path, config: &serde_json::Value) -> View {
        let mounts = config["mounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let dest = PathBuf::from(m["destination"].as_str()?);
                let bind = m["type"] == "bind"
                    || m["options"]
                        .as_array()
                        .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind"));
                if bind {
                    Some((dest, Some(PathBuf::from(m["source"].as_str()?))))
                } else if m["type"] == "tmpfs" {
                    Some((dest, None))
                } else {
                    None
                }
            })
            .collect();
        View {
            root: rootfs.to_path_buf(),
            mounts,
            cwd: config["process"]["cwd"].as_str().unwrap_or("/").to_string(),
        }
    }

    /// A running container: its init's root, every mount included.
    pub fn of_process(pid: i32, cwd: &str) -> View {
        View {
            root: PathBuf::from(format!("/proc/{pid}/root")),
            mounts: Vec::new(),
            cwd: cwd.to_string(),
        }
    }

    /// The host path of the absolute, normalized container path `p`; None
    /// when it is inside a fresh tmpfs (nothing there yet).
    fn host_path(&self, p: &Path) -> Option<PathBuf> {
        // The last mount over `p` wins: a later mount hides an earlier one.
        for (dest, src) in self.mounts.iter().rev() {
            if let Ok(rest) = p.strip_prefix(dest) {
                return match src {
                    Some(s) if rest.as_os_str().is_empty() => Some(s.clone()),
                    Some(s) => Some(s.join(rest)),
                    None if rest.as_os_str().is_empty() => Some(PathBuf::from("/")),
                    None => None,
                };
            }
        }
        Some(self.root.join(p.strip_prefix("/").ok()?))
    }
}

/// Whether `cmd` can be executed in `view`, following PATH (for a bare
/// name), the cwd (for a relative path) and symlinks within the
/// container; `Err(126|127, message)` the way docker reports it.
pub fn check_executable(view: &View, cmd: &str, env: &[String]) -> Result<(), (i32, String)> {
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::container::spec::DEFAULT_PATH);
    let candidates: Vec<String> = if cmd.contains('/') {
        vec![cmd.to_string()]
    } else {
        path.split(':').map(|d| format!("{d}/{cmd}")).collect()
    };
    for c in &candidates {
        let c = if c.starts_with('/') {
            c.clone()
        } else {
            format!("{}/{c}", view.cwd)
        };
        if let Some(p) = resolve_in(view, &c) {
            use std::os::unix::fs::PermissionsExt;
            let md = match std::fs::metadata(&p) {
                Ok(m) => m,
                Err(_) => continue,
            };
            if md.is_dir() || md.permissions().mode() & 0o111 == 0 {
                return Err((126, format!("exec: \"{cmd}\": permission denied")));
            }
            return Ok(());
        }
    }
    if cmd.contains('/') {
        Err((
            127,
            format!("exec: \"{cmd}\": stat {cmd}: no such file or directory"),
        ))
    } else {
        Err((
            127,
            format!("exec: \"{cmd}\": executable file not found in $PATH"),
        ))
    }
}

/// `p` (absolute inside the container) resolved within `view`, symlinks
/// included; None when it does not exist.
fn resolve_in(view: &View, p: &str) -> Option<PathBuf> {
    let mut cur = PathBuf::from("/");
    let mut parts: Vec<String> = p
        .split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    parts.reverse();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        if part == "." {
            continue;
        }
        if part == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        let host = view.host_path(&next)?;
        let md = std::fs::symlink_metadata(&host).ok()?;
        if md.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let t = std::fs::read_link(&host).ok()?;
            let t = t.to_string_lossy().to_string();
            if t.starts_with('/') {
                cur = PathBuf::from("/");
            }
            for q in t.split('/').filter(|s| !s.is_empty()).rev() {
                parts.push(q.to_string());
            }
        } else {
            cur = next;
        }
    }
    view.host_path(&cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_through_path_and_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("bin")).unwrap();
        std::fs::write(r.join("bin/busybox"), "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            r.join("bin/busybox"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        std::fs::write(r.join("bin/data"), "").unwrap();
        let env = vec!["PATH=/usr/bin:/bin".to_string()];
        let v = View::of_config(r, &serde_json::json!({}));
        assert!(check_executable(&v, "sh", &env).is_ok());
        assert_eq!(check_executable(&v, "nope", &env).unwrap_err().0, 127);
        assert_eq!(check_executable(&v, "/bin/nope", &env).unwrap_err().0, 127);
        assert_eq!(check_executable(&v, "/bin/data", &env).unwrap_err().0, 126);
        assert_eq!(check_executable(&v, "./sh", &env).unwrap_err().0, 127);
        let in_bin = View::of_config(r, &serde_json::json!({"process": {"cwd": "/bin"}}));
        assert!(check_executable(&in_bin, "./sh", &env).is_ok());
        assert!(check_executable(&in_bin, "../bin/busybox", &env).is_ok());
    }

    #[test]
    fn commands_are_found_in_bind_mounts_not_in_tmpfs() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let (r, host) = (d.path().join("rootfs"), d.path().join("host"));
        std::fs::create_dir_all(&r).unwrap();
        std::fs::create_dir_all(host.join("sub")).unwrap();
        std::fs::write(host.join("sub/tool"), "").unwrap();
        std::fs::set_permissions(
            host.join("sub/tool"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("sub/tool", host.join("link")).unwrap();
        let config = serde_json::json!({
            "process": {"cwd": "/app"},
            "mounts": [
                {"destination": "/app", "type": "bind", "source": host, "options": ["rbind"]},
                {"destination": "/app/sub", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/mnt", "type": "none", "source": host, "options": ["rbind", "ro"]},
            ]
        });
        let v = View::of_config(&r, &config);
        let env = vec!["PATH=/bin".to_string()];
        assert!(check_executable(&v, "/mnt/sub/tool", &env).is_ok());
        assert!(check_executable(&v, "/mnt/link", &env).is_ok());
        assert_eq!(
            check_executable(&v, "./sub/tool", &env).unwrap_err().0,
            127,
            "under the tmpfs"
        );
        assert_eq!(check_executable(&v, "/app/link", &env).unwrap_err().0, 127);
        assert_eq!(check_executable(&v, "/app/sub", &env).unwrap_err().0, 126);
    }
}
