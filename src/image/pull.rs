//! `rdock pull`: resolve a reference on a registry (or a mirror of Docker
//! Hub), pick the platform's manifest, stream the config and layer blobs into
//! the store while checking digest and size, and unpack each layer into its
//! chain-ID directory. Layers go 3 at a time; a failed download is retried
//! with backoff and resumed with a Range request from the partial file.
use crate::digest::{chain_ids, hex_part, sha256_of};
use crate::limits;
use crate::platform::{self, Platform};
use crate::progress::{LayerProgress, PullProgress};
use crate::reference;
use crate::registry::{self, Endpoint, RegistryOptions};
use crate::store::{ConfigFacts, ImageRecord, LayerRecord, Store};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::BlobResponse;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
const ACCEPT: &[&str] = &[
    OCI_INDEX,
    DOCKER_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1,
];

const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];
const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub registry: RegistryOptions,
    pub platform: Option<Platform>,
    /// Layers downloaded at once.
    pub parallel: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            registry: RegistryOptions::default(),
            platform: None,
            parallel: 3,
        }
    }
}

/// What a pull did, for the closing lines.
pub struct Pulled {
    pub record: ImageRecord,
    pub name: String,
    pub downloaded: bool,
    /// docker's closing "Status: ..." line.
    pub status: String,
}

struct Resolved {
    manifest: Vec<u8>,
    manifest_digest: String,
    manifest_media_type: String,
    index: Option<(Vec<u8>, String)>,
}

/// Pulls `name` into `store`, telling `progress` what it does.
pub async fn pull(
    store: Arc<Store>,
    name: &str,
    opts: &PullOptions,
    progress: &dyn PullProgress,
) -> Result<Pulled> {
    pull_one(store, name, opts, progress, true).await
}

/// `pull -a`: every tag of the repository `name` (no tag), in the
/// registry's order, each with its "Pulling from" and "Digest" lines and
/// one status line at the end. Returns the repository, fully qualified.
pub async fn pull_all_tags(
    store: Arc<Store>,
    name: &str,
    opts: &PullOptions,
    progress: &dyn PullProgress,
) -> Result<String> {
    let r = reference::parse(name).map_err(|e| anyhow!(e))?;
    let mut tags = None;
    let mut last_err = None;
    for ep in registry::endpoints(&r, &opts.registry) {
        let client = registry::client_for(&ep, &opts.registry);
        let auth = registry::auth_for(&ep)?;
        match client.list_tags(&ep.reference, &auth, None, None).await {
            Ok(t) => {
                tags = Some(t.tags);
                break;
            }
            Err(e) => {
                log::info!("listing the tags of {name} on {}: {e}", ep.host);
                last_err = Some(anyhow!(describe(e)));
            }
        }
    }
    let tags = match tags {
        Some(t) => t,
        None => {
            return Err(last_err.unwrap_or_else(|| anyhow!("no endpoint for {name}")))
                .with_context(|| format!("listing the tags of {name}"))
        }
    };
    let repo = reference::full_repository(&r);
    let mut downloaded = false;
    for t in tags {
        let pulled = pull_one(store.clone(), &format!("{repo}:{t}"), opts, progress, false).await?;
        downloaded |= pulled.downloaded;
    }
    let familiar = reference::familiar_repository(&repo);
    if downloaded {
        progress.line(&format!("Status: Downloaded newer image for {familiar}"));
    } else {
        progress.line(&format!("Status: Image is up to date for {familiar}"));
    }
    Ok(repo)
}

