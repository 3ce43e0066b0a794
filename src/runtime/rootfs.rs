//! The container's root filesystem, in the order runc builds it:
//! propagation, the rootfs bind, the spec's mounts, /dev, pivot_root, then
//! masked and read-only paths and a read-only root.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, SFlag};
use oci_spec::runtime::Spec;

use super::cgroupfs::mountinfo;
use super::mounts::{self, MountContext};
use super::{devices, fsutil};

pub struct RootfsConfig<'a> {
    /// false: set up in the caller's mount namespace, whose propagation and
    /// mounts outside the rootfs are left alone.
    pub own_mntns: bool,
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub cgroup_path: &'a Path,
    pub new_cgroupns: bool,
    pub in_userns: bool,
    /// Idmapped trees by index in `mounts` (idmount.rs).
    pub idmapped: &'a [Option<std::os::fd::OwnedFd>],
    /// Bind sources runr opened on the host (mounts::open_bind_sources).
    pub bind_sources: &'a [Option<std::os::fd::OwnedFd>],
}

fn rootfs_propagation(spec: &Spec) -> Result<Option<MsFlags>> {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    {
        None | Some("") => Ok(None),
        Some(p) => match mounts::propagation_flag(p) {
            Some(f) => Ok(Some(f)),
            None => bail!("invalid rootfsPropagation {p:?}"),
        },
    }
}

/// Everything before pivot_root. Runs in the container's new mount namespace.
pub fn prepare(cfg: &RootfsConfig) -> Result<()> {
    if cfg.own_mntns {
        isolate_rootfs(cfg)?;
    }

    let root = File::open(cfg.rootfs)
        .with_context(|| format!("opening rootfs {}", cfg.rootfs.display()))?;
    let ctx = MountContext {
        root: root.as_fd(),
        bundle: cfg.bundle,
        cgroup_path: cfg.cgroup_path,
        new_cgroupns: cfg.new_cgroupns,
    };
    let spec_mounts = cfg.spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in spec_mounts.iter().enumerate() {
        let tree = cfg.idmapped.get(i).and_then(|t| t.as_ref());
        let opened = cfg.bind_sources.get(i).and_then(|t| t.as_ref());
        mounts::mount_one(&ctx, m, tree.map(|t| t.as_fd()), opened.map(|t| t.as_fd()))?;
    }
    let dev_is_bind = spec_mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    if !dev_is_bind {
        devices::create_default(root.as_fd(), cfg.in_userns)?;
    }
    let spec_devices = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    devices::create_spec_devices(root.as_fd(), &spec_devices, cfg.in_userns)?;
    if !dev_is_bind {
        devices::create_symlinks(root.as_fd())?;
    }
    Ok(())
}

/// In the container's own mount namespace: nothing propagates back to the
/// host, and the rootfs is a mount of its own (for pivot_root).
fn isolate_rootfs(cfg: &RootfsConfig) -> Result<()> {
    let prop = rootfs_propagation(cfg.spec)?.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        prop | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("setting propagation of /")?;
    make_parent_private(cfg.rootfs)?;
    mount(
        Some(cfg.rootfs),
        cfg.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting rootfs {}", cfg.rootfs.display()))?;
    Ok(())
}

/// Without a mount namespace, as runc: chroot into the rootfs.
pub fn chroot(rootfs: &Path) -> Result<()> {
    nix::unistd::chroot(rootfs)
        .with_context(|| format!("chroot into rootfs {}", rootfs.display()))?;
    nix::unistd::chdir("/").context("chdir to /")?;
    Ok(())
}

/// What a container without a mount namespace mounted under its rootfs in
/// the caller's namespace: detached, deepest first (delete, failed create).
pub fn unmount_under(rootfs: &Path) {
    let mut under: Vec<_> = mountinfo()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(rootfs) && p != rootfs)
        .collect();
    under.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for p in under {
        if let Err(e) = umount2(&p, MntFlags::MNT_DETACH) {
            log::warn!("unmounting {}: {e}", p.display());
        }
    }
}

/// Settings that only a mount namespace of the container's own can take:
/// refused up front without one (runc's words for the paths).
pub fn validate_without_mntns(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let paths = |v: Option<&Vec<String>>| v.is_some_and(|v| !v.is_empty());
    if paths(linux.and_then(|l| l.masked_paths().as_ref()))
        || paths(linux.and_then(|l| l.readonly_paths().as_ref()))
    {
        bail!("unable to restrict sys entries without a private MNT namespace");
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        bail!("root.readonly needs a mount namespace of the container's own");
    }
    if rootfs_propagation(spec)?.is_some() {
        bail!("linux.rootfsPropagation needs a mount namespace of the container's own");
    }
    Ok(())
}

