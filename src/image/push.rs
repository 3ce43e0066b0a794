//! `rdock push`: an image of the store to its registry, the way docker
//! does it: each layer is looked for first (HEAD), then mounted from
//! another repository of the same registry that rdock knows holds it
//! (pulled from or pushed to), else uploaded, streamed from its blob file;
//! then the config and the manifest as stored (so the digest is the one
//! pulled, for an unchanged image). Registries, credentials and the
//! insecure rule are pull's ([`registry`]).
use crate::progress::PullProgress;
use crate::reference;
use crate::registry::{self, Endpoint, RegistryOptions};
use crate::store::{ImageRecord, Store};
use anyhow::{anyhow, Context, Result};
use futures_util::StreamExt;
use oci_client::errors::OciDistributionError as E;
use oci_client::{Client, Reference, RegistryOperation};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// What was pushed: the manifest's digest and size, for docker's last line.
pub struct Pushed {
    pub tag: String,
    pub digest: String,
    pub size: usize,
}

/// The local image is missing (docker's two messages).
#[derive(Debug, thiserror::Error)]
pub enum NotLocal {
    #[error("An image does not exist locally with the tag: {0}")]
    NoRepository(String),
    #[error("tag does not exist: {0}")]
    NoTag(String),
}

/// The tags to push for `repo` (fully qualified, no tag): `tag`, or with
/// `None` every local tag of the repository, sorted as docker does.
pub fn tags_to_push(store: &Store, repo: &str, tag: Option<&str>) -> Result<Vec<String>> {
    let familiar = reference::familiar_repository(repo);
    let local: Vec<String> = store
        .list()?
        .into_iter()
        .filter_map(|row| row.tagged)
        .filter_map(|t| {
            let (r, tag) = reference::split_tagged(&t);
            (r == repo).then(|| tag.to_string())
        })
        .collect();
    if local.is_empty() {
        return Err(NotLocal::NoRepository(familiar).into());
    }
    match tag {
        Some(t) if local.iter().any(|l| l == t) => Ok(vec![t.to_string()]),
        Some(t) => Err(NotLocal::NoTag(format!("{familiar}:{t}")).into()),
        None => {
            let mut all = local;
            all.sort();
            all.dedup();
            Ok(all)
        }
    }
}

/// Pushes `repo:tag` (fully qualified) from the store.
pub async fn push(
    store: Arc<Store>,
    repo: &str,
    tag: &str,
    opts: &RegistryOptions,
    progress: &dyn PullProgress,
) -> Result<Pushed> {
    let full = format!("{repo}:{tag}");
    let rec = store.find(&full)?;
    let r = reference::parse(&full).map_err(|e| anyhow!(e))?;
    let mut last_err = None;
    for ep in registry::endpoints(&r, opts)
        .into_iter()
        .filter(|e| !e.mirror)
    {
        let client = registry::push_client_for(&ep, opts);
        let auth = registry::auth_for(&ep)?;
        client
            .store_auth_if_needed(ep.reference.resolve_registry(), &auth)
            .await;
        // The first request tells whether this endpoint answers at all.
        match client
            .auth(&ep.reference, &auth, RegistryOperation::Push)
            .await
        {
            Err(e @ E::RequestError(_)) if ep.http_fallback_next => {
                log::info!("https://{} failed ({e}); trying plain HTTP", ep.host);
                last_err = Some(anyhow!(describe(e)));
                continue;
            }
            Err(e) => return Err(anyhow!(describe(e))),
            Ok(_) => {}
        }
        return push_to(&store, &client, &ep, &rec, tag, progress).await;
    }
    Err(last_err.unwrap_or_else(|| anyhow!("no endpoint for {full}")))
}

fn describe(e: E) -> String {
    match &e {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => {
            format!("unauthorized: authentication required: {e}")
        }
        E::ServerError { code: 401, .. } => {
            format!("unauthorized: authentication required: {e}")
        }
        E::RequestError(re) => crate::pull::with_causes(&re),
        _ => e.to_string(),
    }
}

/// Repositories of `host` that hold `digest`, as far as rdock knows (the
/// repo digests of the images with that layer).
fn mount_sources(store: &Store, host: &str, target_repo: &str, digest: &str) -> Vec<String> {
    let mut out = Vec::new();
    for row in store.list().unwrap_or_default() {
        if !row.record.layers.iter().any(|l| l.digest == digest) {
            continue;
        }
        for rd in &row.record.repo_digests {
            let Some((repo, _)) = rd.split_once('@') else {
                continue;
            };
            if let Some(path) = repo.strip_prefix(&format!("{host}/")) {
                if path != target_repo && !out.iter().any(|o| o == path) {
                    out.push(path.to_string());
                }
            }
        }
    }
    out
}

