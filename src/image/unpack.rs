//! Unpacking one layer tarball into its own directory, safely.
//!
//! Each entry is applied by hand rather than with `tar::Archive::unpack`,
//! which ignores whiteouts and resolves symlinks on the host:
//!
//! - every parent directory is resolved inside the layer root with
//!   `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so `..`, absolute
//!   symlinks and symlinks leading out fail instead of escaping; entries
//!   are created with `*at()` calls relative to that parent, never followed;
//! - `..` components and absolute names are refused, naming the entry;
//! - hardlink targets are resolved the same way, so a link to a host file
//!   cannot be made;
//! - whiteouts are stored as overlayfs understands them: `.wh.NAME` becomes a
//!   0/0 character device `NAME`; `.wh..wh..opq` sets
//!   `trusted.overlay.opaque=y` on its directory;
//! - owners before modes (chown clears setuid bits), xattrs from PAX
//!   `SCHILY.xattr.*` records (never `trusted.overlay.*`, which overlayfs
//!   would obey), mtimes, directories' mtimes last.
//!
//! The layer is decompressed (gzip, zstd or none, by magic bytes) while the
//! uncompressed stream is hashed, and the result is checked against the
//! config's `diff_id`.
use crate::digest::HashingReader;
use crate::limits::{self, UnpackLimits};
use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The xattr namespace overlayfs gives meaning to (on the layer dirs it
/// mounts); never taken from a layer's PAX records.
const OVERLAY_XATTRS: &str = "trusted.overlay.";

/// What unpacking a layer found.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// `sha256:` of the uncompressed tar stream.
    pub diff_id: String,
    /// Bytes of the uncompressed tar stream.
    pub size: u64,
}

