//! Path resolution that never leaves a root: every mount target and device
//! node is reached through a file descriptor opened with openat2(RESOLVE_IN_ROOT),
//! so a symlink planted in the rootfs cannot redirect it to the host.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::stat::Mode;

pub use sysutil::fs::{
    fd_path, openat2, relative, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
};

pub fn open_path(root: BorrowedFd, path: &Path) -> nix::Result<OwnedFd> {
    openat2(
        root,
        path,
        libc::O_PATH,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    )
}

/// Creates `path` inside `root` (directories all the way, and the last
/// component as a directory or an empty file) and returns an O_PATH fd to it.
/// A dangling symlink on the way (`/etc/resolv.conf ->
/// ../run/systemd/resolve/stub-resolv.conf`) is followed inside the root and
/// its target created there, as runc does.
pub fn create_in_root(root: BorrowedFd, path: &Path, as_file: bool) -> Result<OwnedFd> {
    if let Ok(fd) = open_path(root, path) {
        return Ok(fd);
    }
    let resolved = resolve_in_root(root, path)?;
    let rel = relative(&resolved);
    let mut prefix = PathBuf::new();
    let comps: Vec<_> = rel.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let name = match comp {
            Component::Normal(n) => *n,
            Component::ParentDir => {
                prefix.push("..");
                continue;
            }
            _ => continue,
        };
        let parent = openat2(
            root,
            if prefix.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &prefix
            },
            libc::O_PATH | libc::O_DIRECTORY,
            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        )
        .with_context(|| format!("opening {} in the rootfs", prefix.display()))?;
        prefix.push(name);
        if open_path(root, &prefix).is_ok() {
            continue;
        }
        let last = i == comps.len() - 1;
        let cname = CString::new(name.as_bytes()).context("path contains a NUL byte")?;
        if last && as_file {
            // SAFETY: plain openat on a directory fd we own; the result is closed at once.
            let fd = unsafe {
                libc::openat(
                    parent.as_raw_fd(),
                    cname.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    0o644,
                )
            };
            if fd < 0 && Errno::last() != Errno::EEXIST {
                return Err(Errno::last())
                    .with_context(|| format!("creating file {} in the rootfs", prefix.display()));
            }
            if fd >= 0 {
                // SAFETY: fd was just returned by openat and is ours.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        } else {
            match nix::sys::stat::mkdirat(
                Some(parent.as_raw_fd()),
                cname.as_c_str(),
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("creating directory {} in the rootfs", prefix.display())
                    })
                }
            }
        }
    }
    open_path(root, path).with_context(|| format!("opening {} in the rootfs", path.display()))
}

/// `path` with every symlink that exists on it replaced by its target, read
/// inside `root`: absolute targets restart at the root and `..` stops there,
/// so the result names a place in the root even where the target (or
/// anything after it) does not exist yet.
pub fn resolve_in_root(root: BorrowedFd, path: &Path) -> Result<PathBuf> {
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = normal_parts(path).collect();
    let mut resolved: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            resolved.pop();
            continue;
        }
        let parent: PathBuf = resolved.iter().collect();
        resolved.push(c.clone());
        // Each prefix is free of symlinks by now; the parent is still opened
        // in the root so that a concurrent swap cannot lead out of it.
        let Ok(dir) = openat2(
            root,
            &parent,
            libc::O_PATH | libc::O_DIRECTORY,
            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        ) else {
            // A missing directory: nothing below it is a symlink.
            continue;
        };
        let Ok(target) = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), c.as_os_str()) else {
            continue;
        };
        links += 1;
        if links > 255 {
            bail!("{}: too many levels of symbolic links", path.display());
        }
        let target = PathBuf::from(target);
        resolved.pop();
        if target.is_absolute() {
            resolved.clear();
        }
        for part in normal_parts(&target).collect::<Vec<_>>().into_iter().rev() {
            todo.push_front(part);
        }
    }
    Ok(Path::new("/").join(resolved.iter().collect::<PathBuf>()))
}

/// Refuses a path component that is a symlink (for /proc and /sys targets,
/// which must be real directories: CVE-2019-16884, CVE-2019-19921).
pub fn open_no_symlinks(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    match openat2(
        root,
        path,
        libc::O_PATH,
        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS,
    ) {
        Ok(fd) => Ok(fd),
        Err(Errno::ELOOP) => bail!("{} must be a directory, not a symlink", path.display()),
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

/// Refuses a path (of `maskedPaths`/`readonlyPaths`) that reaches above
/// `root` through a relative symlink, e.g. `/esc -> ../../../etc`: resolved
/// in the root such a link is clamped and harmless, but it is never what the
/// config meant. Absolute symlinks restart at the root and are fine. Costs
/// one openat2 unless the path goes through an absolute or climbing link.
pub fn refuse_escaping_symlink(root: BorrowedFd, path: &Path) -> Result<()> {
    match openat2(
        root,
        path,
        libc::O_PATH,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    ) {
        Err(Errno::EXDEV) => {}
        _ => return Ok(()),
    }
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = normal_parts(path).collect();
    let mut resolved: Vec<std::ffi::OsString> = Vec::new();
    let mut last_link: Option<(PathBuf, PathBuf)> = None;
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            if resolved.pop().is_none() {
                let (link, target) = last_link.unwrap_or_default();
                bail!(
                    "{}: symlink {} -> {} points outside the container's root",
                    path.display(),
                    link.display(),
                    target.display()
                );
            }
            continue;
        }
        resolved.push(c);
        let cur: PathBuf = resolved.iter().collect();
        let Ok(target) = nix::fcntl::readlinkat(Some(root.as_raw_fd()), &cur) else {
            continue;
        };
        links += 1;
        if links > 40 {
            bail!("{}: too many levels of symbolic links", path.display());
        }
        let target = PathBuf::from(target);
        resolved.pop();
        if target.is_absolute() {
            resolved.clear();
        }
        for part in normal_parts(&target).collect::<Vec<_>>().into_iter().rev() {
            todo.push_front(part);
        }
        last_link = Some((Path::new("/").join(cur), target));
    }
    Ok(())
}

/// The components of a path as names and `..`, without `/` and `.`.
fn normal_parts(p: &Path) -> impl Iterator<Item = std::ffi::OsString> + '_ {
    p.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    })
}

/// True when `p` is absolute and, read lexically, never climbs above `/`.
pub fn stays_in_root(p: &Path) -> bool {
    let mut depth = 0usize;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir if depth == 0 => return false,
            Component::ParentDir => depth -= 1,
            _ => {}
        }
    }
    p.is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::fs::symlink;

    #[test]
    fn dangling_symlinks_resolve_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("runr-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            dir.join("etc/resolv.conf"),
        )
        .unwrap();
        symlink("/missing/dir", dir.join("abs")).unwrap();
        symlink("../../../../../host", dir.join("etc/esc")).unwrap();
        let root = std::fs::File::open(&dir).unwrap();
        let r = |p: &str| resolve_in_root(root.as_fd(), Path::new(p)).unwrap();
        assert_eq!(
            r("/etc/resolv.conf"),
            Path::new("/run/systemd/resolve/stub-resolv.conf")
        );
        assert_eq!(r("/abs/x"), Path::new("/missing/dir/x"));
        assert_eq!(r("/etc/esc/y"), Path::new("/host/y"));
        assert_eq!(r("/nope/../etc/./z"), Path::new("/etc/z"));
        let fd = create_in_root(root.as_fd(), Path::new("/etc/resolv.conf"), true).unwrap();
        drop(fd);
        assert!(dir.join("run/systemd/resolve/stub-resolv.conf").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
