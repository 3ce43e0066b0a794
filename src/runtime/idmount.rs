//! Idmapped bind mounts: a mount with `uidMappings`/`gidMappings` (or the
//! `idmap`/`ridmap` option, which takes the container's own maps).
//!
//! The kernel wants CAP_SYS_ADMIN over the source's superblock to idmap a
//! mount, which the init in a user namespace lacks; so runr, before the
//! clone, clones the source tree detached (open_tree), sets the idmap on it
//! (mount_setattr with the fd of a user namespace holding the maps, from a
//! short-lived child), and the init only moves it into place (move_mount).

use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use super::idmap;

const OPEN_TREE_CLONE: u32 = 1;
const AT_RECURSIVE: u32 = 0x8000;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// struct mount_attr of <linux/mount.h>.
#[repr(C)]
pub(super) struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// One detached, idmapped tree per spec mount that asks for one (None for the others).
pub type Prepared = Vec<Option<OwnedFd>>;

/// Whether mount `m` is idmapped, and recursively (`ridmap`).
fn wants(m: &Mount) -> Option<bool> {
    let opts = m.options().as_deref().unwrap_or_default();
    let recursive = opts.iter().any(|o| o == "ridmap");
    let asked = recursive
        || opts.iter().any(|o| o == "idmap")
        || m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty());
    asked.then_some(recursive)
}

/// Every idmapped mount's tree, made now in runr's namespaces. Empty (and
/// costs nothing) when no mount asks for an idmap.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Prepared> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    if !mounts.iter().any(|m| wants(m).is_some()) {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(mounts.len());
    for m in mounts {
        let Some(recursive) = wants(m) else {
            out.push(None);
            continue;
        };
        let dest = m.destination().display();
        let opts = m.options().as_deref().unwrap_or_default();
        let is_bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        if !is_bind {
            bail!("mount {dest}: idmapped mounts are only supported for bind mounts");
        }
        let (uid, gid) = match m.uid_mappings().as_deref().filter(|v| !v.is_empty()) {
            Some(uid) => (uid, m.gid_mappings().as_deref().unwrap_or_default()),
            None => (idmap::uid_mappings(spec), idmap::gid_mappings(spec)),
        };
        if uid.is_empty() || gid.is_empty() {
            bail!("mount {dest}: idmap asked for, but there are no uid and gid mappings (neither the mount's nor the container's)");
        }
        let source = m.source().clone().unwrap_or_default();
        let source = if source.is_relative() {
            bundle.join(source)
        } else {
            source
        };
        let userns = userns_with(uid, gid)
            .with_context(|| format!("mount {dest}: making a user namespace for its idmap"))?;
        let tree = clone_tree(&source, recursive || opts.iter().any(|o| o == "rbind"))
            .with_context(|| format!("mount {dest}: cloning {}", source.display()))?;
        set_idmap(&tree, &userns, recursive)
            .with_context(|| format!("mount {dest}: idmapping {}", source.display()))?;
        out.push(Some(tree));
    }
    Ok(out)
}

/// A user namespace with these maps: a child made in it waits, paused,
/// while runr writes its maps and opens the namespace, then is killed.
fn userns_with(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<File> {
    // SAFETY: a fork-like clone of single-threaded runr; the child only pauses until killed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if r == 0 {
        loop {
            // SAFETY: pause has no arguments; the child waits here for SIGKILL.
            unsafe { libc::pause() };
        }
    }
    if r < 0 {
        return Err(nix::errno::Errno::last()).context("clone with a new user namespace");
    }
    let pid = r as i32;
    let res = idmap::write(pid, uid, gid).and_then(|()| {
        File::open(format!("/proc/{pid}/ns/user")).context("opening its user namespace")
    });
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = waitpid(Pid::from_raw(pid), None);
    res
}

pub(super) fn clone_tree(source: &Path, recursive: bool) -> Result<OwnedFd> {
    let path = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
        .context("source path has a NUL byte")?;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: path is a valid C string; the syscall returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(nix::errno::Errno::last()).context("open_tree");
    }
    // SAFETY: a fresh fd returned by open_tree, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn set_idmap(tree: &OwnedFd, userns: &File, recursive: bool) -> Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let flags = libc::AT_EMPTY_PATH as u32 | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: attr lives across the call and its size is passed; "" with AT_EMPTY_PATH names the fd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        let e = nix::errno::Errno::last();
        let hint = match e {
            nix::errno::Errno::EINVAL => " (the filesystem may not support idmapped mounts)",
            nix::errno::Errno::ENOSYS => " (the kernel has no idmapped mounts; Linux 5.12+)",
            _ => "",
        };
        return Err(e).with_context(|| format!("mount_setattr(MOUNT_ATTR_IDMAP){hint}"));
    }
    Ok(())
}

/// In the init: puts the prepared tree at `target` (an O_PATH fd in the rootfs).
pub fn attach(tree: BorrowedFd, target: BorrowedFd) -> Result<()> {
    // SAFETY: both fds are live; "" with the *_EMPTY_PATH flags names the fds themselves.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last()).context("move_mount of the idmapped tree");
    }
    Ok(())
}

/// For `features`: the kernel has mount_setattr (and with it MOUNT_ATTR_IDMAP,
/// both since 5.12). A call on an invalid fd tells without changing anything.
pub fn supported() -> bool {
    let attr = MountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: fd -1 makes the call fail (EBADF) where it exists, ENOSYS where not.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as u32,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    r == 0 || nix::errno::Errno::last() != nix::errno::Errno::ENOSYS
}