/// Compression of a layer blob, told by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Unpacks the layer blob at `blob` into the existing, empty directory `dest`
/// and checks the uncompressed digest against `expected_diff_id` if given.
/// Stops at `limits` (uncompressed size, free space left on `dest`'s file
/// system), so a decompression bomb fails before it fills the disk.
pub fn unpack_layer(
    blob: &Path,
    dest: &Path,
    expected_diff_id: Option<&str>,
    limits: &UnpackLimits,
) -> Result<Unpacked> {
    let file =
        File::open(blob).with_context(|| format!("opening layer blob {}", blob.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let compression = Compression::detect(reader.fill_buf()?);
    let decoded: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Compression::None => Box::new(reader),
    };
    let tripped = Arc::new(Mutex::new(None));
    let bounded = Bounded {
        inner: decoded,
        dest: dest.to_path_buf(),
        limits: *limits,
        read: 0,
        next_check: 0,
        tripped: tripped.clone(),
    };
    let unpacked = unpack_stream(bounded, dest).map_err(|e| {
        // The limit's own message, not the tar reader's view of it.
        match tripped.lock().ok().and_then(|mut t| t.take()) {
            Some(why) => anyhow!(why),
            None => e,
        }
    });
    let unpacked = unpacked
        .with_context(|| format!("unpacking layer {} into {}", blob.display(), dest.display()))?;
    if let Some(expected) = expected_diff_id {
        if unpacked.diff_id != expected {
            bail!(
                "layer {}: uncompressed digest {} does not match the config's diff_id {expected}",
                blob.display(),
                unpacked.diff_id
            );
        }
    }
    Ok(unpacked)
}

/// How often (in uncompressed bytes) free space is looked at.
const SPACE_CHECK_EVERY: u64 = 1 << 20;

/// The uncompressed stream, cut off at the layer's limits.
struct Bounded<R> {
    inner: R,
    dest: PathBuf,
    limits: UnpackLimits,
    read: u64,
    next_check: u64,
    tripped: Arc<Mutex<Option<String>>>,
}

impl<R: Read> Bounded<R> {
    fn trip(&self, why: String) -> std::io::Error {
        if let Ok(mut t) = self.tripped.lock() {
            *t = Some(why.clone());
        }
        std::io::Error::other(why)
    }

    /// Free space left after the next stretch is written, against the margin.
    fn check_space(&self) -> std::io::Result<()> {
        let st = nix::sys::statvfs::statvfs(&self.dest).map_err(std::io::Error::from)?;
        let frsize = st.fragment_size() as u64;
        let avail = st.blocks_available() as u64 * frsize;
        let total = st.blocks() as u64 * frsize;
        let margin = self.limits.margin(total);
        if avail < margin.saturating_add(SPACE_CHECK_EVERY) {
            return Err(self.trip(format!(
                "stopped unpacking after {}: {} free on the store's file system, and rdock leaves {} free                  (RDOCK_MIN_FREE_SPACE sets this margin)",
                limits::human(self.read),
                limits::human(avail),
                limits::human(margin)
            )));
        }
        Ok(())
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.next_check {
            self.check_space()?;
            self.next_check = self.read + SPACE_CHECK_EVERY;
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        limits::touch();
        if self.read > self.limits.max_bytes {
            return Err(self.trip(format!(
                "the layer unpacks to more than {}, the most a layer may have                  (RDOCK_MAX_LAYER_SIZE sets this limit)",
                limits::human(self.limits.max_bytes)
            )));
        }
        Ok(n)
    }
}

/// Applies the tar stream `input` to `dest`.
pub fn unpack_stream<R: Read>(input: R, dest: &Path) -> Result<Unpacked> {
    let root = open_dir(dest)?;
    let mut hashing = HashingReader::new(input);
    let mut state = Applier {
        root,
        dirs: Vec::new(),
        parent_cache: None,
    };
    {
        let mut archive = tar::Archive::new(&mut hashing);
        for entry in archive.entries().context("reading tar stream")? {
            let mut entry = entry.context("reading tar entry")?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            state
                .apply(&mut entry)
                .with_context(|| format!("layer entry {name:?}"))?;
        }
    }
    state.finish_dirs()?;
    let (diff_id, size) = hashing
        .finish()
        .context("reading the end of the tar stream")?;
    Ok(Unpacked { diff_id, size })
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: `fd` was just returned by open(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Splits an entry name into checked components: no `..`, not absolute.
fn clean_components(path: &Path) -> Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => bail!("refusing a path with '..': it would leave the layer"),
            Component::RootDir | Component::Prefix(_) => {
                bail!("refusing an absolute path: entries must be relative to the layer root")
            }
        }
    }
    Ok(out)
}

struct DeferredDir {
    path: PathBuf,
    mtime: u64,
}

struct Applier {
    root: OwnedFd,
    /// Directories whose mtime is set at the end (creating entries inside changes it).
    dirs: Vec<DeferredDir>,
    /// The last parent opened, as most entries share their parent with the previous one.
    parent_cache: Option<(PathBuf, OwnedFd)>,
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass an fd just returned by a syscall that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn mode_of(header: &tar::Header) -> Result<Mode> {
    Ok(Mode::from_bits_truncate(
        header.mode().context("reading mode")? & 0o7777,
    ))
}

impl Applier {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<()> {
        let path = entry.path().context("reading entry name")?.into_owned();
        let comps = clean_components(&path)?;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName
        ) {
            return Ok(());
        }
        let Some((name, parents)) = comps.split_last() else {
            // The root itself ("./"): keep the layer directory as it is.
            return Ok(());
        };
        let parent_path: PathBuf = parents.iter().collect();
        let parent = self.parent(&parent_path)?;
        let name_str = name.to_string_lossy();

        if name_str == OPAQUE_MARKER {
            set_xattr_path(parent.as_raw_fd(), None, "trusted.overlay.opaque", b"y")
                .context("marking the directory opaque")?;
            return Ok(());
        }
        if let Some(hidden) = name_str.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.starts_with(".wh.") {
                // Other aufs metadata (.wh..wh.plnk and such) has no meaning here.
                return Ok(());
            }
            if matches!(hidden, "" | "." | "..") || hidden.contains('/') {
                bail!("refusing whiteout entry {name_str:?}: it does not name a file in its directory");
            }
            let hidden = OsStr::new(hidden);
            self.remove_existing(parent.as_raw_fd(), hidden)?;
            mknodat(
                Some(parent.as_raw_fd()),
                hidden,
                SFlag::S_IFCHR,
                Mode::empty(),
                0,
            )
            .context("creating the whiteout device")?;
            return Ok(());
        }

        let header = entry.header().clone();
        let uid = Uid::from_raw(header.uid().context("reading uid")? as u32);
        let gid = Gid::from_raw(header.gid().context("reading gid")? as u32);
        let mode = mode_of(&header)?;
        let mtime = header.mtime().unwrap_or(0);
        let pfd = parent.as_raw_fd();

        match kind {
            tar::EntryType::Directory => {
                match fstatat(Some(pfd), *name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
                    Ok(st)
                        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
                            == SFlag::S_IFDIR => {}
                    Ok(_) => {
                        self.remove_existing(pfd, name)?;
                        mkdirat(Some(pfd), *name, Mode::from_bits_truncate(0o700))
                            .context("creating directory")?;
                    }
                    Err(Errno::ENOENT) => {
                        mkdirat(Some(pfd), *name, Mode::from_bits_truncate(0o700))
                            .context("creating directory")?;
                    }
                    Err(e) => return Err(e).context("inspecting existing entry"),
                }
                let fd = owned(
                    openat(
                        Some(pfd),
                        *name,
                        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                    .context("opening the new directory")?,
                );
                fchown(fd.as_raw_fd(), Some(uid), Some(gid)).context("chown")?;
                fchmod(fd.as_raw_fd(), mode).context("chmod")?;
                apply_xattrs(entry, fd.as_raw_fd())?;
                self.dirs.push(DeferredDir {
                    path: parent_path.join(name),
                    mtime,
                });
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.remove_existing(pfd, name)?;
                let fd = owned(
                    openat(
                        Some(pfd),
                        *name,
                        OFlag::O_WRONLY
                            | OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o600),
                    )
                    .context("creating file")?,
                );
                let mut file = File::from(fd);
                std::io::copy(entry, &mut file).context("writing file contents")?;
                fchown(file.as_raw_fd(), Some(uid), Some(gid)).context("chown")?;
                fchmod(file.as_raw_fd(), mode).context("chmod")?;
                apply_xattrs(entry, file.as_raw_fd())?;
                let t = TimeSpec::new(mtime as i64, 0);
                futimens(file.as_raw_fd(), &t, &t).context("setting mtime")?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .context("reading symlink target")?
                    .ok_or_else(|| anyhow!("symlink without a target"))?
                    .into_owned();
                self.remove_existing(pfd, name)?;
                // The target is stored as is (absolute ones too, as in Alpine's
                // /bin/sh); it is never followed here.
                symlinkat(&target, Some(pfd), *name).context("creating symlink")?;
                fchownat(
                    Some(pfd),
                    *name,
                    Some(uid),
                    Some(gid),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .context("lchown")?;
                let t = TimeSpec::new(mtime as i64, 0);
                utimensat(Some(pfd), *name, &t, &t, UtimensatFlags::NoFollowSymlink)
                    .context("setting symlink mtime")?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .context("reading hardlink target")?
                    .ok_or_else(|| anyhow!("hardlink without a target"))?
                    .into_owned();
                let tcomps = clean_components(&target)
                    .with_context(|| format!("hardlink target {:?}", target.display()))?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    bail!("hardlink to the layer root");
                };
                let tparent_path: PathBuf = tparents.iter().collect();
                let tparent = self
                    .resolve_existing(&tparent_path)
                    .with_context(|| format!("hardlink target {:?}", target.display()))?;
                if tparent_path == parent_path && tname == name {
                    return Ok(());
                }
                self.remove_existing(pfd, name)?;
                linkat(
                    Some(tparent.as_raw_fd()),
                    *tname,
                    Some(pfd),
                    *name,
                    nix::fcntl::AtFlags::empty(),
                )
                .with_context(|| format!("creating hardlink to {:?}", target.display()))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let (sflag, dev) = match kind {
                    tar::EntryType::Char | tar::EntryType::Block => {
                        let major = header.device_major()?.unwrap_or(0);
                        let minor = header.device_minor()?.unwrap_or(0);
                        let flag = if kind == tar::EntryType::Char {
                            SFlag::S_IFCHR
                        } else {
                            SFlag::S_IFBLK
                        };
                        (flag, nix::sys::stat::makedev(major.into(), minor.into()))
                    }
                    _ => (SFlag::S_IFIFO, 0),
                };
                self.remove_existing(pfd, name)?;
                mknodat(Some(pfd), *name, sflag, mode, dev).context("creating device node")?;
                fchownat(
                    Some(pfd),
                    *name,
                    Some(uid),
                    Some(gid),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .context("chown")?;
                fchmodat(Some(pfd), *name, mode, FchmodatFlags::FollowSymlink).context("chmod")?;
                let t = TimeSpec::new(mtime as i64, 0);
                utimensat(Some(pfd), *name, &t, &t, UtimensatFlags::NoFollowSymlink)
                    .context("setting mtime")?;
            }
            other => {
                log::warn!(
                    "skipping layer entry {} of unsupported type {other:?}",
                    path.display()
                );
            }
        }
        Ok(())
    }

    /// Opens the parent directory `rel` (creating missing directories), resolved inside the root.
    fn parent(&mut self, rel: &Path) -> Result<OwnedFd> {
        if let Some((p, fd)) = &self.parent_cache {
            if p == rel {
                return fd.try_clone().context("duplicating parent fd");
            }
        }
        let fd = match self.resolve_existing(rel) {
            Ok(fd) => fd,
            Err(_) => self.create_parents(rel)?,
        };
        self.parent_cache = Some((rel.to_path_buf(), fd.try_clone()?));
        Ok(fd)
    }

    /// Opens an existing directory `rel` beneath the root; symlinks that
    /// leave the root and magic links fail.
    fn resolve_existing(&self, rel: &Path) -> Result<OwnedFd> {
        let path: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        match openat2(self.root.as_raw_fd(), path, how) {
            Ok(fd) => Ok(owned(fd)),
            Err(Errno::EXDEV) | Err(Errno::ELOOP) => bail!(
                "{} resolves outside the layer (through a symlink or '..'): refusing to write through it",
                rel.display()
            ),
            Err(e) => Err(e).with_context(|| format!("resolving {} inside the layer", rel.display())),
        }
    }

    fn create_parents(&mut self, rel: &Path) -> Result<OwnedFd> {
        let mut so_far = PathBuf::new();
        let mut cur = self.root.try_clone()?;
        for comp in rel.components() {
            let Component::Normal(c) = comp else { continue };
            so_far.push(c);
            cur = match self.resolve_existing(&so_far) {
                Ok(fd) => fd,
                Err(e) => {
                    match mkdirat(Some(cur.as_raw_fd()), c, Mode::from_bits_truncate(0o755)) {
                        Ok(()) => {}
                        // An existing entry that did not resolve: a symlink out, or a file.
                        Err(Errno::EEXIST) => return Err(e),
                        Err(err) => {
                            return Err(err)
                                .with_context(|| format!("creating parent {}", so_far.display()))
                        }
                    }
                    self.resolve_existing(&so_far)?
                }
            };
        }
        Ok(cur)
    }

    /// Removes whatever is at `name` in `parent` (a tree for directories).
    fn remove_existing(&mut self, parent: RawFd, name: &OsStr) -> Result<()> {
        match unlinkat(Some(parent), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(Errno::EISDIR) => {
                self.parent_cache = None;
                // Through the parent's fd so no symlink on the way is followed;
                // remove_dir_all itself does not follow symlinks inside.
                let p = PathBuf::from(format!("/proc/self/fd/{parent}")).join(name);
                std::fs::remove_dir_all(&p).with_context(|| format!("removing directory {name:?}"))
            }
            Err(e) => Err(e).with_context(|| format!("removing existing {name:?}")),
        }
    }

    fn finish_dirs(&mut self) -> Result<()> {
        self.parent_cache = None;
        for d in self.dirs.iter().rev() {
            let (parent, name) = match (d.path.parent(), d.path.file_name()) {
                (Some(p), Some(n)) => (p, n),
                _ => continue,
            };
            let Ok(pfd) = self.resolve_existing(parent) else {
                continue;
            };
            let t = TimeSpec::new(d.mtime as i64, 0);
            match utimensat(
                Some(pfd.as_raw_fd()),
                name,
                &t,
                &t,
                UtimensatFlags::NoFollowSymlink,
            ) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("setting mtime of {}", d.path.display()))
                }
            }
        }
        Ok(())
    }
}

