//! Files: writes that readers never see half done, and openat2(2).

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use nix::errno::Errno;

/// How [`write_atomic`] writes.
#[derive(Clone, Copy)]
pub struct Atomic<'a> {
    /// The new file's mode.
    pub mode: u32,
    /// fsync before the rename (costs milliseconds; for data that must
    /// survive a power cut, not for records that can be rebuilt).
    pub sync: bool,
    /// Where the temp file goes (same filesystem as the target); the
    /// target's directory when None.
    pub tmp_dir: Option<&'a Path>,
}

impl Atomic<'_> {
    pub const fn mode(mode: u32) -> Atomic<'static> {
        Atomic {
            mode,
            sync: false,
            tmp_dir: None,
        }
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `data` to a temp file and renames it over `dest`: readers see the
/// old content or the new, never a part. The temp file is named
/// `.NAME-PID-N`, so what a dead writer left can be told by its pid.
pub fn write_atomic(dest: &Path, data: &[u8], how: Atomic) -> Result<()> {
    let dir = how
        .tmp_dir
        .unwrap_or_else(|| dest.parent().unwrap_or(Path::new(".")));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}-{}-{n}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(how.mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(data)?;
        if how.sync {
            f.sync_data()?;
        }
        std::fs::rename(&tmp, dest)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", dest.display()))
}

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2); `path` is taken relative to `root` whatever its leading slashes.
pub fn openat2(root: BorrowedFd, path: &Path, flags: i32, resolve: u64) -> nix::Result<OwnedFd> {
    let rel = relative(path);
    let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    loop {
        // SAFETY: c and how outlive the call; the kernel copies both.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r >= 0 {
            // SAFETY: a successful openat2 returns a new fd that nobody else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as i32) });
        }
        match Errno::last() {
            Errno::EAGAIN | Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// `path` without its root, `.` for the root itself.
pub fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// The magic-link path through which syscalls that take a path reach `fd`.
pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = std::env::temp_dir().join(format!("sysutil-fs-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("f");
        write_atomic(&p, b"one", Atomic::mode(0o600)).unwrap();
        write_atomic(&p, b"two", Atomic::mode(0o600)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn relative_drops_the_root() {
        assert_eq!(relative(Path::new("/")), PathBuf::from("."));
        assert_eq!(relative(Path::new("//a/./b")), PathBuf::from("a/b"));
    }
}
