//! The spec's `mounts`, applied in order inside the rootfs: option parsing,
//! bind mounts with their remount, propagation, and the cgroup filesystem.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;

use super::fsutil;

/// Parsed `options` of one mount.
#[derive(Debug, PartialEq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub propagation: Vec<MsFlags>,
    pub data: String,
    /// `tmpcopyup`: copy what the image has under the destination into the tmpfs.
    pub copyup: bool,
    /// `rro`, `rnosuid`, ...: MOUNT_ATTR_* set and cleared on the whole tree
    /// once it is mounted (mount_setattr with AT_RECURSIVE), as runc does.
    pub rec_set: u64,
    pub rec_clr: u64,
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }
}

pub fn parse_options(opts: &[String]) -> MountOptions {
    let mut o = MountOptions {
        flags: MsFlags::empty(),
        propagation: vec![],
        data: String::new(),
        copyup: false,
        rec_set: 0,
        rec_clr: 0,
    };
    let mut data = Vec::new();
    for opt in opts {
        let (set, clear) = match opt.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
            "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
            "nosymfollow" => (
                MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW),
                MsFlags::empty(),
            ),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            // runc's extension (podman's --tmpfs): copy the image's files
            // into the new tmpfs; never handed to the kernel.
            "tmpcopyup" => {
                o.copyup = true;
                continue;
            }
            // Idmapped mounts: done by idmount.rs, not mount options.
            "idmap" | "ridmap" => continue,
            p if recursive_attr(p).is_some() => {
                let (clear, attr) = recursive_attr(p).unwrap_or_default();
                // The atime modes are one field: setting one clears the others.
                let field = if attr & MOUNT_ATTR_ATIME == attr {
                    MOUNT_ATTR_ATIME
                } else {
                    attr
                };
                if clear {
                    o.rec_set &= !field;
                    o.rec_clr |= field;
                } else {
                    o.rec_set = (o.rec_set & !field) | attr;
                    o.rec_clr |= field & MOUNT_ATTR_ATIME;
                    if field != MOUNT_ATTR_ATIME {
                        o.rec_clr &= !attr;
                    }
                }
                continue;
            }
            p => {
                if let Some(f) = propagation_flag(p) {
                    o.propagation.push(f);
                } else {
                    data.push(p.to_string());
                }
                continue;
            }
        };
        o.flags.insert(set);
        o.flags.remove(clear);
    }
    o.data = data.join(",");
    o
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const MOUNT_ATTR_ATIME: u64 = 0x70;
const MOUNT_ATTR_RELATIME: u64 = 0x0;
const MOUNT_ATTR_NOATIME: u64 = 0x10;
const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// runc's recursive options: (clears the attribute, MOUNT_ATTR_*).
fn recursive_attr(name: &str) -> Option<(bool, u64)> {
    Some(match name {
        "rro" => (false, MOUNT_ATTR_RDONLY),
        "rrw" => (true, MOUNT_ATTR_RDONLY),
        "rnosuid" => (false, MOUNT_ATTR_NOSUID),
        "rsuid" => (true, MOUNT_ATTR_NOSUID),
        "rnodev" => (false, MOUNT_ATTR_NODEV),
        "rdev" => (true, MOUNT_ATTR_NODEV),
        "rnoexec" => (false, MOUNT_ATTR_NOEXEC),
        "rexec" => (true, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (false, MOUNT_ATTR_NODIRATIME),
        "rdiratime" => (true, MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (false, MOUNT_ATTR_RELATIME),
        "rnorelatime" => (true, MOUNT_ATTR_RELATIME),
        "rnoatime" => (false, MOUNT_ATTR_NOATIME),
        "ratime" => (true, MOUNT_ATTR_NOATIME),
        "rstrictatime" => (false, MOUNT_ATTR_STRICTATIME),
        "rnostrictatime" => (true, MOUNT_ATTR_STRICTATIME),
        "rnosymfollow" => (false, MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => (true, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// Sets and clears MOUNT_ATTR_* on every mount of the tree at `target`.
fn set_recursive_attrs(target: &std::os::fd::OwnedFd, set: u64, clr: u64) -> Result<()> {
    use std::os::fd::AsRawFd;
    let attr = super::idmount::MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    // SAFETY: attr lives across the call and its size is passed; "" with
    // AT_EMPTY_PATH names the fd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            target.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            &attr as *const super::idmount::MountAttr,
            std::mem::size_of::<super::idmount::MountAttr>(),
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last()).context("mount_setattr (recursive mount options)");
    }
    Ok(())
}

/// `private`, `rshared`, ... as mount flags.
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// What the caller must know about the host side of a mount.
pub struct MountContext<'a> {
    pub root: BorrowedFd<'a>,
    /// For relative bind sources: they are relative to the bundle.
    pub bundle: &'a Path,
    /// The container's cgroup path, for `cgroup` mounts.
    pub cgroup_path: &'a Path,
    pub new_cgroupns: bool,
}

/// Bind sources cloned by runr on the host as detached trees (open_tree),
/// by index in `mounts`: with a user namespace the init may no longer
/// traverse a path only root may (runc opens them before entering it too),
/// and only a detached tree may be attached in another mount namespace.
/// Empty without a user namespace.
pub fn open_bind_sources(spec: &oci_spec::runtime::Spec, bundle: &Path) -> Vec<Option<OwnedFd>> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    mounts
        .iter()
        .map(|m| {
            let opts = parse_options(m.options().as_deref().unwrap_or_default());
            if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
                return None;
            }
            let source = bundle.join(m.source().as_deref()?);
            let recursive = opts.flags.contains(MsFlags::MS_REC);
            // A source that cannot be opened fails later, in the init, as before.
            super::idmount::clone_tree(&source, recursive).ok()
        })
        .collect()
}

/// `idmapped`: the tree runr prepared for an idmapped bind mount, moved into
/// place instead of binding; likewise `opened`, the bind source runr cloned
/// (see `open_bind_sources`).
pub fn mount_one(
    ctx: &MountContext,
    m: &Mount,
    idmapped: Option<BorrowedFd>,
    opened: Option<BorrowedFd>,
) -> Result<()> {
    let dest = m.destination();
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let is_bind = opts.is_bind() || typ == "bind";
    if typ == "cgroup" || typ == "cgroup2" {
        return super::cgroupfs::mount_cgroup(ctx, dest, typ, &opts);
    }
    let source = m.source().clone().unwrap_or_default();
    let source = if is_bind && source.is_relative() {
        ctx.bundle.join(source)
    } else {
        source
    };
    let opened = opened.filter(|_| is_bind);
    let source_is_dir = match opened {
        Some(fd) => nix::sys::stat::fstat(fd.as_raw_fd())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR),
        None => source.is_dir(),
    };
    let what = || format!("mounting {} on {}", source.display(), dest.display());

    let target = if typ == "proc" || typ == "sysfs" {
        ordinary_directory(ctx.root, dest, typ)?
    } else {
        let as_file = is_bind && !source_is_dir;
        fsutil::create_in_root(ctx.root, dest, as_file).with_context(what)?
    };
    let target_path = fsutil::fd_path(&target);
    refuse_proc_through_symlink(&target, dest)?;

    if let Some(tree) = idmapped.or(opened) {
        super::idmount::attach(tree, target.as_fd()).with_context(what)?;
        let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            let fresh = fsutil::open_path(ctx.root, dest).with_context(what)?;
            bind_remount(&fsutil::fd_path(&fresh), extra).with_context(what)?;
        }
    } else if is_bind {
        let rec = opts.flags & MsFlags::MS_REC;
        mount(
            Some(&source),
            target_path.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | rec,
            None::<&str>,
        )
        .with_context(what)?;
        let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            // The first mount ignores these flags; a remount of the new mount applies them.
            let fresh = fsutil::open_path(ctx.root, dest).with_context(what)?;
            bind_remount(&fsutil::fd_path(&fresh), extra).with_context(what)?;
        }
    } else {
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let fstype = (!typ.is_empty()).then_some(typ);
        let src = if source.as_os_str().is_empty() {
            PathBuf::from(typ)
        } else {
            source.clone()
        };
        let copyup = opts.copyup && typ == "tmpfs";
        // What the image has there, kept open before the tmpfs hides it.
        let below = if copyup {
            Some(super::copyup::reopen_dir(&target).with_context(what)?)
        } else {
            None
        };
        // A read-only tmpfs or /dev is mounted writable (copied into, given
        // device nodes) and made read-only by `remount_readonly` at the end.
        let flags = if defers_readonly(m) {
            opts.flags - MsFlags::MS_RDONLY
        } else {
            opts.flags
        };
        match mount(Some(&src), target_path.as_str(), fstype, flags, data) {
            Ok(()) => {}
            // Some filesystems (mqueue, sysfs in a userns) cannot be mounted
            // here; bind the host's instance like runc does for sysfs.
            Err(nix::errno::Errno::EPERM) if typ == "sysfs" => {
                mount(
                    Some("/sys"),
                    target_path.as_str(),
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .with_context(what)?;
            }
            Err(e) => return Err(e).with_context(what),
        }
        if let Some(below) = below {
            let fresh = fsutil::open_path(ctx.root, dest).with_context(what)?;
            let top = super::copyup::reopen_dir(&fresh).with_context(what)?;
            super::copyup::copy_tree(&below, &top, dest)?;
        }
    }
    if opts.rec_set != 0 || opts.rec_clr != 0 {
        let fresh = fsutil::open_path(ctx.root, dest).with_context(what)?;
        set_recursive_attrs(&fresh, opts.rec_set, opts.rec_clr).with_context(what)?;
    }
    for p in &opts.propagation {
        let fresh = fsutil::open_path(ctx.root, dest).with_context(what)?;
        mount(
            None::<&str>,
            fsutil::fd_path(&fresh).as_str(),
            None::<&str>,
            *p,
            None::<&str>,
        )
        .with_context(|| format!("setting propagation of {}", dest.display()))?;
    }
    Ok(())
}

