//! `cp`'s file work, on both sides through a root directory fd: every path
//! is resolved with openat2(RESOLVE_IN_ROOT) (`runtime::fsutil`), so a
//! symlink in the container resolves inside it, never to the host; each
//! node is then reached from its parent's fd by one component, without
//! following links. Trees travel as tar streams (docker's format for
//! `cp ... -`), written by [`tar_out`] and unpacked by [`tar_in`].
use ::runtime::fsutil::{self, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

const IN_ROOT: u64 = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

/// Opens `path` (absolute within `root`) as O_PATH; the last component is
/// followed only when `follow`.
pub fn open_in(root: BorrowedFd, path: &Path, follow: bool) -> nix::Result<OwnedFd> {
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    fsutil::openat2(root, path, libc::O_PATH | nofollow, IN_ROOT)
}

/// fstat(2) of an O_PATH fd: the node itself, a symlink included.
pub fn metadata(fd: &OwnedFd) -> std::io::Result<std::fs::Metadata> {
    File::from(fd.try_clone()?).metadata()
}

fn cstr(p: &std::ffi::OsStr) -> Result<CString> {
    CString::new(p.as_bytes()).context("path contains a NUL byte")
}

/// Writes the node `fd` (and all under it) as tar entries named `name`.
pub fn tar_out<W: Write>(b: &mut tar::Builder<W>, fd: OwnedFd, name: &Path) -> Result<()> {
    let md = File::from(fd.try_clone()?)
        .metadata()
        .with_context(|| format!("reading {}", name.display()))?;
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(&md, tar::HeaderMode::Complete);
    h.set_size(0);
    let ft = md.file_type();
    if ft.is_file() {
        let f = File::open(fsutil::fd_path(&fd))
            .with_context(|| format!("opening {}", name.display()))?;
        let len = md.len();
        h.set_size(len);
        // Exactly `len` bytes even if the file changes meanwhile (a running container).
        let data = f.take(len).chain(std::io::repeat(0)).take(len);
        b.append_data(&mut h, name, data)?;
    } else if ft.is_symlink() {
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: readlinkat with an empty path reads the O_PATH symlink fd itself
        // into a buffer of the length given.
        let n = unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("reading link {}", name.display()));
        }
        buf.truncate(n as usize);
        b.append_link(&mut h, name, std::ffi::OsStr::from_bytes(&buf))?;
    } else if ft.is_dir() {
        b.append_data(&mut h, name, std::io::empty())?;
        let mut names: Vec<_> = std::fs::read_dir(fsutil::fd_path(&fd))
            .with_context(|| format!("reading {}", name.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        for n in names {
            let child = open_in(fd.as_fd(), Path::new(&n), false)
                .with_context(|| format!("opening {}", name.join(&n).display()))?;
            tar_out(b, child, &name.join(&n))?;
        }
    } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
        let rdev = md.rdev();
        h.set_device_major(libc::major(rdev))?;
        h.set_device_minor(libc::minor(rdev))?;
        b.append_data(&mut h, name, std::io::empty())?;
    }
    // Sockets have no place in a tar: left out, as tar(1) does.
    Ok(())
}

