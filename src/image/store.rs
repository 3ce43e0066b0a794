//! The content store: blobs by digest, unpacked layers by chain ID, and an
//! index of images, names and tags (layout in the [module doc](super)).
//!
//! Every write lands in `tmp/` first and is renamed into place, so readers
//! never see half a blob, half a layer or half an index. Index updates hold
//! an exclusive `flock` on `lock`; pulls hold a shared `flock` on `gc.lock`
//! for their whole run and removals hold it exclusively, so a removal never
//! collects the blobs and layers of a pull that is not recorded yet.
use crate::digest::{hex_part, sha256_of};
use crate::reference;
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const DEFAULT_ROOT: &str = "/var/lib/rdock";

/// The root's mode, as docker keeps /var/lib/docker: only root gets in
/// (unpacked layers keep their setuid files, records hold `-e` values).
pub const ROOT_MODE: u32 = 0o710;
/// Directories directly under the root, each private to root as well.
const PRIVATE_DIRS: &[&str] = &[
    "blobs",
    "containers",
    "layers",
    "networks",
    "runtime",
    "tmp",
    "volumes",
];

/// The error for a user who is not root: rdock mounts, unpacks layers as
/// their owners and keeps a root-only store, so it needs root.
#[derive(Debug, thiserror::Error)]
#[error("Got permission denied while trying to use rdock's store at {0}: rdock needs root (run it with sudo)")]
pub struct NeedsRoot(pub String);

/// Makes `root` (and its parents) if missing, private to root; a store made
/// by an older rdock (0755) is tightened here. Costs one stat when the
/// store is already right, so the run path stays fast.
pub fn prepare_root(root: &Path) -> Result<()> {
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(NeedsRoot(root.display().to_string()).into());
    }
    match fs::metadata(root) {
        Ok(m) if m.permissions().mode() & 0o7777 == ROOT_MODE => return Ok(()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = root.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            match fs::DirBuilder::new().mode(0o700).create(root) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", root.display())),
            }
        }
        Err(e) => return Err(e).with_context(|| format!("inspecting {}", root.display())),
    }
    tighten(root)
}

/// Sets the root to [`ROOT_MODE`] and makes its top directories 0700
/// (mkdir honours the umask, so modes are set explicitly).
fn tighten(root: &Path) -> Result<()> {
    for d in PRIVATE_DIRS {
        let p = root.join(d);
        let res = match fs::metadata(&p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o700))
            }
            Ok(_) => Ok(()),
            // Another rdock may make it at the same moment (0700 too).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(0o700).create(&p) {
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                    r => r,
                }
            }
            Err(e) => Err(e),
        };
        res.with_context(|| format!("making {} private", p.display()))?;
    }
    // The root last: a failure above leaves it to be tried again next time.
    fs::set_permissions(root, fs::Permissions::from_mode(ROOT_MODE))
        .with_context(|| format!("making {} private", root.display()))
}

/// One layer of an image, as recorded in the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerRecord {
    /// Digest of the blob as the registry serves it (compressed).
    pub digest: String,
    pub media_type: String,
    /// Size of the compressed blob.
    pub size: u64,
    pub diff_id: String,
    pub chain_id: String,
    /// Size of the uncompressed tar stream.
    pub unpacked_size: u64,
}

/// What an image record takes from the image config itself.
pub struct ConfigFacts {
    pub created: Option<String>,
    pub os: String,
    pub architecture: String,
}

impl ConfigFacts {
    pub fn of(config: &serde_json::Value) -> ConfigFacts {
        let text = |k: &str| config.get(k).and_then(serde_json::Value::as_str);
        ConfigFacts {
            created: text("created").map(String::from),
            os: text("os").unwrap_or_default().to_string(),
            architecture: text("architecture").unwrap_or_default().to_string(),
        }
    }
}