/// proc and sysfs go on a directory reached without symlinks (runc's check
/// and words), created if missing.
fn ordinary_directory(root: BorrowedFd, dest: &Path, typ: &str) -> Result<std::os::fd::OwnedFd> {
    let refuse = || anyhow::anyhow!("filesystem {typ:?} must be mounted on ordinary directory");
    let open = |root| {
        fsutil::openat2(
            root,
            dest,
            libc::O_PATH | libc::O_DIRECTORY,
            fsutil::RESOLVE_IN_ROOT | fsutil::RESOLVE_NO_SYMLINKS,
        )
    };
    match open(root) {
        Ok(fd) => Ok(fd),
        Err(nix::errno::Errno::ENOENT) => {
            fsutil::create_in_root(root, dest, false)?;
            open(root).map_err(|e| match e {
                nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => refuse(),
                e => anyhow::Error::new(e).context(format!("opening {}", dest.display())),
            })
        }
        Err(nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR) => Err(refuse()),
        Err(e) => Err(e).with_context(|| format!("opening {}", dest.display())),
    }
}

/// runc mounts a read-only tmpfs or /dev writable first and remounts it
/// read-only once the rootfs is complete.
fn defers_readonly(m: &Mount) -> bool {
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    opts.flags.contains(MsFlags::MS_RDONLY)
        && !opts.is_bind()
        && (m.typ().as_deref() == Some("tmpfs") || m.destination() == Path::new("/dev"))
}