/// A tar entry's name as clean components; None for the top `.` itself.
fn clean(p: &Path) -> Result<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            _ => bail!("invalid copy source content: {}", p.display()),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Unpacks a tar stream under `dest` (absolute within `root`, an existing
/// directory). `rename` turns the first component `from` into `to` (docker
/// copying `dir` to a new name). Owners become `owner` unless None (`-a`:
/// the archive's). Existing non-directories are replaced, never written
/// through: a symlink in the way is removed, not followed.
pub fn tar_in(
    root: BorrowedFd,
    dest: &Path,
    input: impl Read,
    rename: Option<(&str, &str)>,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let mut ar = tar::Archive::new(input);
    for e in ar.entries().context("reading the tar stream")? {
        let mut e = e.context("reading the tar stream")?;
        let raw = e.path().context("reading the tar stream")?.into_owned();
        let mut rel = match clean(&raw)? {
            Some(r) => r,
            None if rename.is_none() => continue,
            // `dir/.` copied to a new name: the top entry is the new dir.
            None => PathBuf::from("."),
        };
        if let Some((from, to)) = rename {
            if let Ok(rest) = rel.strip_prefix(from) {
                rel = Path::new(to).join(rest);
            } else if from == "." {
                rel = Path::new(to).join(&rel);
            }
        }
        let full = dest.join(&rel);
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            continue;
        };
        let pfd = fsutil::openat2(root, parent, libc::O_PATH | libc::O_DIRECTORY, IN_ROOT)
            .with_context(|| format!("opening directory {}", parent.display()))?;
        let h = e.header().clone();
        let cname = cstr(name)?;
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        let kind = h.entry_type();
        let existing = open_in(pfd.as_fd(), Path::new(name), false)
            .ok()
            .and_then(|fd| metadata(&fd).ok());
        let pdir = File::open(fsutil::fd_path(&pfd))
            .with_context(|| format!("opening directory {}", parent.display()))?;
        let at = pdir.as_raw_fd();
        if let Some(m) = &existing {
            if kind.is_dir() && m.is_dir() {
                // Kept; its mode is updated below.
            } else if m.is_dir() {
                bail!(
                    "cannot overwrite directory {:?} with non-directory",
                    full.display().to_string()
                );
            } else {
                // SAFETY: unlinkat on a directory fd we own and a NUL-terminated name.
                if unsafe { libc::unlinkat(at, cname.as_ptr(), 0) } != 0 {
                    return Err(std::io::Error::last_os_error())
                        .with_context(|| format!("replacing {}", full.display()));
                }
            }
        }
        let what = || format!("creating {}", full.display());
        // SAFETY (each call below): *at syscalls on a directory fd we own with
        // NUL-terminated names; O_NOFOLLOW|O_EXCL never follow a planted link.
        if kind.is_dir() {
            if existing.is_none() && unsafe { libc::mkdirat(at, cname.as_ptr(), 0o700) } != 0 {
                return Err(std::io::Error::last_os_error()).with_context(what);
            }
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let fd = unsafe {
                libc::openat(
                    at,
                    cname.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    0o600,
                )
            };
            if fd < 0 {
                return Err(std::io::Error::last_os_error()).with_context(what);
            }
            // SAFETY: a new fd from openat, owned here only.
            let mut f = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            std::io::copy(&mut e, &mut f).with_context(what)?;
        } else if kind.is_symlink() {
            let target = h.link_name()?.context("a symlink without a target")?;
            let t = cstr(target.as_os_str())?;
            if unsafe { libc::symlinkat(t.as_ptr(), at, cname.as_ptr()) } != 0 {
                return Err(std::io::Error::last_os_error()).with_context(what);
            }
        } else if kind.is_hard_link() {
            let target = h.link_name()?.context("a hard link without a target")?;
            let Some(target) = clean(&target)? else {
                bail!("invalid copy source content: hard link to the top directory");
            };
            let tfd = open_in(root, &dest.join(target), false).with_context(what)?;
            let r = unsafe {
                libc::linkat(
                    tfd.as_raw_fd(),
                    c"".as_ptr(),
                    at,
                    cname.as_ptr(),
                    libc::AT_EMPTY_PATH,
                )
            };
            if r != 0 {
                return Err(std::io::Error::last_os_error()).with_context(what);
            }
            continue;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let t = if kind.is_fifo() {
                libc::S_IFIFO
            } else if kind.is_block_special() {
                libc::S_IFBLK
            } else {
                libc::S_IFCHR
            };
            let dev = libc::makedev(
                h.device_major()?.unwrap_or(0),
                h.device_minor()?.unwrap_or(0),
            );
            if unsafe { libc::mknodat(at, cname.as_ptr(), t | 0o600, dev) } != 0 {
                return Err(std::io::Error::last_os_error()).with_context(what);
            }
        } else {
            log::warn!("{}: tar entry type {:?} skipped", raw.display(), kind);
            continue;
        }
        let node = open_in(pfd.as_fd(), Path::new(name), false).with_context(what)?;
        let (uid, gid) = owner.unwrap_or((h.uid()? as u32, h.gid()? as u32));
        // SAFETY: fchownat on an O_PATH fd we own, AT_EMPTY_PATH: the node itself.
        if unsafe {
            libc::fchownat(
                node.as_raw_fd(),
                c"".as_ptr(),
                uid,
                gid,
                libc::AT_EMPTY_PATH,
            )
        } != 0
        {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("changing the owner of {}", full.display()));
        }
        if !kind.is_symlink() {
            use std::os::unix::fs::PermissionsExt;
            let p = fsutil::fd_path(&node);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("changing the mode of {}", full.display()))?;
            if !kind.is_dir() {
                let t = h.mtime().unwrap_or(0) as i64;
                let ts = [
                    libc::timespec {
                        tv_sec: t,
                        tv_nsec: 0,
                    },
                    libc::timespec {
                        tv_sec: t,
                        tv_nsec: 0,
                    },
                ];
                let cp = cstr(std::ffi::OsStr::new(&p))?;
                // SAFETY: utimensat on a /proc/self/fd path of a node we hold open.
                unsafe { libc::utimensat(libc::AT_FDCWD, cp.as_ptr(), ts.as_ptr(), 0) };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_entry_names_stay_under_the_destination() {
        assert_eq!(
            clean(Path::new("./a/b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(clean(Path::new("./")).unwrap(), None);
        assert!(clean(Path::new("a/../../etc")).is_err());
    }

    #[test]
    fn a_tree_round_trips_and_links_stay_inside() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/f"), "data").unwrap();
        std::os::unix::fs::symlink("/etc", src.path().join("d/l")).unwrap();
        let root = File::open(src.path()).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let fd = open_in(root.as_fd(), Path::new("/d"), false).unwrap();
        tar_out(&mut b, fd, Path::new("d")).unwrap();
        let data = b.into_inner().unwrap();
        let droot = File::open(dst.path()).unwrap();
        tar_in(
            droot.as_fd(),
            Path::new("/"),
            &data[..],
            Some(("d", "e")),
            Some((0, 0)),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dst.path().join("e/f")).unwrap(),
            "data"
        );
        assert_eq!(
            std::fs::read_link(dst.path().join("e/l")).unwrap(),
            Path::new("/etc")
        );
        // Writing through the link lands inside the destination root.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "e/l/passwd-x", &b"x"[..]).unwrap();
        let data = b.into_inner().unwrap();
        let _ = tar_in(droot.as_fd(), Path::new("/"), &data[..], None, Some((0, 0)));
        assert!(!Path::new("/etc/passwd-x").exists());
    }
}
