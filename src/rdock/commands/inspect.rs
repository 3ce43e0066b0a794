//! `rdock image inspect IMAGE...`: a JSON array shaped like docker's, or
//! `-f TEMPLATE` rendered once per object.
use super::Context;
use crate::cli::InspectArgs;
use crate::template::{Options, Template, TemplateError};
use anyhow::Result;
use image::reference;
use image::store::{ImageRow, Store};
use serde_json::{json, Value};

/// Prints inspect objects as docker does: a pretty JSON array, or with
/// `-f` the template per object. A template that does not parse exits 64;
/// one that fails on an object prints an empty line, the error, and exits 1.
pub fn print_objects(format: Option<&str>, objects: &[Value]) -> Result<()> {
    let Some(f) = format else {
        println!("{}", serde_json::to_string_pretty(objects)?);
        return Ok(());
    };
    let t = Template::parse(f, "").map_err(|e| e.reworded("template parsing error: ", 64))?;
    // docker falls back to the raw JSON map, where a missing key fails.
    let opts = Options {
        missing_key_error: true,
        ..Options::default()
    };
    for o in objects {
        match t.execute(o, &opts) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                println!();
                return Err(TemplateError::reworded(e, "template parsing error: ", 1).into());
            }
        }
    }
    Ok(())
}

/// One image as docker's `inspect` shows it.
pub fn image_json(store: &Store, rows: &[ImageRow], name: &str) -> Result<Value> {
    let img = store.resolve(name)?;
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
    Ok(json!({
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
    }))
}

pub fn run(ctx: &Context, a: InspectArgs) -> Result<i32> {
    let store = ctx.store()?;
    let rows = store.list()?;
    let mut out = Vec::new();
    let mut code = 0;
    for name in &a.images {
        match image_json(&store, &rows, name) {
            Ok(v) => out.push(v),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    print_objects(a.format.as_deref(), &out)?;
    Ok(code)
}