/// After pivot_root: the mounts `defers_readonly` left writable become read-only.
pub fn remount_readonly(root: BorrowedFd, mounts: &[Mount]) -> Result<()> {
    for m in mounts.iter().filter(|m| defers_readonly(m)) {
        let dest = m.destination();
        let opts = parse_options(m.options().as_deref().unwrap_or_default());
        let fd =
            fsutil::open_path(root, dest).with_context(|| format!("opening {}", dest.display()))?;
        let flags = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        bind_remount(&fsutil::fd_path(&fd), flags | MsFlags::MS_RDONLY)
            .with_context(|| format!("remounting {} read-only", dest.display()))?;
    }
    Ok(())
}

/// CVE-2019-19921, CVE-2023-27561: a destination that reaches procfs
/// through a symlink in the rootfs would cover the container's /proc, and
/// with it the files runr writes there. Only destinations under /proc as
/// written may be on procfs.
fn refuse_proc_through_symlink(target: &std::os::fd::OwnedFd, dest: &Path) -> Result<()> {
    let on_proc = nix::sys::statfs::fstatfs(target)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
    if on_proc && !fsutil::relative(dest).starts_with("proc") {
        anyhow::bail!(
            "mount destination {} resolves into /proc through a symlink; refusing",
            dest.display()
        );
    }
    Ok(())
}