async fn pull_one(
    store: Arc<Store>,
    name: &str,
    opts: &PullOptions,
    progress: &dyn PullProgress,
    status_line: bool,
) -> Result<Pulled> {
    let r = reference::parse(name).map_err(|e| anyhow!(e))?;
    let want = opts.platform.clone().unwrap_or_else(Platform::host);
    let s = store.clone();
    // Removals wait for running pulls, so nothing this pull stores is collected.
    let _gc = tokio::task::spawn_blocking(move || s.lock_for_pull()).await??;

    let shown = match (r.tag(), r.digest()) {
        (_, Some(d)) => d.to_string(),
        (Some(t), None) => t.to_string(),
        _ => "latest".to_string(),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    if !last.contains(':') && !last.contains('@') {
        progress.line("Using default tag: latest");
    }
    let stall = limits::stall_timeout()?;
    let mut last_err = None;
    // A mirror's answer that it lacks the image: what the user is shown if
    // Docker Hub itself cannot be reached after it (not the DNS error).
    let mut mirror_miss: Option<anyhow::Error> = None;
    for ep in registry::endpoints(&r, &opts.registry) {
        let client = registry::client_for(&ep, &opts.registry);
        let http = registry::http_for(&ep, &opts.registry)?;
        let auth = registry::auth_for(&ep)?;
        log::debug!(
            "trying {} (mirror: {}, plain http: {})",
            ep.host,
            ep.mirror,
            ep.plain_http
        );
        // After a mirror said it lacks the image, Docker Hub gets one try.
        let once = mirror_miss.is_some();
        let resolving = resolve(&client, &http, &ep, &auth, &want, r.digest(), once);
        let resolved = match with_stall_deadline(stall, resolving).await {
            Ok(x) => x,
            Err(e) if ep.http_fallback_next && e.downcast_ref::<TransportError>().is_some() => {
                log::info!("https://{} failed ({e:#}); trying plain HTTP", ep.host);
                last_err = Some(e);
                continue;
            }
            Err(e) if ep.mirror => {
                log::info!(
                    "mirror {} cannot serve {name}: {e:#}; trying the next endpoint",
                    ep.host
                );
                if e.downcast_ref::<TransportError>().is_none() {
                    let tagged = if shown == "latest" && !name.ends_with(":latest") {
                        format!("{name}:latest")
                    } else {
                        name.to_string()
                    };
                    mirror_miss = Some(anyhow!("manifest for {tagged} not found: {e:#}"));
                }
                last_err = Some(e);
                continue;
            }
            Err(e) if e.downcast_ref::<TransportError>().is_some() && mirror_miss.is_some() => {
                log::info!("{} cannot be reached either: {e:#}", ep.host);
                return Err(mirror_miss.take().expect("checked"));
            }
            Err(e) => return Err(e).with_context(|| format!("pulling {name} from {}", ep.host)),
        };
        progress.line(&format!("{shown}: Pulling from {}", r.repository()));
        let fetching = fetch_image(&store, &r, &ep, &client, &resolved, progress, opts);
        let pulled = with_stall_deadline(stall, fetching)
            .await
            .with_context(|| format!("pulling {name} from {}", ep.host))?;
        if status_line {
            progress.line(&pulled.status);
        }
        return Ok(pulled);
    }
    Err(last_err.unwrap_or_else(|| anyhow!("no endpoint for {name}")))
}

/// The registry sent nothing for the stall deadline, retries included.
#[derive(Debug, thiserror::Error)]
#[error("nothing received from the registry for {0:?}: giving up (RDOCK_PULL_STALL_TIMEOUT sets this deadline)")]
pub struct Stalled(Duration);

/// Runs `work` until it ends or no byte has arrived (or been unpacked)
/// for `stall`, whatever its retries and timeouts are doing.
async fn with_stall_deadline<T>(
    stall: Duration,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    limits::touch();
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if limits::idle() >= stall {
                    return Err(Stalled(stall).into());
                }
            }
        }
    }
}

/// For the run side: the local image `name`, pulled first if the store
/// lacks it (docker's `run` behaviour). Blocks; builds its own runtime.
pub fn resolve_or_pull(
    store: Arc<Store>,
    name: &str,
    opts: &PullOptions,
    progress: &dyn PullProgress,
) -> Result<crate::store::LocalImage> {
    if let Ok(img) = store.resolve(name) {
        return Ok(img);
    }
    registry::init_tls();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    let pulled = rt.block_on(pull(store.clone(), name, opts, progress))?;
    store.resolve(&pulled.record.id)
}

