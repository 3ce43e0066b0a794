//! Device nodes in the container's /dev: the default set, `linux.devices`,
//! and the standard symlinks. Nodes are made with mknodat inside the rootfs;
//! in a user namespace (where mknod is refused) the host node is bind-mounted.
//! Host device nodes are never chowned or chmodded.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::fsutil;

struct Dev {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULTS: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub fn create_default(root: BorrowedFd, in_userns: bool) -> Result<()> {
    for (path, major, minor) in DEFAULTS {
        let d = Dev {
            path: path.into(),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        create(root, &d, in_userns)?;
    }
    Ok(())
}

pub fn create_spec_devices(root: BorrowedFd, devs: &[LinuxDevice], in_userns: bool) -> Result<()> {
    for d in devs {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => bail!(
                "device {}: type \"a\" is not a node type",
                d.path().display()
            ),
        };
        if !d.path().starts_with("/dev") {
            bail!("device path {} is not under /dev", d.path().display());
        }
        let dev = Dev {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        create(root, &dev, in_userns)?;
    }
    Ok(())
}

fn create(root: BorrowedFd, d: &Dev, in_userns: bool) -> Result<()> {
    let what = || format!("creating device {}", d.path.display());
    let parent = d.path.parent().unwrap_or(Path::new("/dev"));
    let name = d.path.file_name().context("device path has no name")?;
    let dir = fsutil::create_in_root(root, parent, false).with_context(what)?;
    // The O_PATH fd cannot be used for mknodat; reopen the directory properly.
    let dirfd = fsutil::openat2(
        root,
        parent,
        libc::O_DIRECTORY | libc::O_RDONLY,
        fsutil::RESOLVE_IN_ROOT,
    )
    .with_context(what)?;
    drop(dir);
    let cname =
        CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name)).context("device name")?;
    if in_userns {
        let host = Path::new("/").join(fsutil::relative(&d.path));
        let target = fsutil::create_in_root(root, &d.path, true).with_context(what)?;
        mount(
            Some(&host),
            fsutil::fd_path(&target).as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(what)?;
        return Ok(());
    }
    // SAFETY: unlinkat on a directory fd we own with a valid C string; a missing entry is fine.
    unsafe { libc::unlinkat(dirfd.as_raw_fd(), cname.as_ptr(), 0) };
    nix::sys::stat::mknodat(
        Some(dirfd.as_raw_fd()),
        cname.as_c_str(),
        d.kind,
        Mode::from_bits_truncate(d.mode),
        makedev(d.major, d.minor),
    )
    .with_context(what)?;
    // The node is new and ours (inside the container's /dev), never a host node.
    nix::unistd::fchownat(
        Some(dirfd.as_raw_fd()),
        cname.as_c_str(),
        Some(d.uid.into()),
        Some(d.gid.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .with_context(what)?;
    nix::sys::stat::fchmodat(
        Some(dirfd.as_raw_fd()),
        cname.as_c_str(),
        Mode::from_bits_truncate(d.mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .with_context(what)?;
    Ok(())
}

pub fn create_symlinks(root: BorrowedFd) -> Result<()> {
    let dev = fsutil::openat2(
        root,
        Path::new("/dev"),
        libc::O_DIRECTORY | libc::O_RDONLY,
        fsutil::RESOLVE_IN_ROOT,
    )
    .context("opening /dev in the rootfs")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match nix::unistd::symlinkat(target, Some(dev.as_raw_fd()), name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("creating /dev/{name}")),
        }
    }
    // /dev/ptmx must be the devpts instance of the container.
    let ptmx = CString::new("ptmx").unwrap();
    // SAFETY: unlinkat on our /dev directory fd; a missing entry is fine.
    unsafe { libc::unlinkat(dev.as_raw_fd(), ptmx.as_ptr(), 0) };
    nix::unistd::symlinkat("pts/ptmx", Some(dev.as_raw_fd()), "ptmx")
        .context("creating /dev/ptmx")?;
    Ok(())
}
