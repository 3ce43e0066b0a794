//! Layers made here rather than pulled: a container's overlay upper dir
//! written as an OCI layer tar (`commit`), and a tar stream taken as one
//! layer (`import`), each stored gzip-compressed as a blob and unpacked
//! into its chain-ID directory through the same checked unpacker as a pull.
//!
//! The upper dir is walked from directory fds (`openat` with `O_NOFOLLOW`,
//! `fstatat` without following), so a symlink in it, even one swapped in
//! while the walk runs, is archived as a link and never followed. overlayfs'
//! markers become the OCI forms: a 0/0 character device `NAME` is the
//! whiteout `.wh.NAME`, a directory with `trusted.overlay.opaque=y` gets a
//! `.wh..wh..opq` entry. Hard links inside the upper dir stay hard links.
use crate::digest::{chain_ids, HashingWriter};
use crate::limits::{self, UnpackLimits};
use crate::pull::OCI_MANIFEST;
use crate::store::{ConfigFacts, ImageRecord, LayerRecord, Store};
use crate::unpack::Compression;
use anyhow::{bail, Context, Result};
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The media type of the layers made here.
pub const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Writes the overlay upper dir `upper` as a layer tar to `out`. `skip`
/// is given each path (`/etc/hostname`) and leaves it out, with all under it.
pub fn write_upper(upper: &Path, skip: &dyn Fn(&str) -> bool, out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    let root = open_dir(None, upper)?;
    let mut walk = Walk {
        b: &mut b,
        skip,
        links: HashMap::new(),
    };
    walk.dir(&root, "")?;
    b.into_inner()
        .context("finishing the layer tar")?
        .flush()
        .context("writing the layer")?;
    Ok(())
}