async fn resolve(
    client: &Client,
    http: &reqwest::Client,
    ep: &Endpoint,
    auth: &RegistryAuth,
    want: &Platform,
    pinned: Option<&str>,
    once: bool,
) -> Result<Resolved> {
    // An HTTPS probe before plain HTTP is not retried: a transport failure moves on.
    // A mirror that cannot be reached gets one more try, then the next endpoint.
    let attempts = if ep.http_fallback_next || once {
        1
    } else if ep.mirror {
        2
    } else {
        ATTEMPTS
    };
    let (bytes, _) = retry_n("fetching manifest", attempts, || {
        registry::fetch_manifest(client, http, ep, &ep.reference, auth, ACCEPT)
    })
    .await?;
    let digest = sha256_of(&bytes);
    if let Some(p) = pinned {
        if p != digest {
            bail!("manifest digest {digest} does not match the requested {p}");
        }
    }
    let v: Value = serde_json::from_slice(&bytes).context("parsing manifest")?;
    let mt = media_type_of(&v)?;
    if mt == OCI_INDEX || mt == DOCKER_LIST {
        let (d, _) = platform::select(&v, want)?;
        hex_part(&d).map_err(|e| anyhow!(e))?;
        let child = ep.reference.clone_with_digest(d.clone());
        let (mbytes, _) = retry("fetching platform manifest", || {
            registry::fetch_manifest(client, http, ep, &child, auth, ACCEPT)
        })
        .await?;
        let actual = sha256_of(&mbytes);
        if actual != d {
            bail!("manifest digest {actual} does not match {d} from the index");
        }
        let mv: Value = serde_json::from_slice(&mbytes).context("parsing platform manifest")?;
        let cmt = media_type_of(&mv)?;
        if cmt != OCI_MANIFEST && cmt != DOCKER_MANIFEST {
            bail!("index entry {d} is a {cmt}, not an image manifest");
        }
        return Ok(Resolved {
            manifest: mbytes.to_vec(),
            manifest_digest: d,
            manifest_media_type: cmt,
            index: Some((bytes.to_vec(), digest)),
        });
    }
    Ok(Resolved {
        manifest: bytes.to_vec(),
        manifest_digest: digest,
        manifest_media_type: mt,
        index: None,
    })
}

fn media_type_of(v: &Value) -> Result<String> {
    if v.get("schemaVersion").and_then(Value::as_i64) == Some(1) {
        bail!("Docker Image manifest schema 1 is not supported (deprecated since 2017): the image must be pushed again with a newer client");
    }
    if let Some(mt) = v.get("mediaType").and_then(Value::as_str) {
        return Ok(mt.to_string());
    }
    // OCI allows leaving mediaType out; tell the kinds apart by their fields.
    if v.get("manifests").is_some() {
        Ok(OCI_INDEX.to_string())
    } else if v.get("layers").is_some() {
        Ok(OCI_MANIFEST.to_string())
    } else {
        bail!("unrecognised manifest (no mediaType, layers or manifests)")
    }
}

fn descriptor(v: &Value) -> Result<OciDescriptor> {
    let digest = v
        .get("digest")
        .and_then(Value::as_str)
        .context("descriptor without digest")?
        .to_string();
    hex_part(&digest).map_err(|e| anyhow!(e))?;
    let size = v
        .get("size")
        .and_then(Value::as_i64)
        .context("descriptor without size")?;
    if size < 0 {
        bail!("descriptor {digest} has a negative size");
    }
    let media_type = v
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(OciDescriptor {
        digest,
        size,
        media_type,
        ..Default::default()
    })
}