/// An image in the index, keyed by its ID (the config digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: String,
    pub manifest_digest: String,
    pub manifest_media_type: String,
    /// Digest of the index or manifest list the manifest was picked from, if any.
    #[serde(default)]
    pub index_digest: Option<String>,
    /// `docker.io/library/busybox@sha256:...`, as docker shows under DIGEST.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    pub layers: Vec<LayerRecord>,
    #[serde(default)]
    pub created: Option<String>,
    pub size: u64,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    images: BTreeMap<String, ImageRecord>,
    /// `docker.io/library/busybox:latest` -> image ID.
    tags: BTreeMap<String, String>,
}

/// An image resolved for running: its config and the layer directories,
/// bottom layer first (reverse them for overlayfs' `lowerdir=`).
#[derive(Debug, Clone)]
pub struct LocalImage {
    pub id: String,
    pub config: ImageConfiguration,
    pub layers: Vec<PathBuf>,
    pub record: ImageRecord,
}

/// A row of `rdock images`.
#[derive(Debug, Clone)]
pub struct ImageRow {
    /// Fully qualified `repository:tag`, or `None` for an untagged image.
    pub tagged: Option<String>,
    pub record: ImageRecord,
}

use sysutil::fs::Atomic;
pub use sysutil::lock::Lock;
use sysutil::lock::{self, Kind};

