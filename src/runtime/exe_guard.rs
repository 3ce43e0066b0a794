//! CVE-2019-5736: a container must never get a writable handle on the host's
//! runr binary. Every runr process that enters a container (create, run,
//! exec) first makes sure its own /proc/self/exe cannot be written: if the
//! binary already sits on a read-only mount or in a sealed memfd, nothing to
//! do; otherwise runr re-executes itself once from a read-only, detached bind
//! mount of its binary (open_tree + mount_setattr), so that whatever the
//! container later reaches through /proc/<pid>/exe (or a `#!/proc/self/exe`
//! script swapped in after our interpreter check) is on a read-only mount and
//! reopening it for writing fails with EROFS. Where a detached mount is not
//! allowed (no CAP_SYS_ADMIN, old kernel), a sealed memfd copy is used.
//! Commands that never enter a container (state, list, kill, ...) skip all
//! of this and stay as fast as they were.
use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::idmount::MountAttr;

const SELF_EXE: &str = "/proc/self/exe";

/// Re-executes runr from an unwritable copy of itself unless it already runs
/// from one. Returns only when no re-exec was needed (or it failed: the
/// error says why, the caller decides).
pub fn ensure_unwritable_exe() -> Result<()> {
    let exe = File::open(SELF_EXE).context("opening /proc/self/exe")?;
    if is_unwritable(&exe) {
        return Ok(());
    }
    let target = match readonly_bind_of(SELF_EXE) {
        Ok(fd) => fd,
        Err(e) => {
            log::debug!(
                "read-only bind of runr's binary not possible ({e:#}); using a sealed copy"
            );
            sealed_copy(exe).context("copying runr's binary into a sealed memfd")?
        }
    };
    reexec(target.as_raw_fd())
}

/// On a read-only mount, or a memfd sealed against writes.
fn is_unwritable(exe: &File) -> bool {
    let ro = nix::sys::statvfs::fstatvfs(exe)
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        .unwrap_or(false);
    // SAFETY: F_GET_SEALS only reads the seals of an fd we own.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    ro || (seals > 0 && seals & libc::F_SEAL_WRITE != 0)
}

/// A detached bind mount of `path` (a file), made read-only, opened for exec.
fn readonly_bind_of(path: &str) -> Result<OwnedFd> {
    let cpath = CString::new(path).expect("no NUL in a constant path");
    // SAFETY: open_tree with a valid C string; the returned fd is owned below.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            cpath.as_ptr(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC,
        )
    };
    if tree < 0 {
        bail!("open_tree {path}: {}", std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as RawFd) };
    let attr = MountAttr {
        attr_set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOSUID,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = c"";
    // SAFETY: mount_setattr on our tree fd with a properly sized mount_attr.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        bail!(
            "making the bind of {path} read-only: {}",
            std::io::Error::last_os_error()
        );
    }
    // The tree fd is an O_PATH handle on the mount's root, which is the file.
    Ok(tree)
}

/// A memfd holding a copy of the binary, sealed against any change.
fn sealed_copy(mut exe: File) -> Result<OwnedFd> {
    let name = c"runr";
    // SAFETY: memfd_create with a valid name; the fd is owned right away.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        bail!("memfd_create: {}", std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us.
    let mut copy = unsafe { File::from_raw_fd(fd) };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = exe.read(&mut buf).context("reading /proc/self/exe")?;
        if n == 0 {
            break;
        }
        copy.write_all(&buf[..n]).context("writing the memfd")?;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS on a memfd we own.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        bail!("sealing the memfd: {}", std::io::Error::last_os_error());
    }
    Ok(copy.into())
}

/// execveat(fd, "", argv, environ, AT_EMPTY_PATH) with this process's own
/// arguments and environment; returns only on failure.
fn reexec(fd: RawFd) -> Result<()> {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())))
        .collect::<Result<_, _>>()
        .context("an argument holds a NUL byte")?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let empty = c"";
    // SAFETY: argv is NUL-terminated and outlives the call; environ is the
    // process's own environment; on success this call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            empty.as_ptr(),
            argv.as_ptr(),
            environ,
            libc::AT_EMPTY_PATH,
        )
    };
    bail!(
        "re-executing runr from a read-only copy: {}",
        std::io::Error::last_os_error()
    )
}
