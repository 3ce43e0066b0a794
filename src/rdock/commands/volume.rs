//! `rdock volume ls|create|rm|inspect|prune`: volumes under
//! `<root>/volumes/NAME/_data`; an anonymous one (`-v /path`) has a 64-hex
//! name and an `anonymous` marker file.
use super::Context;
use crate::cli::VolumeCommand;
use crate::container::{names, record};
use crate::template::{print_list_with, Listing, Options};
use anyhow::{Context as _, Result};
use std::collections::BTreeSet;
use std::path::Path;

pub fn run(ctx: &Context, c: VolumeCommand) -> Result<i32> {
    let dir = ctx.root.join("volumes");
    match c {
        VolumeCommand::Ls(q) => {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            if q.quiet {
                names.iter().for_each(|n| println!("{n}"));
            } else {
                let rows: Vec<serde_json::Value> = names
                    .iter()
                    .map(|n| {
                        let labels = if is_anonymous(&dir, n) {
                            "com.docker.volume.anonymous="
                        } else {
                            ""
                        };
                        serde_json::json!({
                            "Driver": "local",
                            "Labels": labels,
                            "Links": "N/A",
                            "Mountpoint": dir.join(n).join("_data"),
                            "Name": n,
                            "Scope": "local",
                            "Size": "N/A",
                        })
                    })
                    .collect();
                let listing = Listing {
                    default: "table {{.Driver}}\\t{{.Name}}",
                    headers: &[
                        ("Driver", "DRIVER"),
                        ("Labels", "LABELS"),
                        ("Links", "LINKS"),
                        ("Mountpoint", "MOUNTPOINT"),
                        ("Name", "VOLUME NAME"),
                        ("Scope", "SCOPE"),
                        ("Size", "SIZE"),
                    ],
                };
                let opts = Options {
                    root_type: "*formatter.volumeContext",
                    ..Options::default()
                };
                print_list_with(q.format.as_deref(), &listing, &rows, &opts)?;
            }
        }
        VolumeCommand::Create { name } => {
            names::check_volume_name(&name)?;
            let d = dir.join(&name).join("_data");
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            crate::events::volume(&ctx.root, "create", &name);
            println!("{name}");
        }
        VolumeCommand::Rm { names } => {
            let used = in_use(&ctx.root);
            let mut code = 0;
            for n in names {
                let d = dir.join(&n);
                let res = if !names::is_valid(&n) || !d.is_dir() {
                    Err(anyhow::anyhow!("get {n}: no such volume"))
                } else if used.contains(&n) {
                    Err(anyhow::anyhow!("remove {n}: volume is in use"))
                } else {
                    std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))
                };
                match res {
                    Ok(()) => {
                        crate::events::volume(&ctx.root, "destroy", &n);
                        println!("{n}")
                    }
                    Err(e) => {
                        eprintln!("Error response from daemon: {e:#}");
                        code = 1;
                    }
                }
            }
            return Ok(code);
        }
        VolumeCommand::Inspect { names } => {
            let mut out = Vec::new();
            for n in &names {
                let d = dir.join(n);
                if !names::is_valid(n) || !d.is_dir() {
                    eprintln!("Error response from daemon: get {n}: no such volume");
                    println!("{}", serde_json::to_string_pretty(&out)?);
                    return Ok(1);
                }
                out.push(inspect(&dir, n));
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        VolumeCommand::Prune { all, force } => {
            if !force && !super::prune::confirm("WARNING! This will remove anonymous local volumes not used by at least one container.")? {
                return Ok(0);
            }
            let gone = prune(&ctx.root, all)?;
            if !gone.is_empty() {
                println!("Deleted Volumes:");
                gone.iter().for_each(|n| println!("{n}"));
                println!();
            }
            println!("Total reclaimed space: 0B");
        }
    }
    Ok(0)
}

fn inspect(dir: &Path, name: &str) -> serde_json::Value {
    let d = dir.join(name);
    let created = std::fs::metadata(&d)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default();
    let labels = if is_anonymous(dir, name) {
        serde_json::json!({"com.docker.volume.anonymous": ""})
    } else {
        serde_json::Value::Null
    };
    serde_json::json!({
        "CreatedAt": created,
        "Driver": "local",
        "Labels": labels,
        "Mountpoint": d.join("_data"),
        "Name": name,
        "Options": null,
        "Scope": "local",
    })
}

fn is_anonymous(dir: &Path, name: &str) -> bool {
    dir.join(name).join("anonymous").exists()
}

/// Volume names mounted by some container (from the bundles' mounts).
pub fn in_use(root: &Path) -> BTreeSet<String> {
    let vols = root.join("volumes");
    let mut used = BTreeSet::new();
    for r in record::list(root).unwrap_or_default() {
        let p = record::dir_of(root, &r.id).join("bundle/config.json");
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&data) else {
            continue;
        };
        for m in v["mounts"].as_array().into_iter().flatten() {
            if let Some(rest) = m["source"]
                .as_str()
                .and_then(|s| Path::new(s).strip_prefix(&vols).ok())
            {
                if let Some(first) = rest.components().next() {
                    used.insert(first.as_os_str().to_string_lossy().to_string());
                }
            }
        }
    }
    used
}

/// Removes unused volumes: anonymous ones, or all with `all`.
pub fn prune(root: &Path, all: bool) -> Result<Vec<String>> {
    let dir = root.join("volumes");
    let used = in_use(root);
    let mut gone = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if used.contains(&n) || !(all || is_anonymous(&dir, &n)) {
            continue;
        }
        std::fs::remove_dir_all(e.path())
            .with_context(|| format!("removing {}", e.path().display()))?;
        gone.push(n);
    }
    Ok(gone)
}