/// pivot_root needs the rootfs' parent mount not to be shared.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let parent = mountinfo()
        .into_iter()
        .filter(|m| rootfs.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .map(|m| m.mount_point)
        .unwrap_or_else(|| "/".into());
    mount(
        None::<&str>,
        &parent,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .with_context(|| format!("making {} private", parent.display()))
}

/// Makes the rootfs `/`. With `no_pivot`, moves it over / and chroots instead.
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        detach_host_proc_and_sys(rootfs)?;
        nix::unistd::chdir(rootfs).context("chdir to rootfs")?;
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .context("moving rootfs to /")?;
        nix::unistd::chroot(".").context("chroot into rootfs")?;
        nix::unistd::chdir("/").context("chdir to /")?;
        return Ok(());
    }
    let old = File::open("/").context("opening old root")?;
    let new = File::open(rootfs).with_context(|| format!("opening rootfs {}", rootfs.display()))?;
    nix::unistd::fchdir(new.as_raw_fd()).context("chdir to rootfs")?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    // The old root is now stacked under the new one; detach it without
    // letting the unmount propagate to the host.
    nix::unistd::fchdir(old.as_raw_fd()).context("chdir to old root")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("making old root rslave")?;
    umount2(".", MntFlags::MNT_DETACH).context("unmounting old root")?;
    nix::unistd::chdir("/").context("chdir to /")?;
    Ok(())
}

/// Without pivot_root the host's mounts stay in the container's mount
/// namespace, under the moved rootfs. A full procfs or sysfs among them would
/// let the container mount a fresh one (the kernel allows that when an
/// unmasked instance is already visible in the namespace): detach them
/// first, or cover them where that is not allowed, as runc does.
fn detach_host_proc_and_sys(rootfs: &Path) -> Result<()> {
    let mut host: Vec<_> = mountinfo()
        .into_iter()
        .filter(|m| m.root == "/" && (m.fstype == "proc" || m.fstype == "sysfs"))
        .filter(|m| !m.mount_point.starts_with(rootfs))
        .map(|m| m.mount_point)
        .collect();
    // Deepest first, so that a parent's detach does not hide its children.
    host.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for p in host {
        match mount(
            None::<&str>,
            &p,
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(e).with_context(|| format!("making {} rslave", p.display())),
        }
        match umount2(&p, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => {}
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM) => {
                mount(
                    Some("tmpfs"),
                    &p,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                )
                .with_context(|| format!("covering {}", p.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("detaching {}", p.display())),
        }
    }
    Ok(())
}

/// After pivot_root: propagation of /, sysctls, masked and read-only paths, read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    if let Some(p) = rootfs_propagation(spec)? {
        mount(None::<&str>, "/", None::<&str>, p, None::<&str>)
            .context("setting rootfsPropagation")?;
    }
    let root = File::open("/").context("opening /")?;
    mounts::remount_readonly(root.as_fd(), spec.mounts().as_deref().unwrap_or_default())?;
    let linux = spec.linux().as_ref();
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        for (k, v) in sysctl {
            let path = Path::new("/proc/sys").join(k.replace('.', "/"));
            write_procfs(&root, &path, v).with_context(|| format!("setting sysctl {k}={v}"))?;
        }
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        fsutil::refuse_escaping_symlink(root.as_fd(), Path::new(p))
            .context("linux.readonlyPaths")?;
        mounts::readonly_path(root.as_fd(), Path::new(p))?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        fsutil::refuse_escaping_symlink(root.as_fd(), Path::new(p)).context("linux.maskedPaths")?;
        mask_path(&root, Path::new(p))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        mounts::bind_remount("/", MsFlags::MS_RDONLY).context("remounting / read-only")?;
    }
    Ok(())
}

/// Writes a procfs file, opened without following symlinks and checked to
/// be on procfs: a mount over /proc must not redirect runr's writes
/// (CVE-2025-52881).
fn write_procfs(root: &File, path: &Path, value: &str) -> Result<()> {
    let fd = fsutil::openat2(
        root.as_fd(),
        path,
        libc::O_WRONLY,
        fsutil::RESOLVE_IN_ROOT | fsutil::RESOLVE_NO_SYMLINKS,
    )
    .with_context(|| format!("opening {}", path.display()))?;
    let on_proc = nix::sys::statfs::fstatfs(&fd)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
    if !on_proc {
        bail!("{} is not on procfs; refusing to write it", path.display());
    }
    std::io::Write::write_all(&mut File::from(fd), value.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Hides a path: a directory under an empty read-only tmpfs, anything else
/// under the container's /dev/null, checked to really be the null device
/// (CVE-2025-31133: a /dev/null swapped for a symlink must not be bound).
fn mask_path(root: &File, path: &Path) -> Result<()> {
    let target = match fsutil::open_path(root.as_fd(), path) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("opening masked path {}", path.display())),
    };
    let st = fstat(target.as_raw_fd()).with_context(|| format!("stat {}", path.display()))?;
    let t = fsutil::fd_path(&target);
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
        mount(
            Some("tmpfs"),
            t.as_str(),
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .with_context(|| format!("masking {}", path.display()))?;
        return Ok(());
    }
    let null = fsutil::openat2(
        root.as_fd(),
        Path::new("/dev/null"),
        libc::O_PATH,
        fsutil::RESOLVE_IN_ROOT | fsutil::RESOLVE_NO_SYMLINKS,
    )
    .context("opening /dev/null to mask paths")?;
    let ns = fstat(null.as_raw_fd()).context("stat /dev/null")?;
    let is_chr = SFlag::from_bits_truncate(ns.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
    if !is_chr || ns.st_rdev != nix::sys::stat::makedev(1, 3) {
        bail!(
            "/dev/null in the container is not the null device; refusing to mask {}",
            path.display()
        );
    }
    mount(
        Some(fsutil::fd_path(&null).as_str()),
        t.as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("masking {}", path.display()))
}