pub struct Store {
    root: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) the store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root = root.into();
        for d in ["blobs/sha256", "layers", "tmp"] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root.join(d))
                .with_context(|| format!("creating {}", root.join(d).display()))?;
        }
        let layout = root.join("oci-layout");
        if !layout.exists() {
            write_atomic(&root, &layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(Store { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join("blobs/sha256")
            .join(hex_part(digest).map_err(|e| anyhow!(e))?))
    }

    pub fn layer_path(&self, chain_id: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join("layers")
            .join(hex_part(chain_id).map_err(|e| anyhow!(e))?))
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A unique name under `tmp/` for something being built.
    pub fn tmp_path(&self, what: &str) -> PathBuf {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir()
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).map(|p| p.exists()).unwrap_or(false)
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let p = self.blob_path(digest)?;
        let data = fs::read(&p).with_context(|| format!("reading blob {}", p.display()))?;
        Ok(data)
    }

    /// Stores small content (manifests, configs) after checking its digest.
    pub fn put_blob(&self, digest: &str, data: &[u8]) -> Result<()> {
        let actual = sha256_of(data);
        if actual != digest {
            bail!("content digest {actual} does not match the expected {digest}");
        }
        let dest = self.blob_path(digest)?;
        if dest.exists() {
            return Ok(());
        }
        write_atomic(&self.tmp_dir(), &dest, data)
    }

    /// Moves a verified file into `blobs/` under `digest` (a no-op if present).
    pub fn adopt_blob(&self, file: &Path, digest: &str) -> Result<()> {
        let dest = self.blob_path(digest)?;
        if dest.exists() {
            return Ok(());
        }
        fs::rename(file, &dest)
            .with_context(|| format!("moving {} to {}", file.display(), dest.display()))
    }

    /// Unpacks the stored blob `digest` into `layers/<chain>` through a temp
    /// dir, checking `diff_id`; returns the uncompressed size (0 if the layer
    /// was there already).
    pub fn unpack_layer(&self, digest: &str, diff_id: &str, chain: &str) -> Result<u64> {
        let dest = self.layer_path(chain)?;
        if dest.is_dir() {
            return Ok(0);
        }
        let blob = self.blob_path(digest)?;
        let tmp = self.tmp_path("layer");
        crate::unpack::fresh_dir(&tmp)?;
        let limits = crate::limits::UnpackLimits::from_env()?;
        let done = match crate::unpack::unpack_layer(&blob, &tmp, Some(diff_id), &limits) {
            Ok(u) => u,
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = fs::rename(&tmp, &dest) {
            let _ = fs::remove_dir_all(&tmp);
            // Another pull unpacked the same layer first: use theirs.
            if !dest.is_dir() {
                return Err(e).with_context(|| format!("moving layer into {}", dest.display()));
            }
        }
        Ok(done.size)
    }

    /// The shared `gc.lock` a pull holds for its whole run. First, what
    /// dead pulls left in `tmp/` goes (partial downloads stay, to resume).
    pub fn lock_for_pull(&self) -> Result<Lock> {
        self.clean_tmp(false);
        self.lock("gc.lock", false)
    }

    /// Takes a lock file under the root: exclusive or shared, blocking.
    pub fn lock(&self, name: &str, exclusive: bool) -> Result<Lock> {
        let kind = if exclusive {
            Kind::Exclusive
        } else {
            Kind::Shared
        };
        let held = lock::lock_file(&self.root.join(name), kind, true)?;
        Ok(held.expect("a waiting lock is always taken"))
    }

    /// Removes what dead rdock processes left in `tmp/`: layers half
    /// unpacked and files half written (named `WHAT-PID-N`, so only those
    /// of processes gone are touched and a pull running now keeps its own),
    /// and with `partials` the partial downloads too: only with `gc.lock`
    /// held exclusively, when no pull can be writing one. Returns the bytes
    /// freed, roughly.
    pub fn clean_tmp(&self, partials: bool) -> u64 {
        let mut freed = 0;
        let me = std::process::id();
        for e in fs::read_dir(self.tmp_dir()).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let doomed = if name.ends_with(".partial") {
                partials
            } else {
                match tmp_owner(&name) {
                    Some(pid) => pid != me && !Path::new(&format!("/proc/{pid}")).exists(),
                    None => false,
                }
            };
            if !doomed {
                continue;
            }
            let p = e.path();
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            let res = if e.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            match res {
                Ok(()) => {
                    log::info!("removed {} left by a dead pull", p.display());
                    freed += size;
                }
                Err(e) => log::warn!("removing {}: {e}", p.display()),
            }
        }
        freed
    }

    /// Takes a lock file only if it is free at once (None if held).
    pub fn try_lock(&self, name: &str) -> Result<Option<Lock>> {
        lock::lock_file(&self.root.join(name), Kind::Exclusive, false)
    }

    fn read_index(&self) -> Result<Index> {
        let p = self.root.join("images.json");
        let data = match fs::read(&p) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
        };
        let err = match serde_json::from_slice(&data) {
            Ok(index) => return Ok(index),
            Err(e) => e,
        };
        log::warn!(
            "{} is damaged ({err}); rebuilding the image list from the store",
            p.display()
        );
        let index = self.rebuild_index();
        // Kept when no other rdock is writing; a writer holding the lock
        // writes what it read (this same rebuild) itself.
        if let Ok(Some(_l)) = self.try_lock("lock") {
            let _ = fs::rename(&p, self.root.join("images.json.damaged"));
            if let Err(e) = self.write_index(&index) {
                log::warn!("writing the rebuilt image list: {e:#}");
            }
        }
        Ok(index)
    }

    /// The image list as the blobs and layers say it: every stored image
    /// manifest whose config and layer directories are all present, with
    /// the names `index.json` gives (unpacked sizes are not known again:
    /// the compressed ones stand in).
    fn rebuild_index(&self) -> Index {
        let mut index = Index::default();
        let read_json = |digest: &str| -> Option<serde_json::Value> {
            let p = self.blob_path(digest).ok()?;
            if fs::metadata(&p).ok()?.len() > crate::limits::MAX_MANIFEST_BYTES {
                return None;
            }
            let data = fs::read(&p).ok()?;
            if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return None;
            }
            serde_json::from_slice(&data).ok()
        };
        let digests: Vec<String> = fs::read_dir(self.root.join("blobs/sha256"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| format!("sha256:{}", e.file_name().to_string_lossy()))
            .collect();
        let mut parents: BTreeMap<String, String> = BTreeMap::new();
        let mut manifests = Vec::new();
        for d in &digests {
            let Some(v) = read_json(d) else { continue };
            if let Some(list) = v.get("manifests").and_then(|m| m.as_array()) {
                for m in list {
                    if let Some(child) = m.get("digest").and_then(|x| x.as_str()) {
                        parents.insert(child.to_string(), d.clone());
                    }
                }
            } else if v.get("config").is_some() && v.get("layers").is_some() {
                manifests.push((d.clone(), v));
            }
        }
        for (digest, m) in manifests {
            if let Some(rec) = self.record_from_manifest(&digest, &m, parents.get(&digest)) {
                index.images.insert(rec.id.clone(), rec);
            }
        }
        // Names: index.json maps each name to its manifest digest.
        let oci: serde_json::Value = fs::read(self.root.join("index.json"))
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default();
        for m in oci["manifests"].as_array().into_iter().flatten() {
            let (Some(name), Some(digest)) = (
                m["annotations"]["org.opencontainers.image.ref.name"].as_str(),
                m["digest"].as_str(),
            ) else {
                continue;
            };
            if let Some(rec) = index
                .images
                .values_mut()
                .find(|r| r.manifest_digest == digest)
            {
                let (repo, _) = reference::split_tagged(name);
                let top = rec
                    .index_digest
                    .clone()
                    .unwrap_or_else(|| digest.to_string());
                let rd = format!("{repo}@{top}");
                if !rec.repo_digests.contains(&rd) {
                    rec.repo_digests.push(rd);
                }
                let id = rec.id.clone();
                index.tags.insert(name.to_string(), id);
            }
        }
        index
    }

    /// An image record for a stored manifest, if its config and every
    /// layer directory are in the store.
    fn record_from_manifest(
        &self,
        digest: &str,
        m: &serde_json::Value,
        parent: Option<&String>,
    ) -> Option<ImageRecord> {
        let config_digest = m["config"]["digest"].as_str()?;
        let config: serde_json::Value =
            serde_json::from_slice(&self.read_blob(config_digest).ok()?).ok()?;
        let diff_ids: Vec<String> = config
            .pointer("/rootfs/diff_ids")?
            .as_array()?
            .iter()
            .map(|d| d.as_str().map(String::from))
            .collect::<Option<_>>()?;
        let layers = m["layers"].as_array()?;
        if layers.len() != diff_ids.len() {
            return None;
        }
        let chains = crate::digest::chain_ids(&diff_ids);
        let mut records = Vec::new();
        for ((l, diff), chain) in layers.iter().zip(&diff_ids).zip(&chains) {
            if !self.layer_path(chain).ok()?.is_dir() {
                return None;
            }
            let size = l["size"].as_u64().unwrap_or(0);
            records.push(LayerRecord {
                digest: l["digest"].as_str()?.to_string(),
                media_type: l["mediaType"].as_str().unwrap_or_default().to_string(),
                size,
                diff_id: diff.clone(),
                chain_id: chain.clone(),
                unpacked_size: size,
            });
        }
        let facts = ConfigFacts::of(&config);
        Some(ImageRecord {
            id: config_digest.to_string(),
            manifest_digest: digest.to_string(),
            manifest_media_type: m["mediaType"]
                .as_str()
                .unwrap_or(crate::pull::OCI_MANIFEST)
                .to_string(),
            index_digest: parent.cloned(),
            repo_digests: Vec::new(),
            size: records.iter().map(|l| l.unpacked_size).sum(),
            layers: records,
            created: facts.created,
            os: facts.os,
            architecture: facts.architecture,
        })
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        let data = serde_json::to_vec_pretty(index)?;
        write_atomic(&self.tmp_dir(), &self.root.join("images.json"), &data)?;
        self.write_oci_index(index)
    }

    /// Keeps `index.json` (OCI image layout) in step with the names.
    fn write_oci_index(&self, index: &Index) -> Result<()> {
        let mut manifests = Vec::new();
        for (name, id) in &index.tags {
            if let Some(rec) = index.images.get(id) {
                let size = self
                    .blob_path(&rec.manifest_digest)
                    .ok()
                    .and_then(|p| fs::metadata(p).ok())
                    .map(|m| m.len())
                    .unwrap_or(0);
                manifests.push(serde_json::json!({
                    "mediaType": rec.manifest_media_type,
                    "digest": rec.manifest_digest,
                    "size": size,
                    "annotations": {"org.opencontainers.image.ref.name": name},
                }));
            }
        }
        let doc = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
        write_atomic(
            &self.tmp_dir(),
            &self.root.join("index.json"),
            &serde_json::to_vec_pretty(&doc)?,
        )
    }

    /// Records an image and points `names` (fully qualified `repo:tag`) at it.
    /// Returns the names that moved away from another image.
    pub fn add_image(&self, record: ImageRecord, names: &[String]) -> Result<()> {
        let _l = self.lock("lock", true)?;
        let mut index = self.read_index()?;
        let id = record.id.clone();
        match index.images.get_mut(&id) {
            Some(existing) => {
                for d in record.repo_digests {
                    if !existing.repo_digests.contains(&d) {
                        existing.repo_digests.push(d);
                    }
                }
            }
            None => {
                index.images.insert(id.clone(), record);
            }
        }
        for n in names {
            index.tags.insert(n.clone(), id.clone());
        }
        self.write_index(&index)
    }

    /// Finds an image by name[:tag], name@digest, full or short ID.
    pub fn find(&self, name: &str) -> Result<ImageRecord> {
        let index = self.read_index()?;
        let id = find_id(&index, name)?;
        Ok(index.images[&id].clone())
    }

    /// Resolves a reference to a local image ready to run.
    pub fn resolve(&self, name: &str) -> Result<LocalImage> {
        let record = self.find(name)?;
        let config: ImageConfiguration = serde_json::from_slice(&self.read_blob(&record.id)?)
            .with_context(|| format!("parsing the config of image {}", record.id))?;
        let mut layers = Vec::new();
        for l in &record.layers {
            let p = self.layer_path(&l.chain_id)?;
            if !p.is_dir() {
                bail!(
                    "image {name}: layer {} is missing from the store; pull it again",
                    l.chain_id
                );
            }
            layers.push(p);
        }
        Ok(LocalImage {
            id: record.id.clone(),
            config,
            layers,
            record,
        })
    }

    /// Unpacked sizes of the layers recorded so far, by chain ID.
    pub fn layer_sizes(&self) -> Result<BTreeMap<String, u64>> {
        let index = self.read_index()?;
        Ok(index
            .images
            .values()
            .flat_map(|r| {
                r.layers
                    .iter()
                    .map(|l| (l.chain_id.clone(), l.unpacked_size))
            })
            .collect())
    }

    /// All images, one row per tag (and one for each untagged image).
    pub fn list(&self) -> Result<Vec<ImageRow>> {
        let index = self.read_index()?;
        let mut rows = Vec::new();
        let mut tagged = BTreeSet::new();
        for (name, id) in &index.tags {
            if let Some(r) = index.images.get(id) {
                tagged.insert(id.clone());
                rows.push(ImageRow {
                    tagged: Some(name.clone()),
                    record: r.clone(),
                });
            }
        }
        for (id, r) in &index.images {
            if !tagged.contains(id) {
                rows.push(ImageRow {
                    tagged: None,
                    record: r.clone(),
                });
            }
        }
        Ok(rows)
    }

    /// Points `target` (fully qualified `repo:tag`) at the image `source` names.
    pub fn tag(&self, source: &str, target: &str) -> Result<()> {
        let _l = self.lock("lock", true)?;
        let mut index = self.read_index()?;
        let id = find_id(&index, source)?;
        index.tags.insert(target.to_string(), id);
        self.write_index(&index)
    }

    /// IDs of images that containers use. The run side records each
    /// container's image ID in `containers/<id>/image` under the root.
    pub fn images_in_use(&self) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        if let Ok(rd) = fs::read_dir(self.root.join("containers")) {
            for e in rd.flatten() {
                if let Ok(s) = fs::read_to_string(e.path().join("image")) {
                    used.insert(s.trim().to_string());
                }
            }
        }
        used
    }

    /// `rmi`: untags `name`; deletes the image when no tag is left (or when
    /// it was named by ID). Returns docker's `Untagged:`/`Deleted:` lines.
    pub fn remove(&self, name: &str, force: bool) -> Result<Vec<String>> {
        let _gc = self.lock("gc.lock", true)?;
        let _l = self.lock("lock", true)?;
        let mut index = self.read_index()?;
        let id = find_id(&index, name)?;
        let tags: Vec<String> = index
            .tags
            .iter()
            .filter(|(_, v)| **v == id)
            .map(|(k, _)| k.clone())
            .collect();
        let by_tag = tag_key(name).filter(|k| index.tags.get(k) == Some(&id));
        let mut out = Vec::new();
        if let Some(key) = &by_tag {
            if tags.len() > 1 {
                index.tags.remove(key);
                out.push(format!("Untagged: {}", familiar_tagged(key)));
                self.write_index(&index)?;
                return Ok(out);
            }
        } else if tags.len() > 1 && !force {
            bail!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", short_id(&id));
        }
        if !force && self.images_in_use().contains(&id) {
            bail!("conflict: unable to remove image {name}: image is being used by a container (use -f to force)");
        }
        for t in &tags {
            index.tags.remove(t);
            out.push(format!("Untagged: {}", familiar_tagged(t)));
        }
        if let Some(rec) = index.images.remove(&id) {
            for d in &rec.repo_digests {
                out.push(format!("Untagged: {}", familiar_digest(d)));
            }
            out.push(format!("Deleted: {id}"));
        }
        self.write_index(&index)?;
        self.collect(&index)?;
        Ok(out)
    }

    /// `image prune`: removes untagged images (all unused ones with `all`).
    pub fn prune(&self, all: bool) -> Result<Vec<String>> {
        let _gc = self.lock("gc.lock", true)?;
        let _l = self.lock("lock", true)?;
        // First, so that a disk filled by dead pulls has room for the rest.
        self.clean_tmp(true);
        let mut index = self.read_index()?;
        let used = self.images_in_use();
        let tagged: BTreeSet<String> = index.tags.values().cloned().collect();
        let doomed: Vec<String> = index
            .images
            .keys()
            .filter(|id| !used.contains(*id) && (all || !tagged.contains(*id)))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for id in &doomed {
            index.tags.retain(|k, v| {
                if v == id {
                    out.push(format!("untagged: {}", familiar_tagged(k)));
                    false
                } else {
                    true
                }
            });
            index.images.remove(id);
            out.push(format!("deleted: {id}"));
        }
        if !doomed.is_empty() {
            self.write_index(&index)?;
        }
        self.collect(&index)?;
        Ok(out)
    }

    /// Removes blobs and layer directories no image refers to, and stale temp files.
    fn collect(&self, index: &Index) -> Result<()> {
        let mut blobs = BTreeSet::new();
        let mut layers = BTreeSet::new();
        for r in index.images.values() {
            blobs.insert(r.id.clone());
            blobs.insert(r.manifest_digest.clone());
            if let Some(d) = &r.index_digest {
                blobs.insert(d.clone());
            }
            for l in &r.layers {
                blobs.insert(l.digest.clone());
                layers.insert(l.chain_id.clone());
            }
        }
        let keep_blobs: BTreeSet<String> = blobs
            .iter()
            .filter_map(|d| hex_part(d).ok().map(String::from))
            .collect();
        let keep_layers: BTreeSet<String> = layers
            .iter()
            .filter_map(|d| hex_part(d).ok().map(String::from))
            .collect();
        for e in fs::read_dir(self.root.join("blobs/sha256"))?.flatten() {
            if !keep_blobs.contains(&*e.file_name().to_string_lossy()) {
                fs::remove_file(e.path())
                    .with_context(|| format!("removing {}", e.path().display()))?;
            }
        }
        // No pull runs now (gc.lock is held), so per-blob lock files can go.
        for e in fs::read_dir(self.tmp_dir())?.flatten() {
            if e.file_name().to_string_lossy().ends_with(".lock") {
                let _ = fs::remove_file(e.path());
            }
        }
        for e in fs::read_dir(self.root.join("layers"))?.flatten() {
            if !keep_layers.contains(&*e.file_name().to_string_lossy()) {
                fs::remove_dir_all(e.path())
                    .with_context(|| format!("removing {}", e.path().display()))?;
            }
        }
        Ok(())
    }
}

