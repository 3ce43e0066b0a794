//! `rdock image inspect IMAGE...`: a JSON array shaped like docker's.
use super::Context;
use crate::cli::InspectArgs;
use anyhow::Result;
use image::reference;
use serde_json::{json, Value};

pub fn run(ctx: &Context, a: InspectArgs) -> Result<i32> {
    let store = ctx.store()?;
    let rows = store.list()?;
    let mut out = Vec::new();
    let mut code = 0;
    for name in &a.images {
        let img = match store.resolve(name) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
                continue;
            }
        };
        let config: Value = serde_json::from_slice(&store.read_blob(&img.id)?)?;
        let tags: Vec<String> = rows
            .iter()
            .filter(|r| r.record.id == img.id)
            .filter_map(|r| r.tagged.as_deref())
            .map(|t| {
                let (repo, tag) = reference::split_tagged(t);
                format!("{}:{tag}", reference::familiar_repository(repo))
            })
            .collect();
        let digests: Vec<String> = img
            .record
            .repo_digests
            .iter()
            .map(|d| match d.split_once('@') {
                Some((repo, dg)) => format!("{}@{dg}", reference::familiar_repository(repo)),
                None => d.clone(),
            })
            .collect();
        let lower: Vec<String> = img
            .layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        out.push(json!({
            "Id": img.id,
            "RepoTags": tags,
            "RepoDigests": digests,
            "Created": config.get("created"),
            "Comment": config.get("comment").cloned().unwrap_or(json!("")),
            "Author": config.get("author").cloned().unwrap_or(json!("")),
            "Config": config.get("config"),
            "Architecture": config.get("architecture"),
            "Variant": config.get("variant"),
            "Os": config.get("os"),
            "Size": img.record.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lower.join(":")}},
            "RootFS": {"Type": "layers", "Layers": img.record.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
            "Descriptor": {"mediaType": img.record.manifest_media_type, "digest": img.record.manifest_digest},
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(code)
}
