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
    let target = rootfs_of(dir);
    while is_mounted(&target) {
        umount2(&target, MntFlags::MNT_DETACH)
            .with_context(|| format!("unmounting {}", target.display()))?;
    }
    Ok(())
}

/// Where `cmd` lives inside `rootfs`, following PATH and symlinks within
/// the rootfs; `Err(126|127, message)` the way docker reports it.
pub fn check_executable(rootfs: &Path, cmd: &str, env: &[String]) -> Result<(), (i32, String)> {
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::rdock::container::spec::DEFAULT_PATH);
    let candidates: Vec<String> = if cmd.contains('/') {
        vec![cmd.to_string()]
    } else {
        path.split(':').map(|d| format!("{d}/{cmd}")).collect()
    };
    for c in &candidates {
        if let Some(p) = resolve_in(rootfs, c) {
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

/// `p` (absolute inside the container) resolved within `rootfs`, symlinks
/// included; None when it does not exist.
fn resolve_in(rootfs: &Path, p: &str) -> Option<PathBuf> {
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
        let host = rootfs.join(next.strip_prefix("/").ok()?);
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
    Some(rootfs.join(cur.strip_prefix("/").ok()?))
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
        assert!(check_executable(r, "sh", &env).is_ok());
        assert_eq!(check_executable(r, "nope", &env).unwrap_err().0, 127);
        assert_eq!(check_executable(r, "/bin/nope", &env).unwrap_err().0, 127);
        assert_eq!(check_executable(r, "/bin/data", &env).unwrap_err().0, 126);
    }
}
