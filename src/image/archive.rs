//! `save` and `load`: image tarballs in docker-archive and OCI-archive form.
//!
//! `save` writes one tarball that is both (as docker 25+ does): an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/...`) plus docker's
//! `manifest.json` pointing at the same blobs; layers are kept as the
//! registry served them (compressed). `load` reads either form: docker's
//! `manifest.json` (old `<id>/layer.tar` archives too) or an OCI `index.json`.
use crate::digest::{chain_ids, hex_part, sha256_of, HashingReader};
use crate::platform::{self, Platform};
use crate::pull::{DOCKER_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::reference;
use crate::store::{ConfigFacts, ImageRecord, LayerRecord, Store};
use crate::unpack::{self, Compression};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Writes the images `names` as one tarball to `out`.
pub fn save(store: &Store, names: &[String], out: impl Write) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    let mut docker_manifest = Vec::new();
    let mut index = Vec::new();
    let mut written = std::collections::BTreeSet::new();
    let rows = store.list()?;
    for name in names {
        let rec = store.find(name)?;
        let tags: Vec<String> =
            if name.starts_with("sha256:") || rec.id[7..].starts_with(name.as_str()) {
                rows.iter()
                    .filter(|r| r.record.id == rec.id)
                    .filter_map(|r| r.tagged.clone())
                    .collect()
            } else {
                reference::parse(name)
                    .ok()
                    .and_then(|r| reference::full_tagged(&r))
                    .into_iter()
                    .collect()
            };
        let mut blobs = vec![rec.id.clone(), rec.manifest_digest.clone()];
        blobs.extend(rec.layers.iter().map(|l| l.digest.clone()));
        for d in &blobs {
            if written.insert(d.clone()) {
                let p = store.blob_path(d)?;
                let hex = hex_part(d).map_err(|e| anyhow!(e))?;
                append_file(&mut tar, &p, &format!("blobs/sha256/{hex}"))?;
            }
        }
        let familiar: Vec<String> = tags
            .iter()
            .map(|t| {
                let (repo, tag) = reference::split_tagged(t);
                format!("{}:{tag}", reference::familiar_repository(repo))
            })
            .collect();
        docker_manifest.push(json!({
            "Config": format!("blobs/sha256/{}", &rec.id[7..]),
            "RepoTags": familiar,
            "Layers": rec.layers.iter().map(|l| format!("blobs/sha256/{}", &l.digest[7..])).collect::<Vec<_>>(),
        }));
        let msize = fs::metadata(store.blob_path(&rec.manifest_digest)?)?.len();
        let mut entry = json!({"mediaType": rec.manifest_media_type, "digest": rec.manifest_digest, "size": msize});
        if let Some(t) = tags.first() {
            let (_, tag) = reference::split_tagged(t);
            entry["annotations"] =
                json!({"io.containerd.image.name": t, "org.opencontainers.image.ref.name": tag});
        }
        index.push(entry);
    }
    append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    append_bytes(
        &mut tar,
        "index.json",
        &serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": index}))?,
    )?;
    append_bytes(
        &mut tar,
        "manifest.json",
        &serde_json::to_vec(&docker_manifest)?,
    )?;
    tar.into_inner()?.flush()?;
    Ok(())
}

fn header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn append_file(tar: &mut tar::Builder<impl Write>, path: &Path, name: &str) -> Result<()> {
    let f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = header(f.metadata()?.len(), 0o644);
    tar.append_data(&mut h, name, f)
        .with_context(|| format!("writing {name} to the archive"))
}

fn append_bytes(tar: &mut tar::Builder<impl Write>, name: &str, data: &[u8]) -> Result<()> {
    let mut h = header(data.len() as u64, 0o644);
    tar.append_data(&mut h, name, data)
        .with_context(|| format!("writing {name} to the archive"))
}

