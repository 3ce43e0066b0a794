//! `commit` and `import`: new images from a container's upper dir on top
//! of its image, or from a tar stream alone, with docker's config fields
//! (`created`, `author`, `comment`, a history entry, `rootfs.diff_ids`)
//! and `-c` changes applied.
use crate::changes;
use crate::layer;
use crate::store::{ImageRecord, Store};
use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::Path;

/// What `commit` takes from the container and the command line.
pub struct CommitRequest<'a> {
    /// The image the container runs (its ID).
    pub base: &'a str,
    /// The container's overlay upper dir.
    pub upper: &'a Path,
    /// Paths of the upper dir left out (mount points rdock made).
    pub skip: &'a dyn Fn(&str) -> bool,
    /// The container's config as docker's `Config` (Cmd, Entrypoint, Env,
    /// WorkingDir, User, Labels...): the new image's, before the changes.
    pub config: Map<String, Value>,
    pub container_id: &'a str,
    pub author: &'a str,
    pub comment: &'a str,
    pub changes: &'a [String],
    /// The history's CREATED BY: the container's command.
    pub created_by: &'a str,
    /// Fully qualified `repo:tag` names for the image.
    pub names: &'a [String],
}

/// Checks `-c` changes without applying them anywhere (docker's message on error).
pub fn check_changes(list: &[String]) -> Result<(), changes::BadChange> {
    changes::apply(&mut Map::new(), list)
}

/// Makes the image; the container should be frozen meanwhile.
pub fn commit(store: &Store, req: CommitRequest) -> Result<ImageRecord> {
    let mut run_config = req.config;
    changes::apply(&mut run_config, req.changes)?;
    let _gc = store.lock_for_pull()?;
    let base = store.find(req.base)?;
    let mut config: Value = serde_json::from_slice(&store.read_blob(&base.id)?)
        .with_context(|| format!("parsing the config of image {}", base.id))?;
    let below: Vec<String> = base.layers.iter().map(|l| l.diff_id.clone()).collect();
    let new = layer::add_layer(store, &below, |out| {
        layer::write_upper(req.upper, req.skip, out)
    })
    .with_context(|| format!("making a layer of {}", req.upper.display()))?;
    let now = layer::now_rfc3339();
    let obj = config
        .as_object_mut()
        .context("the image config is not an object")?;
    obj.insert("created".into(), json!(now));
    obj.insert("author".into(), json!(req.author));
    if req.comment.is_empty() {
        obj.remove("comment");
    } else {
        obj.insert("comment".into(), json!(req.comment));
    }
    obj.insert("container".into(), json!(req.container_id));
    obj.insert("config".into(), Value::Object(run_config));
    push_history(obj, &now, req.author, req.created_by, req.comment);
    let diffs = obj
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    diffs["type"] = json!("layers");
    let mut ids = below;
    ids.push(new.diff_id.clone());
    diffs["diff_ids"] = json!(ids);
    let mut layers = base.layers.clone();
    layers.push(new);
    layer::record_image(store, &config, layers, req.names)
}

fn push_history(obj: &mut Map<String, Value>, now: &str, author: &str, by: &str, comment: &str) {
    let mut h = Map::new();
    h.insert("created".into(), json!(now));
    if !author.is_empty() {
        h.insert("author".into(), json!(author));
    }
    h.insert("created_by".into(), json!(by));
    if !comment.is_empty() {
        h.insert("comment".into(), json!(comment));
    }
    let hist = obj.entry("history").or_insert_with(|| json!([]));
    match hist.as_array_mut() {
        Some(a) => a.push(Value::Object(h)),
        None => *hist = json!([h]),
    }
}

/// What `import` takes besides the tar.
pub struct ImportRequest<'a> {
    pub comment: &'a str,
    pub changes: &'a [String],
    pub names: &'a [String],
}

/// Makes a one-layer image of the tar stream `input` (plain, gzip or zstd),
/// as `docker import` does: no Cmd unless a change sets one, the host's
/// platform, a history entry "Imported from -" unless `-m` is given.
pub fn import(store: &Store, input: impl Read, req: ImportRequest) -> Result<ImageRecord> {
    let mut run_config = Map::new();
    changes::apply(&mut run_config, req.changes)?;
    let _gc = store.lock_for_pull()?;
    let new = layer::add_tar_layer(store, input).context("Error processing tar file")?;
    let now = layer::now_rfc3339();
    let comment = if req.comment.is_empty() {
        "Imported from -"
    } else {
        req.comment
    };
    let host = crate::platform::Platform::host();
    let mut config = json!({
        "architecture": host.architecture,
        "os": host.os,
        "created": now,
        "comment": comment,
        "config": Value::Object(run_config),
        "rootfs": {"type": "layers", "diff_ids": [new.diff_id]},
        "history": [{"created": now, "comment": comment}],
    });
    if let Some(v) = &host.variant {
        config["variant"] = json!(v);
    }
    layer::record_image(store, &config, vec![new], req.names)
}

/// Downloads `url` (import's URL source) into a temp file of the store,
/// streamed and cut off at the layer size cap; the caller removes it.
pub async fn download(
    store: &Store,
    url: &str,
    _opts: &crate::registry::RegistryOptions,
) -> Result<std::path::PathBuf> {
    use std::io::Write;
    crate::registry::init_tls();
    let limits = crate::limits::UnpackLimits::from_env()?;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let mut resp = client.get(url).send().await?;
    if !resp.status().is_success() {
        anyhow::bail!("{url}: {}", resp.status());
    }
    let path = store.tmp_path("import");
    let res = async {
        let mut f =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut got = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            got += chunk.len() as u64;
            if got > limits.max_bytes {
                anyhow::bail!(
                    "{url} is larger than {}, the most a layer may have",
                    crate::limits::human(limits.max_bytes)
                );
            }
            f.write_all(&chunk)?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = res {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}