/// Remounts a bind mount with `flags`, keeping the flags the kernel locks
/// (nosuid, nodev, noexec, atime) when the mount came from a less privileged namespace.
pub fn bind_remount(target: &str, flags: MsFlags) -> nix::Result<()> {
    let locked = nix::sys::statvfs::statvfs(target)
        .map(|s| {
            use nix::sys::statvfs::FsFlags;
            let f = s.flags();
            let mut m = MsFlags::empty();
            for (fs, ms) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
            ] {
                if f.contains(fs) {
                    m |= ms;
                }
            }
            m
        })
        .unwrap_or(MsFlags::empty());
    let all = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(None::<&str>, target, None::<&str>, all, None::<&str>) {
        Err(nix::errno::Errno::EPERM) => {
            let atime = MsFlags::MS_NOATIME | MsFlags::MS_RELATIME | MsFlags::MS_STRICTATIME;
            let keep = if flags.intersects(atime) {
                locked - atime
            } else {
                locked
            };
            mount(None::<&str>, target, None::<&str>, all | keep, None::<&str>)
        }
        r => r,
    }
}

/// Bind-mounts `dest` onto itself and makes it read-only (for `readonlyPaths`).
pub fn readonly_path(root: BorrowedFd, dest: &Path) -> Result<()> {
    let fd = match fsutil::open_path(root, dest) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", dest.display())),
    };
    let p = fsutil::fd_path(&fd);
    mount(
        Some(p.as_str()),
        p.as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting read-only path {}", dest.display()))?;
    let fresh = fsutil::open_path(root, dest)?;
    bind_remount(
        &fsutil::fd_path(&fresh),
        MsFlags::MS_RDONLY | MsFlags::MS_REC,
    )
    .with_context(|| format!("making {} read-only", dest.display()))
}

pub fn as_fd(f: &std::fs::File) -> BorrowedFd<'_> {
    f.as_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_flags_propagation_and_data() {
        let o = parse_options(&s(&[
            "nosuid",
            "noexec",
            "mode=755",
            "size=65536k",
            "rslave",
            "ro",
            "rw",
        ]));
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(o.data, "mode=755,size=65536k");
    }

    #[test]
    fn recursive_options_become_mount_attrs() {
        let o = parse_options(&s(&["rbind", "rro", "rnosuid", "rnoatime"]));
        assert_eq!(o.data, "");
        assert_eq!(
            o.rec_set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.rec_clr, MOUNT_ATTR_ATIME);
        let o = parse_options(&s(&["rro", "rrw"]));
        assert_eq!((o.rec_set, o.rec_clr), (0, MOUNT_ATTR_RDONLY));
    }

    #[test]
    fn rbind_is_recursive_bind() {
        let o = parse_options(&s(&["rbind", "ro"]));
        assert!(o.is_bind());
        assert!(o.flags.contains(MsFlags::MS_REC | MsFlags::MS_RDONLY));
    }
}
