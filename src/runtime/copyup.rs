//! `tmpcopyup` (runc's mount extension, podman's `--tmpfs` default): the
//! files the image has under a tmpfs destination are copied into the new
//! tmpfs, so mounting it hides nothing. Everything is done relative to
//! directory fds opened with O_NOFOLLOW: a symlink planted in the image is
//! copied as a symlink, never followed.
use anyhow::{Context, Result};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fchmodat, fstatat, mkdirat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// A readable directory fd for the directory an O_PATH fd designates.
pub fn reopen_dir(fd: &OwnedFd) -> nix::Result<OwnedFd> {
    own(openat(
        Some(fd.as_raw_fd()),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ))
}

/// Copies the tree under `src` into `dst` (both directories): regular files,
/// directories, symlinks, owners and modes. Device nodes, fifos and sockets
/// are skipped (a tmpfs over /dev is built by the runtime, not copied).
pub fn copy_tree(src: &OwnedFd, dst: &OwnedFd, at: &Path) -> Result<()> {
    let dir = nix::dir::Dir::from_fd(nix::unistd::dup(src.as_raw_fd())?)
        .with_context(|| format!("reading {}", at.display()))?;
    let mut dir = dir;
    let names: Vec<std::ffi::OsString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    for name in names {
        let path = at.join(&name);
        let what = || format!("copying {} into the tmpfs", path.display());
        let st = fstatat(
            Some(src.as_raw_fd()),
            name.as_os_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .with_context(what)?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        match kind {
            SFlag::S_IFDIR => {
                mkdirat(Some(dst.as_raw_fd()), name.as_os_str(), mode).with_context(what)?;
                let flags =
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let s = own(openat(
                    Some(src.as_raw_fd()),
                    name.as_os_str(),
                    flags,
                    Mode::empty(),
                ))
                .with_context(what)?;
                let d = own(openat(
                    Some(dst.as_raw_fd()),
                    name.as_os_str(),
                    flags,
                    Mode::empty(),
                ))
                .with_context(what)?;
                copy_tree(&s, &d, &path)?;
            }
            SFlag::S_IFREG => {
                let s = own(openat(
                    Some(src.as_raw_fd()),
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                ))
                .with_context(what)?;
                let d = own(openat(
                    Some(dst.as_raw_fd()),
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    mode,
                ))
                .with_context(what)?;
                std::io::copy(&mut File::from(s), &mut File::from(d)).with_context(what)?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(Some(src.as_raw_fd()), name.as_os_str())
                    .with_context(what)?;
                nix::unistd::symlinkat(target.as_os_str(), Some(dst.as_raw_fd()), name.as_os_str())
                    .with_context(what)?;
            }
            _ => continue,
        }
        fchownat(
            Some(dst.as_raw_fd()),
            name.as_os_str(),
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .with_context(what)?;
        if kind != SFlag::S_IFLNK {
            // Set again after the chown, which clears setuid/setgid bits.
            fchmodat(
                Some(dst.as_raw_fd()),
                name.as_os_str(),
                mode,
                FchmodatFlags::FollowSymlink,
            )
            .with_context(what)?;
        }
    }
    Ok(())
}

fn own(fd: nix::Result<std::os::fd::RawFd>) -> nix::Result<OwnedFd> {
    // SAFETY: openat returned a fresh fd that we now own.
    fd.map(|fd| unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

use std::os::unix::ffi::OsStrExt;