async fn push_to(
    store: &Arc<Store>,
    client: &Client,
    ep: &Endpoint,
    rec: &ImageRecord,
    tag: &str,
    progress: &dyn PullProgress,
) -> Result<Pushed> {
    let target = &ep.reference;
    let full_repo = reference::full_repository(target);
    let host = full_repo
        .split_once('/')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default();
    // Top layer first, as docker lists them.
    let layers: Vec<_> = rec.layers.iter().rev().collect();
    let bars: Vec<_> = layers
        .iter()
        .map(|l| {
            let lp = progress.layer(&l.diff_id, l.size);
            lp.status("Preparing");
            lp
        })
        .collect();
    let host = host.as_str();
    let jobs = layers.iter().zip(bars.iter()).map(|(l, lp)| async move {
        if blob_exists(client, target, &l.digest).await? {
            lp.done("Layer already exists");
            return Ok::<_, anyhow::Error>(());
        }
        for from in mount_sources(store, host, target.repository(), &l.digest) {
            let src = Reference::with_tag(target.registry().to_string(), from.clone(), "x".into());
            match client.mount_blob(target, &src, &l.digest).await {
                Ok(()) => {
                    lp.done(&format!("Mounted from {from}"));
                    return Ok(());
                }
                Err(e) => log::debug!("mounting {} from {from}: {e}", l.digest),
            }
        }
        upload_retrying(
            client,
            target,
            store.blob_path(&l.digest)?,
            &l.digest,
            l.size,
        )
        .await
        .with_context(|| format!("pushing layer {}", l.digest))?;
        lp.done("Pushed");
        Ok(())
    });
    futures_util::stream::iter(jobs)
        .buffer_unordered(3)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    if !blob_exists(client, target, &rec.id).await? {
        let size = std::fs::metadata(store.blob_path(&rec.id)?)?.len();
        upload_retrying(client, target, store.blob_path(&rec.id)?, &rec.id, size)
            .await
            .context("pushing the image config")?;
    }
    let manifest = store.read_blob(&rec.manifest_digest)?;
    let size = manifest.len();
    let tagged = Reference::with_tag(
        target.registry().to_string(),
        target.repository().to_string(),
        tag.to_string(),
    );
    let content_type = rec
        .manifest_media_type
        .parse()
        .context("the manifest's media type")?;
    client
        .push_manifest_raw(&tagged, manifest, content_type)
        .await
        .map_err(|e| anyhow!(describe(e)))
        .context("pushing the manifest")?;
    // Remembered as docker does (RepoDigests), and as a mount source.
    let mut updated = rec.clone();
    updated.repo_digests = vec![format!("{full_repo}@{}", rec.manifest_digest)];
    store.add_image(updated, &[])?;
    Ok(Pushed {
        tag: tag.to_string(),
        digest: rec.manifest_digest.clone(),
        size,
    })
}

async fn blob_exists(client: &Client, r: &Reference, digest: &str) -> Result<bool> {
    client
        .blob_exists(r, digest)
        .await
        .map_err(|e| anyhow!(describe(e)))
        .with_context(|| format!("checking for blob {digest}"))
}

/// Uploads the blob file at `path` as one streamed PUT (never whole in memory).
/// A failure worth another try: the connection, or the registry's 5xx.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Transient(String);

const UPLOAD_ATTEMPTS: u32 = 3;

/// [`upload`], tried again (with a new upload session) after a transient failure.
async fn upload_retrying(
    client: &Client,
    r: &Reference,
    path: PathBuf,
    digest: &str,
    size: u64,
) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(500);
    for attempt in 1..=UPLOAD_ATTEMPTS {
        match upload(client, r, path.clone(), digest, size).await {
            Err(e) if attempt < UPLOAD_ATTEMPTS && e.is::<Transient>() => {
                log::warn!("pushing {digest}: {e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            res => return res,
        }
    }
    unreachable!("the last attempt returns")
}

async fn upload(
    client: &Client,
    r: &Reference,
    path: PathBuf,
    digest: &str,
    size: u64,
) -> Result<()> {
    let file = tokio::fs::File::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                crate::limits::touch();
                Some((Ok(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(E::IoError(e)), f)),
        }
    });
    match client.push_blob_stream(r, stream, digest, Some(size)).await {
        Ok(_) => Ok(()),
        Err(e @ (E::RequestError(_) | E::IoError(_))) => Err(Transient(describe(e)).into()),
        Err(e @ E::ServerError { code: 500.., .. }) => Err(Transient(describe(e)).into()),
        Err(e) => Err(anyhow!(describe(e))),
    }
}