/// The pid in a temp name made by [`Store::tmp_path`] or [`write_atomic`]
/// (`layer-PID-N`, `.write-PID-N`).
fn tmp_owner(name: &str) -> Option<u32> {
    let mut parts = name.rsplitn(3, '-');
    let n = parts.next()?;
    let pid = parts.next()?;
    parts.next()?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// The index key a `name[:tag]` reference would have, if it is one.
fn tag_key(name: &str) -> Option<String> {
    if name.contains('@') {
        return None;
    }
    reference::parse(name)
        .ok()
        .and_then(|r| reference::full_tagged(&r))
}

fn find_id(index: &Index, name: &str) -> Result<String> {
    // A full or short ID (docker prefers IDs over names for 12+ hex chars too).
    let bare = name.strip_prefix("sha256:").unwrap_or(name);
    if bare.len() >= 4 && bare.len() <= 64 && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hits: Vec<&String> = index
            .images
            .keys()
            .filter(|id| id[7..].starts_with(bare))
            .collect();
        match hits.len() {
            1 => return Ok(hits[0].clone()),
            n if n > 1 => bail!("image ID {name} is ambiguous"),
            _ => {}
        }
    }
    if let Some((repo, digest)) = name.split_once('@') {
        let r = reference::parse(name).map_err(|e| anyhow!(e))?;
        let full = format!("{}@{}", reference::full_repository(&r), digest);
        let _ = repo;
        for rec in index.images.values() {
            if rec.repo_digests.contains(&full)
                || (rec.manifest_digest == digest
                    && rec
                        .repo_digests
                        .iter()
                        .any(|d| d.starts_with(&reference::full_repository(&r))))
            {
                return Ok(rec.id.clone());
            }
        }
        bail!("No such image: {name}");
    }
    if let Some(key) = tag_key(name) {
        if let Some(id) = index.tags.get(&key) {
            return Ok(id.clone());
        }
    }
    bail!("No such image: {name}")
}