async fn fetch_image(
    store: &Arc<Store>,
    r: &Reference,
    ep: &Endpoint,
    client: &Client,
    res: &Resolved,
    progress: &dyn PullProgress,
    opts: &PullOptions,
) -> Result<Pulled> {
    let m: Value = serde_json::from_slice(&res.manifest)?;
    let config_desc = descriptor(m.get("config").context("manifest without config")?)?;
    if !config_desc.media_type.is_empty()
        && !CONFIG_TYPES.contains(&config_desc.media_type.as_str())
    {
        bail!(
            "{} is not a container image (config media type {})",
            r.whole(),
            config_desc.media_type
        );
    }
    let layers: Vec<OciDescriptor> = m
        .get("layers")
        .and_then(Value::as_array)
        .context("manifest without layers")?
        .iter()
        .map(descriptor)
        .collect::<Result<_>>()?;
    for l in &layers {
        if !LAYER_TYPES.contains(&l.media_type.as_str()) {
            bail!(
                "layer {} has unsupported media type {:?}",
                l.digest,
                l.media_type
            );
        }
    }

    if config_desc.size as u64 > limits::MAX_CONFIG_BYTES {
        bail!(
            "the image config {} is {}, over the {} an image config may have",
            config_desc.digest,
            limits::human(config_desc.size as u64),
            limits::human(limits::MAX_CONFIG_BYTES)
        );
    }
    let config_bytes = if store.has_blob(&config_desc.digest) {
        store.read_blob(&config_desc.digest)?
    } else {
        let buf = retry("fetching config", || {
            fetch_small_blob(client, &ep.reference, &config_desc)
        })
        .await?;
        store
            .put_blob(&config_desc.digest, &buf)
            .context("storing config")?;
        buf
    };
    let config: Value = serde_json::from_slice(&config_bytes).context("parsing image config")?;
    let diff_ids: Vec<String> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .context("image config without rootfs.diff_ids")?
        .iter()
        .map(|d| {
            d.as_str()
                .map(String::from)
                .context("diff_id is not a string")
        })
        .collect::<Result<_>>()?;
    if diff_ids.len() != layers.len() {
        bail!(
            "the config lists {} diff_ids but the manifest has {} layers",
            diff_ids.len(),
            layers.len()
        );
    }
    for d in &diff_ids {
        hex_part(d).map_err(|e| anyhow!(e))?;
    }
    let chains = chain_ids(&diff_ids);
    let existing_sizes = store.layer_sizes().unwrap_or_default();
    let before = reference::full_tagged(r)
        .and_then(|n| store.find(&n).ok())
        .map(|rec| rec.id);
    let mut downloaded = before.as_deref() != Some(config_desc.digest.as_str());
    let jobs =
        layers
            .iter()
            .zip(diff_ids.iter())
            .zip(chains.iter())
            .map(|((desc, diff), chain)| {
                let lp = progress.layer(&desc.digest, desc.size as u64);
                let need_layer = !store.layer_path(chain).map(|p| p.is_dir()).unwrap_or(false);
                if need_layer {
                    downloaded = true;
                }
                let known = existing_sizes.get(chain).copied();
                async move {
                    if !need_layer {
                        lp.done("Already exists");
                        return Ok(LayerRecord {
                            digest: desc.digest.clone(),
                            media_type: desc.media_type.clone(),
                            size: desc.size as u64,
                            diff_id: diff.clone(),
                            chain_id: chain.clone(),
                            unpacked_size: known.unwrap_or(desc.size as u64),
                        });
                    }
                    fetch_blob(store, client, &ep.reference, desc, lp.as_ref()).await?;
                    lp.status("Extracting");
                    let size = unpack_into_store(store, desc, diff, chain).await?;
                    lp.done("Pull complete");
                    Ok::<_, anyhow::Error>(LayerRecord {
                        digest: desc.digest.clone(),
                        media_type: desc.media_type.clone(),
                        size: desc.size as u64,
                        diff_id: diff.clone(),
                        chain_id: chain.clone(),
                        unpacked_size: size,
                    })
                }
            });
    let layer_records: Vec<LayerRecord> = futures_util::stream::iter(jobs)
        .buffered(opts.parallel.max(1))
        .try_collect()
        .await?;

    store.put_blob(&res.manifest_digest, &res.manifest)?;
    if let Some((bytes, d)) = &res.index {
        store.put_blob(d, bytes)?;
    }
    let repo = reference::full_repository(r);
    let top_digest = res
        .index
        .as_ref()
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| res.manifest_digest.clone());
    let facts = ConfigFacts::of(&config);
    let record = ImageRecord {
        id: config_desc.digest.clone(),
        manifest_digest: res.manifest_digest.clone(),
        manifest_media_type: res.manifest_media_type.clone(),
        index_digest: res.index.as_ref().map(|(_, d)| d.clone()),
        repo_digests: vec![format!("{repo}@{top_digest}")],
        size: layer_records.iter().map(|l| l.unpacked_size).sum(),
        layers: layer_records,
        created: facts.created,
        os: facts.os,
        architecture: facts.architecture,
    };
    let names: Vec<String> = if r.digest().is_none() {
        reference::full_tagged(r).into_iter().collect()
    } else {
        vec![]
    };
    store.add_image(record.clone(), &names)?;
    progress.line(&format!("Digest: {top_digest}"));
    let familiar = match (r.digest(), r.tag()) {
        (Some(d), _) => format!("{}@{d}", reference::familiar_repository(&repo)),
        (None, t) => format!(
            "{}:{}",
            reference::familiar_repository(&repo),
            t.unwrap_or("latest")
        ),
    };
    let status = if downloaded {
        "Downloaded newer image for"
    } else {
        "Image is up to date for"
    };
    let status = format!("Status: {status} {familiar}");
    let full = match r.digest() {
        Some(d) => format!("{repo}@{d}"),
        None => reference::full_tagged(r).unwrap_or(repo),
    };
    Ok(Pulled {
        record,
        name: full,
        downloaded,
        status,
    })
}