/// Loads every image in the tarball `input`; returns docker's `Loaded image` lines.
pub fn load(store: &Store, input: impl Read) -> Result<Vec<String>> {
    // Removals wait until the loaded images are recorded.
    let _gc = store.lock("gc.lock", false)?;
    let dir = store.tmp_path("load");
    unpack::fresh_dir(&dir)?;
    let res = (|| {
        // The archive goes through the same safe unpacker as layers.
        unpack::unpack_stream(input, &dir).context("reading the archive")?;
        if dir.join("manifest.json").is_file() {
            load_docker(store, &dir)
        } else if dir.join("index.json").is_file() {
            load_oci(store, &dir)
        } else {
            bail!("not an image archive: neither manifest.json nor index.json found")
        }
    })();
    let _ = fs::remove_dir_all(&dir);
    res
}

/// Checks that `rel` stays inside `dir` and returns the joined path.
fn inside(dir: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        bail!("archive path {rel:?} leaves the archive");
    }
    Ok(dir.join(p))
}

/// Moves a file from the unpacked archive into the store's blobs, returning its digest and size.
fn adopt(store: &Store, path: &Path) -> Result<(String, u64)> {
    let f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (digest, size) = HashingReader::new(f).finish()?;
    store.adopt_blob(path, &digest)?;
    Ok((digest, size))
}

fn layer_media_type(store: &Store, digest: &str) -> Result<String> {
    let mut head = [0u8; 4];
    let mut f = fs::File::open(store.blob_path(digest)?)?;
    let n = f.read(&mut head)?;
    Ok(match Compression::detect(&head[..n]) {
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
    }
    .to_string())
}

fn load_docker(store: &Store, dir: &Path) -> Result<Vec<String>> {
    let m: Value = serde_json::from_slice(&fs::read(dir.join("manifest.json"))?)
        .context("parsing manifest.json")?;
    let mut out = Vec::new();
    // A layer file shared by several entries is moved into the store once.
    let mut adopted: std::collections::HashMap<PathBuf, (String, u64)> = Default::default();
    for entry in m.as_array().context("manifest.json is not a list")? {
        let cfg_path = inside(
            dir,
            entry["Config"].as_str().context("entry without Config")?,
        )?;
        let cfg_bytes =
            fs::read(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
        let config_digest = sha256_of(&cfg_bytes);
        store.put_blob(&config_digest, &cfg_bytes)?;
        let mut layers = Vec::new();
        for l in entry["Layers"].as_array().context("entry without Layers")? {
            let p = inside(dir, l.as_str().context("layer path is not a string")?)?;
            let (digest, size) = match adopted.get(&p) {
                Some(x) => x.clone(),
                None => {
                    let x = adopt(store, &p)?;
                    adopted.insert(p.clone(), x.clone());
                    x
                }
            };
            layers.push((digest.clone(), size, layer_media_type(store, &digest)?));
        }
        let tags: Vec<String> = entry["RepoTags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str())
                    .filter_map(|t| reference::parse(t).ok())
                    .filter_map(|r| reference::full_tagged(&r))
                    .collect()
            })
            .unwrap_or_default();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": cfg_bytes.len()},
            "layers": layers.iter().map(|(d, s, mt)| json!({"mediaType": mt, "digest": d, "size": s})).collect::<Vec<_>>(),
        });
        out.extend(record(
            store,
            &serde_json::to_vec(&manifest)?,
            &cfg_bytes,
            &layers,
            &tags,
        )?);
    }
    Ok(out)
}