fn apply_xattrs<R: Read>(entry: &mut tar::Entry<R>, fd: RawFd) -> Result<()> {
    let Some(exts) = entry.pax_extensions().context("reading PAX records")? else {
        return Ok(());
    };
    for ext in exts {
        let ext = ext.context("reading a PAX record")?;
        let Ok(key) = ext.key() else { continue };
        let Some(attr) = key.strip_prefix("SCHILY.xattr.") else {
            continue;
        };
        if attr.starts_with(OVERLAY_XATTRS) {
            // overlayfs reads these as whiteouts, redirects and metacopy
            // pointers; a layer may only get them through whiteout conversion.
            log::debug!("ignoring xattr {attr} from the layer");
            continue;
        }
        if let Err(e) = set_xattr_path(fd, Some(()), attr, ext.value_bytes()) {
            // Some file systems refuse some namespaces; the layer stays usable.
            log::warn!("xattr {attr}: {e}");
        }
    }
    Ok(())
}

/// Sets an xattr on `fd`: directly (`fsetxattr`) when `direct` is given,
/// else through the `/proc/self/fd` magic link (O_PATH fds refuse fsetxattr).
fn set_xattr_path(fd: RawFd, direct: Option<()>, name: &str, value: &[u8]) -> Result<()> {
    let cname = CString::new(name)?;
    let res = if direct.is_some() {
        // SAFETY: fd is open, cname is NUL-terminated, value's pointer and length agree.
        unsafe { libc::fsetxattr(fd, cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) }
    } else {
        let p = CString::new(format!("/proc/self/fd/{fd}").as_bytes())?;
        // SAFETY: both strings are NUL-terminated, value's pointer and length agree.
        unsafe {
            libc::setxattr(
                p.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        }
    };
    Errno::result(res)
        .map(drop)
        .with_context(|| format!("setting xattr {name}"))
}

/// Creates `dest` fresh as an empty directory for a layer.
pub fn fresh_dir(dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("removing stale {}", dest.display()))?;
    }
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    enum E<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        Hardlink(&'a str, &'a str),
    }

    /// Builds a tarball byte by byte so names the tar crate would refuse
    /// (`..`, absolute paths) can be written.
    fn tarball(entries: &[E]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in entries {
            let mut h = tar::Header::new_ustar();
            let (name, kind, link, data): (&str, tar::EntryType, Option<&str>, &[u8]) = match e {
                E::File(n, d) => (n, tar::EntryType::Regular, None, d),
                E::Dir(n) => (n, tar::EntryType::Directory, None, b""),
                E::Symlink(n, t) => (n, tar::EntryType::Symlink, Some(t), b""),
                E::Hardlink(n, t) => (n, tar::EntryType::Link, Some(t), b""),
            };
            let raw = h.as_ustar_mut().unwrap();
            raw.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(t) = link {
                raw.linkname[..t.len()].copy_from_slice(t.as_bytes());
            }
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(if kind == tar::EntryType::Directory {
                0o755
            } else {
                0o644
            });
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        layer: PathBuf,
        outside: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&layer).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "untouched").unwrap();
        Fixture {
            _dir: dir,
            layer,
            outside,
        }
    }

    fn assert_outside_untouched(f: &Fixture) {
        assert_eq!(
            std::fs::read_to_string(f.outside.join("secret")).unwrap(),
            "untouched"
        );
        let names: Vec<_> = std::fs::read_dir(&f.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "something was created outside the layer: {names:?}"
        );
        let parent_names: Vec<_> = std::fs::read_dir(f.layer.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            parent_names.len(),
            2,
            "something was created beside the layer: {parent_names:?}"
        );
    }

    fn unpack_err(f: &Fixture, tar: Vec<u8>) -> String {
        let err = unpack_stream(&tar[..], &f.layer).expect_err("a hostile layer must fail");
        format!("{err:#}")
    }

    #[test]
    fn dot_dot_entry_is_refused_and_named() {
        let f = fixture();
        let msg = unpack_err(&f, tarball(&[E::File("../outside/secret", b"owned")]));
        assert!(
            msg.contains("../outside/secret") && msg.contains(".."),
            "{msg}"
        );
        assert_outside_untouched(&f);
    }

    #[test]
    fn absolute_entry_is_refused_and_named() {
        let f = fixture();
        let target = format!("{}/new", f.outside.display());
        let msg = unpack_err(&f, tarball(&[E::File(&target, b"owned")]));
        assert!(msg.contains(&target) && msg.contains("absolute"), "{msg}");
        assert_outside_untouched(&f);
    }

    #[test]
    fn writing_through_an_absolute_symlink_fails() {
        let f = fixture();
        let out = f.outside.display().to_string();
        let msg = unpack_err(
            &f,
            tarball(&[E::Symlink("evil", &out), E::File("evil/secret", b"owned")]),
        );
        assert!(
            msg.contains("evil/secret") && msg.contains("outside the layer"),
            "{msg}"
        );
        assert_outside_untouched(&f);
    }

    #[test]
    fn writing_through_a_relative_symlink_out_fails() {
        let f = fixture();
        let msg = unpack_err(
            &f,
            tarball(&[
                E::Symlink("evil", "../outside"),
                E::File("evil/new", b"owned"),
            ]),
        );
        assert!(msg.contains("evil/new"), "{msg}");
        assert_outside_untouched(&f);
    }

    #[test]
    fn a_directory_through_a_symlink_out_fails() {
        let f = fixture();
        let msg = unpack_err(
            &f,
            tarball(&[E::Symlink("evil", "../outside"), E::Dir("evil/sub/")]),
        );
        assert!(msg.contains("evil/sub"), "{msg}");
        assert_outside_untouched(&f);
    }

    #[test]
    fn a_file_replacing_a_symlink_does_not_follow_it() {
        let f = fixture();
        let secret = f.outside.join("secret").display().to_string();
        unpack_stream(
            &tarball(&[E::Symlink("link", &secret), E::File("link", b"mine")])[..],
            &f.layer,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(f.layer.join("link")).unwrap(),
            "mine"
        );
        assert_outside_untouched(&f);
    }

    #[test]
    fn hardlinks_to_outside_files_fail() {
        for target in ["../outside/secret".to_string(), "/etc/passwd".to_string()] {
            let f = fixture();
            let msg = unpack_err(&f, tarball(&[E::Hardlink("hl", &target)]));
            assert!(msg.contains("hl") && msg.contains(&target), "{msg}");
            assert!(!f.layer.join("hl").exists());
            assert_outside_untouched(&f);
        }
    }

    #[test]
    fn hardlinks_through_a_symlink_out_fail() {
        let f = fixture();
        let out = f.outside.display().to_string();
        let msg = unpack_err(
            &f,
            tarball(&[E::Symlink("evil", &out), E::Hardlink("hl", "evil/secret")]),
        );
        assert!(msg.contains("\"hl\""), "{msg}");
        assert!(!f.layer.join("hl").exists());
        assert_outside_untouched(&f);
    }

    #[test]
    fn absolute_symlinks_are_kept_as_they_are() {
        let f = fixture();
        unpack_stream(
            &tarball(&[
                E::Dir("bin/"),
                E::File("bin/busybox", b"x"),
                E::Symlink("bin/sh", "/bin/busybox"),
            ])[..],
            &f.layer,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_link(f.layer.join("bin/sh")).unwrap(),
            Path::new("/bin/busybox")
        );
    }

    #[test]
    fn whiteouts_become_overlay_whiteouts() {
        let f = fixture();
        let tar = tarball(&[
            E::Dir("d/"),
            E::File("d/.wh.gone", b""),
            E::Dir("o/"),
            E::File("o/.wh..wh..opq", b""),
            E::File("o/kept", b"k"),
        ]);
        unpack_stream(&tar[..], &f.layer).unwrap();
        let md = std::fs::symlink_metadata(f.layer.join("d/gone")).unwrap();
        assert!(md.file_type().is_char_device());
        assert_eq!(md.rdev(), 0);
        assert!(!f.layer.join("d/.wh.gone").exists());
        let mut buf = [0u8; 4];
        let p = CString::new(f.layer.join("o").display().to_string()).unwrap();
        // SAFETY: NUL-terminated strings and a buffer whose length is passed.
        let n = unsafe {
            libc::getxattr(
                p.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                buf.as_mut_ptr().cast(),
                4,
            )
        };
        assert_eq!(n, 1);
        assert_eq!(buf[0], b'y');
        assert!(!f.layer.join("o/.wh..wh..opq").exists());
        assert!(f.layer.join("o/kept").exists());
    }

    #[test]
    fn whiteouts_of_dot_dot_are_refused_by_name() {
        for bad in ["d/.wh...", "d/.wh..", ".wh."] {
            let f = fixture();
            let msg = unpack_err(&f, tarball(&[E::Dir("d/"), E::File(bad, b"")]));
            assert!(msg.contains("refusing whiteout entry"), "{bad}: {msg}");
            assert_outside_untouched(&f);
        }
    }

    fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
        let cp = CString::new(p.display().to_string()).unwrap();
        let cn = CString::new(name).unwrap();
        let mut buf = [0u8; 64];
        // SAFETY: NUL-terminated strings and a buffer whose length is passed.
        let n = unsafe { libc::lgetxattr(cp.as_ptr(), cn.as_ptr(), buf.as_mut_ptr().cast(), 64) };
        (n >= 0).then(|| buf[..n as usize].to_vec())
    }

    #[test]
    fn overlay_xattrs_from_the_layer_are_dropped() {
        let f = fixture();
        let mut b = tar::Builder::new(Vec::new());
        let pax: &[(&str, &[u8])] = &[
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ("SCHILY.xattr.user.kept", b"1"),
        ];
        b.append_pax_extensions(pax.iter().copied()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_path("d/").unwrap();
        h.set_mode(0o755);
        h.set_size(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, &b""[..]).unwrap();
        unpack_stream(&b.into_inner().unwrap()[..], &f.layer).unwrap();
        let d = f.layer.join("d");
        assert_eq!(xattr(&d, "trusted.overlay.opaque"), None);
        assert_eq!(xattr(&d, "trusted.overlay.redirect"), None);
        // user.* works where the file system has it (tmpfs before 6.6 does not).
        let user = xattr(&d, "user.kept");
        assert!(user.is_none() || user.as_deref() == Some(&b"1"[..]));
    }

    #[test]
    fn hardlinks_inside_the_layer_share_the_inode() {
        let f = fixture();
        unpack_stream(
            &tarball(&[E::File("a", b"x"), E::Hardlink("b", "a")])[..],
            &f.layer,
        )
        .unwrap();
        let (a, b) = (
            std::fs::metadata(f.layer.join("a")).unwrap(),
            std::fs::metadata(f.layer.join("b")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino());
    }

    #[test]
    fn setuid_bits_survive_the_chown() {
        let f = fixture();
        let mut h = tar::Header::new_gnu();
        h.set_path("su").unwrap();
        h.set_size(1);
        h.set_mode(0o4755);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"x"[..]).unwrap();
        unpack_stream(&b.into_inner().unwrap()[..], &f.layer).unwrap();
        let md = std::fs::metadata(f.layer.join("su")).unwrap();
        assert_eq!(md.mode() & 0o7777, 0o4755);
        assert_eq!((md.uid(), md.gid()), (1000, 1000));
    }

    #[test]
    fn wrong_diff_id_is_an_error() {
        let f = fixture();
        let blob = f.layer.parent().unwrap().join("blob.tar");
        std::fs::write(&blob, tarball(&[E::File("a", b"x")])).unwrap();
        let dest = f.layer.join("d");
        std::fs::create_dir(&dest).unwrap();
        let err = unpack_layer(
            &blob,
            &dest,
            Some(&crate::digest::sha256_of(b"other")),
            &UnpackLimits::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("diff_id"));
    }

    /// A gzip layer of one file of `mib` MiB of zeros (a few KiB packed).
    fn bomb(f: &Fixture, mib: usize) -> PathBuf {
        let blob = f.layer.parent().unwrap().join("bomb.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            File::create(&blob).unwrap(),
            flate2::Compression::best(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size((mib << 20) as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, "zeros", std::io::repeat(0).take((mib << 20) as u64))
            .unwrap();
        b.into_inner().unwrap().finish().unwrap();
        blob
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_size_cap() {
        let f = fixture();
        let blob = bomb(&f, 16);
        let limits = UnpackLimits {
            max_bytes: 1 << 20,
            min_free: Some(0),
        };
        let err = format!(
            "{:#}",
            unpack_layer(&blob, &f.layer, None, &limits).unwrap_err()
        );
        assert!(err.contains("unpacks to more than 1.0MiB"), "{err}");
        let written = std::fs::metadata(f.layer.join("zeros"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(written <= 2 << 20, "{written} bytes written");
    }

    #[test]
    fn unpacking_stops_before_free_space_falls_under_the_margin() {
        let f = fixture();
        let blob = bomb(&f, 4);
        let limits = UnpackLimits {
            min_free: Some(u64::MAX / 4),
            ..UnpackLimits::default()
        };
        let err = format!(
            "{:#}",
            unpack_layer(&blob, &f.layer, None, &limits).unwrap_err()
        );
        assert!(
            err.contains("stopped unpacking") && err.contains("RDOCK_MIN_FREE_SPACE"),
            "{err}"
        );
        assert!(unpack_layer(&blob, &f.layer, None, &UnpackLimits::default()).is_ok());
    }

    #[test]
    fn gzip_and_zstd_are_told_by_magic_bytes() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(b"bin/"), Compression::None);
    }
}