/// Reads a blob into memory, at most the size its descriptor gives (the
/// stream checks the digest at its end).
async fn fetch_small_blob(
    client: &Client,
    r: &Reference,
    desc: &OciDescriptor,
) -> oci_client::errors::Result<Vec<u8>> {
    let mut stream = client.pull_blob_stream(r, desc).await?;
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        limits::touch();
        if (buf.len() + chunk.len()) as u64 > desc.size as u64 {
            return Err(
                oci_client::errors::OciDistributionError::SpecViolationError(format!(
                    "blob {} is larger than the {} bytes its descriptor says",
                    desc.digest, desc.size
                )),
            );
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// The registry could not be reached or the connection failed (as opposed
/// to an answer saying no).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

async fn retry<T, F, Fut>(what: &str, f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = oci_client::errors::Result<T>>,
{
    retry_n(what, ATTEMPTS, f).await
}

/// Retries a registry call with backoff; errors that will not change
/// (not found, unauthorised, bad digest) are returned at once.
async fn retry_n<T, F, Fut>(what: &str, attempts: u32, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = oci_client::errors::Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=attempts {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < attempts && is_transient(&e) => {
                log::info!("{what}: {e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                let transport =
                    matches!(e, oci_client::errors::OciDistributionError::RequestError(_));
                let err = if transport {
                    anyhow::Error::new(TransportError(describe(e)))
                } else {
                    anyhow!(describe(e))
                };
                return Err(err).context(what.to_string());
            }
        }
    }
    unreachable!("the last attempt returns")
}

fn is_transient(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::RequestError(_) | E::IoError(_) => true,
        E::ServerError { code, .. } => *code >= 500 || *code == 429,
        _ => false,
    }
}

/// An error and every cause under it, `a: b: c` (what a connection
/// failure really was is often three levels down).
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(&format!(": {x}"));
        src = x.source();
    }
    s
}

fn describe(e: oci_client::errors::OciDistributionError) -> String {
    use oci_client::errors::OciDistributionError as E;
    match &e {
        E::ImageManifestNotFoundError(_) => format!("manifest unknown: {e}"),
        E::UnauthorizedError { url } => {
            format!("unauthorized: authentication required ({url}); log in with `rdock login`")
        }
        E::AuthenticationFailure(m) => format!("unauthorized: authentication failed: {m}"),
        E::RegistryError { envelope, .. } => {
            let codes: Vec<String> = envelope
                .errors
                .iter()
                .map(|x| format!("{:?}: {}", x.code, x.message))
                .collect();
            format!("registry error: {}", codes.join("; "))
        }
        E::RequestError(re) => with_causes(re),
        _ => e.to_string(),
    }
}