fn load_oci(store: &Store, dir: &Path) -> Result<Vec<String>> {
    let blob = |d: &str| -> Result<PathBuf> {
        Ok(dir
            .join("blobs/sha256")
            .join(hex_part(d).map_err(|e| anyhow!(e))?))
    };
    let idx: Value =
        serde_json::from_slice(&fs::read(dir.join("index.json"))?).context("parsing index.json")?;
    let mut out = Vec::new();
    for entry in idx["manifests"]
        .as_array()
        .context("index.json without manifests")?
    {
        let mut digest = entry["digest"]
            .as_str()
            .context("index entry without digest")?
            .to_string();
        let mut bytes =
            fs::read(blob(&digest)?).with_context(|| format!("reading manifest {digest}"))?;
        let mut v: Value = serde_json::from_slice(&bytes)?;
        let mt = v["mediaType"]
            .as_str()
            .or(entry["mediaType"].as_str())
            .unwrap_or(OCI_MANIFEST)
            .to_string();
        if mt == OCI_INDEX || mt == DOCKER_LIST || v.get("manifests").is_some() {
            let (d, _) = platform::select(&v, &Platform::host())?;
            digest = d;
            bytes =
                fs::read(blob(&digest)?).with_context(|| format!("reading manifest {digest}"))?;
            v = serde_json::from_slice(&bytes)?;
        }
        if sha256_of(&bytes) != digest {
            bail!("manifest {digest} in the archive does not match its digest");
        }
        let cd = v["config"]["digest"]
            .as_str()
            .context("manifest without config")?
            .to_string();
        let cfg_bytes = fs::read(blob(&cd)?).with_context(|| format!("reading config {cd}"))?;
        store.put_blob(&cd, &cfg_bytes)?;
        let mut layers = Vec::new();
        for l in v["layers"].as_array().context("manifest without layers")? {
            let d = l["digest"]
                .as_str()
                .context("layer without digest")?
                .to_string();
            let p = blob(&d)?;
            if p.exists() {
                let (actual, _) = adopt(store, &p)?;
                if actual != d {
                    bail!("layer {d} in the archive does not match its digest");
                }
            }
            let mt = l["mediaType"].as_str().unwrap_or_default().to_string();
            layers.push((d, l["size"].as_u64().unwrap_or(0), mt));
        }
        let ann = &entry["annotations"];
        let name = ann["io.containerd.image.name"]
            .as_str()
            .or(ann["org.opencontainers.image.ref.name"].as_str());
        let tags: Vec<String> = name
            .filter(|n| n.contains('/') || n.contains(':'))
            .and_then(|n| reference::parse(n).ok())
            .and_then(|r| reference::full_tagged(&r))
            .into_iter()
            .collect();
        out.extend(record(store, &bytes, &cfg_bytes, &layers, &tags)?);
    }
    Ok(out)
}

/// Unpacks the layers of a loaded image and records it.
fn record(
    store: &Store,
    manifest: &[u8],
    cfg_bytes: &[u8],
    layers: &[(String, u64, String)],
    tags: &[String],
) -> Result<Vec<String>> {
    let config: Value = serde_json::from_slice(cfg_bytes).context("parsing image config")?;
    let diff_ids: Vec<String> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .context("config without rootfs.diff_ids")?
        .iter()
        .filter_map(|d| d.as_str().map(String::from))
        .collect();
    if diff_ids.len() != layers.len() {
        bail!(
            "the config lists {} diff_ids for {} layers",
            diff_ids.len(),
            layers.len()
        );
    }
    let chains = chain_ids(&diff_ids);
    let known = store.layer_sizes().unwrap_or_default();
    let mut recs = Vec::new();
    for (((digest, size, mt), diff), chain) in layers.iter().zip(&diff_ids).zip(&chains) {
        let unpacked = match store.unpack_layer(digest, diff, chain)? {
            0 => known.get(chain).copied().unwrap_or(*size),
            n => n,
        };
        recs.push(LayerRecord {
            digest: digest.clone(),
            media_type: mt.clone(),
            size: *size,
            diff_id: diff.clone(),
            chain_id: chain.clone(),
            unpacked_size: unpacked,
        });
    }
    let manifest_digest = sha256_of(manifest);
    store.put_blob(&manifest_digest, manifest)?;
    let id = sha256_of(cfg_bytes);
    let facts = ConfigFacts::of(&config);
    let rec = ImageRecord {
        id: id.clone(),
        manifest_digest,
        manifest_media_type: OCI_MANIFEST.to_string(),
        index_digest: None,
        repo_digests: vec![],
        size: recs.iter().map(|l| l.unpacked_size).sum(),
        layers: recs,
        created: facts.created,
        os: facts.os,
        architecture: facts.architecture,
    };
    store.add_image(rec, tags)?;
    if tags.is_empty() {
        return Ok(vec![format!("Loaded image ID: {id}")]);
    }
    Ok(tags
        .iter()
        .map(|t| {
            let (repo, tag) = reference::split_tagged(t);
            format!(
                "Loaded image: {}:{tag}",
                reference::familiar_repository(repo)
            )
        })
        .collect())
}