pub fn short_id(id: &str) -> String {
    let bare = id.strip_prefix("sha256:").unwrap_or(id);
    bare.chars().take(12).collect()
}

fn familiar_tagged(full: &str) -> String {
    let (repo, tag) = reference::split_tagged(full);
    format!("{}:{tag}", reference::familiar_repository(repo))
}

fn familiar_digest(full: &str) -> String {
    match full.split_once('@') {
        Some((repo, d)) => format!("{}@{d}", reference::familiar_repository(repo)),
        None => full.to_string(),
    }
}

/// Writes `data` to `dest` through a temp file in `tmp_dir` (so that a dead
/// writer's file is found and removed there), synced: the store's files are
/// not rebuilt from elsewhere. Private like everything in the store.
pub fn write_atomic(tmp_dir: &Path, dest: &Path, data: &[u8]) -> Result<()> {
    let how = Atomic {
        mode: 0o600,
        sync: true,
        tmp_dir: Some(tmp_dir),
    };
    sysutil::fs::write_atomic(dest, data, how)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_tell_their_owner() {
        assert_eq!(tmp_owner("layer-1234-0"), Some(1234));
        assert_eq!(tmp_owner(".write-77-12"), Some(77));
        assert_eq!(tmp_owner("ab12.partial"), None);
        assert_eq!(tmp_owner("ab12.lock"), None);
        assert_eq!(tmp_owner("layer-x-0"), None);
        assert_eq!(tmp_owner("layer-12-"), None);
    }

    #[test]
    fn clean_tmp_spares_live_owners_and_partials_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tmp = store.tmp_dir();
        // A pid that cannot exist (above the kernel's PID_MAX_LIMIT).
        let dead = tmp.join("layer-4194305-0");
        fs::create_dir_all(dead.join("usr/bin")).unwrap();
        fs::write(tmp.join(".write-4194305-3"), b"x").unwrap();
        let live = tmp.join(format!("layer-{}-9", std::process::id()));
        fs::create_dir_all(&live).unwrap();
        let partial = tmp.join(format!("{}.partial", "ab".repeat(32)));
        fs::write(&partial, b"half").unwrap();
        store.clean_tmp(false);
        assert!(!dead.exists() && !tmp.join(".write-4194305-3").exists());
        assert!(live.exists() && partial.exists());
        store.clean_tmp(true);
        assert!(!partial.exists() && live.exists());
    }
}