/// Downloads one blob into the store, resuming a partial file, verifying
/// size and digest as the bytes stream. Concurrent pulls of the same blob
/// wait on a per-blob lock and then find it present.
async fn fetch_blob(
    store: &Arc<Store>,
    client: &Client,
    r: &Reference,
    desc: &OciDescriptor,
    lp: &dyn LayerProgress,
) -> Result<()> {
    let dest = store.blob_path(&desc.digest)?;
    if dest.exists() {
        return Ok(());
    }
    let hex = hex_part(&desc.digest).map_err(|e| anyhow!(e))?.to_string();
    // Another pull downloading this blob holds its lock; its progress is
    // ours, so waiting does not count as a stall.
    let lock_name = format!("tmp/{hex}.lock");
    let _lock = loop {
        if let Some(l) = store.try_lock(&lock_name)? {
            break l;
        }
        if dest.exists() {
            return Ok(());
        }
        limits::touch();
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if dest.exists() {
        return Ok(());
    }
    let partial = store.tmp_dir().join(format!("{hex}.partial"));
    lp.status("Downloading");
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        match download_once(client, r, desc, &partial, lp).await {
            Ok(()) => break,
            Err(Failure::Fatal(e)) => {
                return Err(e).with_context(|| format!("downloading blob {}", desc.digest))
            }
            Err(Failure::Retry(e)) if attempt < ATTEMPTS => {
                log::warn!(
                    "downloading blob {}: {e:#}; resuming in {delay:?}",
                    desc.digest
                );
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(Failure::Retry(e)) => {
                return Err(e).with_context(|| {
                    format!("downloading blob {} ({ATTEMPTS} attempts)", desc.digest)
                })
            }
        }
    }
    std::fs::rename(&partial, &dest)
        .with_context(|| format!("moving {} into place", partial.display()))?;
    lp.status("Download complete");
    Ok(())
}

enum Failure {
    Retry(anyhow::Error),
    Fatal(anyhow::Error),
}

fn io_fatal(what: &str, p: &Path) -> impl FnOnce(std::io::Error) -> Failure {
    let ctx = format!("{what} {}", p.display());
    move |e| Failure::Fatal(anyhow!(e).context(ctx))
}

async fn download_once(
    client: &Client,
    r: &Reference,
    desc: &OciDescriptor,
    partial: &Path,
    lp: &dyn LayerProgress,
) -> std::result::Result<(), Failure> {
    let size = desc.size as u64;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(partial)
        .map_err(io_fatal("opening", partial))?;
    let mut have = file.metadata().map_err(io_fatal("stat", partial))?.len();
    if have > size {
        file.set_len(0).map_err(io_fatal("truncating", partial))?;
        have = 0;
    }
    // Hash what an earlier attempt already wrote.
    let mut hasher = Sha256::new();
    if have > 0 {
        let mut buf = vec![0u8; 1 << 20];
        let mut left = have;
        while left > 0 {
            let n = file
                .read(&mut buf[..left.min(1 << 20) as usize])
                .map_err(io_fatal("reading", partial))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
    }
    file.seek(SeekFrom::Start(have))
        .map_err(io_fatal("seeking", partial))?;
    lp.set_position(have);

    if have < size {
        let resp = client
            .pull_blob_stream_partial(r, desc, have, None)
            .await
            .map_err(|e| {
                if is_transient(&e) {
                    Failure::Retry(anyhow!(describe(e)))
                } else {
                    Failure::Fatal(anyhow!(describe(e)))
                }
            })?;
        let mut stream = match resp {
            BlobResponse::Partial(s) => s,
            BlobResponse::Full(s) => {
                // The registry ignored the Range: start over.
                if have > 0 {
                    file.set_len(0).map_err(io_fatal("truncating", partial))?;
                    file.seek(SeekFrom::Start(0))
                        .map_err(io_fatal("seeking", partial))?;
                    hasher = Sha256::new();
                    have = 0;
                    lp.set_position(0);
                }
                s
            }
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| Failure::Retry(anyhow!(e).context("reading from the registry")))?;
            limits::touch();
            have += chunk.len() as u64;
            if have > size {
                return Err(Failure::Fatal(anyhow!(
                    "blob is larger than the {size} bytes the manifest says"
                )));
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .map_err(io_fatal("writing", partial))?;
            lp.inc(chunk.len() as u64);
        }
        out.flush().map_err(io_fatal("writing", partial))?;
    }
    if have < size {
        return Err(Failure::Retry(anyhow!(
            "connection ended after {have} of {size} bytes"
        )));
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != desc.digest {
        let _ = std::fs::remove_file(partial);
        return Err(Failure::Fatal(anyhow!(
            "digest mismatch: got {actual}, expected {}",
            desc.digest
        )));
    }
    Ok(())
}

/// Unpacks a downloaded layer into `layers/<chain>` off the async threads.
async fn unpack_into_store(
    store: &Arc<Store>,
    desc: &OciDescriptor,
    diff_id: &str,
    chain: &str,
) -> Result<u64> {
    let store = store.clone();
    let (digest, diff_id, chain) = (desc.digest.clone(), diff_id.to_string(), chain.to_string());
    tokio::task::spawn_blocking(move || store.unpack_layer(&digest, &diff_id, &chain)).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema1_manifests_get_a_clear_error() {
        let v = serde_json::json!({"schemaVersion": 1, "name": "x", "fsLayers": []});
        let err = media_type_of(&v).unwrap_err().to_string();
        assert!(err.contains("schema 1 is not supported"), "{err}");
    }

    #[test]
    fn oci_manifests_without_media_type_are_recognised() {
        assert_eq!(
            media_type_of(&serde_json::json!({"schemaVersion": 2, "layers": []})).unwrap(),
            OCI_MANIFEST
        );
        assert_eq!(
            media_type_of(&serde_json::json!({"schemaVersion": 2, "manifests": []})).unwrap(),
            OCI_INDEX
        );
    }
}