fn open_dir(parent: Option<RawFd>, name: &Path) -> Result<OwnedFd> {
    let fd = openat(
        parent,
        name,
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening directory {}", name.display()))?;
    // SAFETY: openat just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The value of xattr `name` on `fd`, if set.
fn xattr(fd: RawFd, name: &str) -> Option<Vec<u8>> {
    let cname = CString::new(name).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for its length and `cname` is NUL-terminated.
    let n = unsafe { libc::fgetxattr(fd, cname.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

/// The xattrs a layer carries (file capabilities, `user.*`), as docker
/// keeps them; overlayfs' own and security labels stay behind.
fn kept_xattrs(fd: RawFd) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    // SAFETY: `names` is valid for its length.
    let n = unsafe { libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    names[..n as usize]
        .split(|b| *b == 0)
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter(|n| {
            *n == "security.capability" || n.starts_with("user.") && !n.starts_with("user.overlay.")
        })
        .filter_map(|n| xattr(fd, n).map(|v| (n.to_string(), v)))
        .collect()
}

/// One PAX record: `LEN KEY=VALUE\n`, LEN counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

fn overlay_xattr(fd: RawFd, what: &str) -> Option<Vec<u8>> {
    xattr(fd, &format!("trusted.overlay.{what}"))
        .or_else(|| xattr(fd, &format!("user.overlay.{what}")))
}

struct Walk<'a, W: Write> {
    b: &'a mut tar::Builder<W>,
    skip: &'a dyn Fn(&str) -> bool,
    /// (dev, ino) of files with several links -> the first name archived.
    links: HashMap<(u64, u64), String>,
}

fn header_of(st: &FileStat, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

impl<W: Write> Walk<'_, W> {
    /// A PAX header with the xattrs of `fd` for the entry that follows.
    fn xattrs(&mut self, fd: RawFd) -> Result<()> {
        let attrs = kept_xattrs(fd);
        if attrs.is_empty() {
            return Ok(());
        }
        let data: Vec<u8> = attrs
            .iter()
            .flat_map(|(k, v)| pax_record(&format!("SCHILY.xattr.{k}"), v))
            .collect();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        self.b
            .append_data(&mut h, "PaxHeaders/xattrs", &data[..])
            .context("writing xattrs")?;
        Ok(())
    }

    fn dir(&mut self, dir: &OwnedFd, rel: &str) -> Result<()> {
        let mut names: Vec<CString> = Vec::new();
        let mut d = nix::dir::Dir::openat(
            Some(dir.as_raw_fd()),
            ".",
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("listing /{rel}"))?;
        for e in d.iter() {
            let e = e.with_context(|| format!("listing /{rel}"))?;
            let n = e.file_name();
            if n.to_bytes() != b"." && n.to_bytes() != b".." {
                names.push(n.to_owned());
            }
        }
        names.sort();
        for name in names {
            let name_s = name.to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name_s.clone()
            } else {
                format!("{rel}/{name_s}")
            };
            if (self.skip)(&format!("/{path}")) {
                continue;
            }
            self.entry(dir, &name, &path)
                .with_context(|| format!("archiving /{path}"))?;
        }
        Ok(())
    }

    fn entry(&mut self, dir: &OwnedFd, name: &CString, path: &str) -> Result<()> {
        let pfd = dir.as_raw_fd();
        let st = fstatat(Some(pfd), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let fmt = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if fmt == SFlag::S_IFCHR && st.st_rdev == 0 {
            // overlayfs' whiteout: the file was deleted.
            let wh = match path.rsplit_once('/') {
                Some((parent, n)) => format!("{parent}/.wh.{n}"),
                None => format!(".wh.{path}"),
            };
            let mut h = header_of(&st, tar::EntryType::Regular);
            h.set_mode(0o600);
            self.b.append_data(&mut h, wh, std::io::empty())?;
            return Ok(());
        }
        if fmt == SFlag::S_IFDIR {
            let sub = open_dir(Some(pfd), Path::new(name.to_str()?))?;
            if overlay_xattr(sub.as_raw_fd(), "redirect").is_some() {
                bail!("a renamed directory (overlay redirect_dir) cannot be committed");
            }
            let mut h = header_of(&fstat(sub.as_raw_fd())?, tar::EntryType::Directory);
            self.b
                .append_data(&mut h, format!("{path}/"), std::io::empty())?;
            if overlay_xattr(sub.as_raw_fd(), "opaque").as_deref() == Some(b"y") {
                let mut h = header_of(&st, tar::EntryType::Regular);
                h.set_mode(0o600);
                self.b
                    .append_data(&mut h, format!("{path}/.wh..wh..opq"), std::io::empty())?;
            }
            return self.dir(&sub, path);
        }
        if fmt == SFlag::S_IFLNK {
            let target = readlinkat(Some(pfd), name.as_c_str())?;
            let mut h = header_of(&st, tar::EntryType::Symlink);
            self.b.append_link(&mut h, path, target)?;
            return Ok(());
        }
        if fmt == SFlag::S_IFREG {
            if st.st_nlink > 1 {
                let key = (st.st_dev, st.st_ino);
                if let Some(first) = self.links.get(&key) {
                    let mut h = header_of(&st, tar::EntryType::Link);
                    self.b.append_link(&mut h, path, first)?;
                    return Ok(());
                }
                self.links.insert(key, path.to_string());
            }
            let fd = openat(
                Some(pfd),
                name.as_c_str(),
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
                Mode::empty(),
            )?;
            // SAFETY: openat just returned this fd and nothing else owns it.
            let file = unsafe { File::from_raw_fd(fd) };
            let fst = fstat(file.as_raw_fd())?;
            if SFlag::from_bits_truncate(fst.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
                bail!("the file changed while it was archived");
            }
            if overlay_xattr(file.as_raw_fd(), "metacopy").is_some() {
                bail!("a metadata-only copy-up (overlay metacopy) cannot be committed");
            }
            let mut h = header_of(&fst, tar::EntryType::Regular);
            h.set_size(fst.st_size as u64);
            self.xattrs(file.as_raw_fd())?;
            // A file that shrinks or grows meanwhile must not break the tar.
            let data = file.take(fst.st_size as u64).chain(std::io::repeat(0));
            self.b
                .append_data(&mut h, path, data.take(fst.st_size as u64))?;
            return Ok(());
        }
        let kind = match fmt {
            SFlag::S_IFCHR => tar::EntryType::Char,
            SFlag::S_IFBLK => tar::EntryType::Block,
            SFlag::S_IFIFO => tar::EntryType::Fifo,
            // Sockets have no tar form and no meaning in an image.
            _ => return Ok(()),
        };
        let mut h = header_of(&st, kind);
        if kind != tar::EntryType::Fifo {
            h.set_device_major(nix::sys::stat::major(st.st_rdev) as u32)?;
            h.set_device_minor(nix::sys::stat::minor(st.st_rdev) as u32)?;
        }
        self.b.append_data(&mut h, path, std::io::empty())?;
        Ok(())
    }
}

/// Stops a stream at the layer size cap.
struct Capped<R> {
    inner: R,
    left: u64,
    max: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        limits::touch();
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "the layer is larger than {}, the most a layer may have (RDOCK_MAX_LAYER_SIZE sets this limit)",
                limits::human(self.max)
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Decompresses `input` (gzip, zstd or plain, told by its magic bytes).
pub fn decompressed<'a>(input: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let head = reader.fill_buf().context("reading the archive")?;
    Ok(match Compression::detect(head) {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Compression::None => Box::new(reader),
    })
}

/// Stores a layer on top of the layers `below` (diff IDs, bottom first):
/// `fill` writes the uncompressed tar, which is gzipped into a blob, then
/// unpacked into `layers/<chain>` with the unpacker's checks. The caller
/// holds the store's `gc.lock` (shared) until the image is recorded.
pub fn add_layer(
    store: &Store,
    below: &[String],
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<LayerRecord> {
    let tmp = store.tmp_path("blob");
    let res = (|| {
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let compressed = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::fast());
        let mut tar = HashingWriter::new(gz);
        fill(&mut tar)?;
        let (gz, diff_id, unpacked) = tar.finish();
        let (mut file, digest, size) = gz.finish().context("compressing the layer")?.finish();
        file.flush().context("writing the layer")?;
        file.get_ref().sync_all().context("syncing the layer")?;
        let existed = store.has_blob(&digest);
        store.adopt_blob(&tmp, &digest)?;
        let mut diffs = below.to_vec();
        diffs.push(diff_id.clone());
        let chain = chain_ids(&diffs).pop().expect("one diff at least");
        let done = match store.unpack_layer(&digest, &diff_id, &chain) {
            Ok(n) => n,
            Err(e) => {
                // A refused layer leaves no blob behind (unless it was shared).
                if !existed {
                    let _ = std::fs::remove_file(store.blob_path(&digest)?);
                }
                return Err(e);
            }
        };
        Ok(LayerRecord {
            digest,
            media_type: GZIP_LAYER.to_string(),
            size,
            diff_id,
            chain_id: chain,
            unpacked_size: if done == 0 { unpacked } else { done },
        })
    })();
    let _ = std::fs::remove_file(&tmp);
    res
}

/// Copies the tar stream `input` (plain, gzip or zstd) as a layer of its own
/// (`import`), within the layer size cap.
pub fn add_tar_layer(store: &Store, input: impl Read) -> Result<LayerRecord> {
    let limits = UnpackLimits::from_env()?;
    add_layer(store, &[], |out| {
        let mut capped = Capped {
            inner: decompressed(input)?,
            left: limits.max_bytes,
            max: limits.max_bytes,
        };
        std::io::copy(&mut capped, out).context("reading the archive")?;
        Ok(())
    })
}

/// Records an image made of `layers` and the image config `config`
/// (whose `rootfs.diff_ids` must list them): the config and an OCI
/// manifest go into the blobs, the image into the index under `names`.
pub fn record_image(
    store: &Store,
    config: &serde_json::Value,
    layers: Vec<LayerRecord>,
    names: &[String],
) -> Result<ImageRecord> {
    let cfg_bytes = serde_json::to_vec(config)?;
    let id = crate::digest::sha256_of(&cfg_bytes);
    store.put_blob(&id, &cfg_bytes)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": id, "size": cfg_bytes.len()},
        "layers": layers.iter().map(|l| serde_json::json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
    });
    let mbytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = crate::digest::sha256_of(&mbytes);
    store.put_blob(&manifest_digest, &mbytes)?;
    let facts = ConfigFacts::of(config);
    let record = ImageRecord {
        id,
        manifest_digest,
        manifest_media_type: OCI_MANIFEST.to_string(),
        index_digest: None,
        repo_digests: Vec::new(),
        size: layers.iter().map(|l| l.unpacked_size).sum(),
        layers,
        created: facts.created,
        os: facts.os,
        architecture: facts.architecture,
    };
    store.add_image(record.clone(), names)?;
    Ok(record)
}

/// The time now as docker writes it in image configs.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// `2024-01-01T00:00:00.123456789Z` from seconds since the epoch.
fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record("a", b"b"), b"6 a=b\n");
        let r = pax_record("SCHILY.xattr.user.x", &[b'v'; 100]);
        let len: usize = std::str::from_utf8(&r[..r.iter().position(|b| *b == b' ').unwrap()])
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, r.len());
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_704_067_200, 5), "2024-01-01T00:00:00.000000005Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn an_upper_dir_becomes_oci_whiteouts_and_links() {
        let d = tempfile::tempdir().unwrap();
        let up = d.path();
        std::fs::create_dir_all(up.join("etc/sub")).unwrap();
        std::fs::write(up.join("etc/new"), b"hi\n").unwrap();
        std::fs::hard_link(up.join("etc/new"), up.join("etc/same")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", up.join("etc/link")).unwrap();
        std::fs::write(up.join("etc/hostname"), b"").unwrap();
        nix::sys::stat::mknod(
            &up.join("etc/gone"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o600),
            0,
        )
        .ok();
        let cpath = CString::new(up.join("etc/new").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: both strings are NUL-terminated and the value valid for its length.
        let has_xattr = unsafe {
            libc::setxattr(
                cpath.as_ptr(),
                c"user.rdock".as_ptr(),
                b"v".as_ptr().cast(),
                1,
                0,
            )
        } == 0;
        let mut out = Vec::new();
        write_upper(up, &|p| p == "/etc/hostname", &mut out).unwrap();
        let mut a = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().display().to_string();
            if p == "etc/new" && has_xattr {
                let exts: Vec<String> = e
                    .pax_extensions()
                    .unwrap()
                    .expect("xattrs as PAX records")
                    .map(|x| x.unwrap().key().unwrap().to_string())
                    .collect();
                assert_eq!(exts, ["SCHILY.xattr.user.rdock"]);
            }
            let kind = e.header().entry_type();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.display().to_string())
                .unwrap_or_default();
            seen.push(format!("{p} {kind:?} {link}"));
        }
        let got = seen.join("\n");
        assert!(got.contains("etc/ Directory"), "{got}");
        assert!(got.contains("etc/new Regular"), "{got}");
        assert!(got.contains("etc/same Link etc/new"), "{got}");
        assert!(got.contains("etc/link Symlink /etc/passwd"), "{got}");
        assert!(!got.contains("hostname"), "{got}");
        // mknod needs root: the whiteout is checked when it could be made.
        if up.join("etc/gone").exists() {
            assert!(got.contains("etc/.wh.gone Regular"), "{got}");
        }
    }
}
