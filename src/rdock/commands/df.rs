//! `rdock system df [-v] [--format F]`: docker 20.10's disk usage summary.
//! Images: the unique layers' size, reclaimable = all but the unique size
//! of images some container uses (so an image shared by others reads 100%,
//! as in docker); containers: their upper directories; volumes: their data,
//! reclaimable when no container mounts them; no build cache.
use super::Context;
use crate::cli::DfArgs;
use crate::container::record::{self, Record, State};
use crate::format::human_duration;
use crate::template::{self, Listing};
use crate::units::human_size;
use anyhow::Result;
use image::reference;
use image::store::short_id;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

pub const LISTING: Listing = Listing {
    default: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
    headers: &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ],
};

/// docker's HumanSize: 4 significant digits.
fn size(n: u64) -> String {
    human_size(n as f64, 4)
}

/// `SIZE (P%)` when there is any size at all, else just `SIZE`.
fn reclaimable(part: u64, total: u64) -> String {
    match (part * 100).checked_div(total) {
        Some(pct) => format!("{} ({pct}%)", size(part)),
        None => size(part),
    }
}

struct ImageUsage {
    id: String,
    names: Vec<String>,
    created: Option<String>,
    size: u64,
    shared: u64,
    containers: usize,
}

struct VolumeUsage {
    name: String,
    links: usize,
    size: u64,
}

pub fn run(ctx: &Context, a: DfArgs) -> Result<i32> {
    let containers = record::list(&ctx.root)?;
    let images = images(ctx, &containers)?;
    let volumes = volumes(&ctx.root, &containers);
    let upper: Vec<u64> = containers
        .iter()
        .map(|r| dir_size(&record::dir_of(&ctx.root, &r.id).join("upper")))
        .collect();

    let layers_total: u64 = {
        let store = ctx.store()?;
        store.layer_sizes()?.values().sum()
    };
    let used: u64 = images
        .iter()
        .filter(|i| i.containers > 0)
        .map(|i| i.size - i.shared)
        .sum();
    let active = |r: &Record| r.live_state() == State::Running;
    let c_total: u64 = upper.iter().sum();
    let c_idle: u64 = containers
        .iter()
        .zip(&upper)
        .filter(|(r, _)| !active(r))
        .map(|(_, s)| s)
        .sum();
    let v_total: u64 = volumes.iter().map(|v| v.size).sum();
    let v_idle: u64 = volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let summary = [
        json!({
            "Type": "Images",
            "TotalCount": images.len().to_string(),
            "Active": images.iter().filter(|i| i.containers > 0).count().to_string(),
            "Size": size(layers_total),
            "Reclaimable": reclaimable(layers_total.saturating_sub(used), layers_total),
        }),
        json!({
            "Type": "Containers",
            "TotalCount": containers.len().to_string(),
            "Active": containers.iter().filter(|r| active(r)).count().to_string(),
            "Size": size(c_total),
            "Reclaimable": reclaimable(c_idle, c_total),
        }),
        json!({
            "Type": "Local Volumes",
            "TotalCount": volumes.len().to_string(),
            "Active": volumes.iter().filter(|v| v.links > 0).count().to_string(),
            "Size": size(v_total),
            "Reclaimable": reclaimable(v_idle, v_total),
        }),
        json!({
            "Type": "Build Cache",
            "TotalCount": "0",
            "Active": "0",
            "Size": "0B",
            "Reclaimable": "0B",
        }),
    ];
    if !a.verbose {
        template::print_list(a.format.as_deref(), &LISTING, &summary)?;
        return Ok(0);
    }
    verbose(ctx, &images, &containers, &upper, &volumes);
    Ok(0)
}

/// Every image once, with its shared size (layers other images use too)
/// and the number of containers made from it.
fn images(ctx: &Context, containers: &[Record]) -> Result<Vec<ImageUsage>> {
    let store = ctx.store()?;
    let rows = store.list()?;
    let mut by_id: BTreeMap<String, (image::store::ImageRecord, Vec<String>)> = BTreeMap::new();
    for r in rows {
        let e = by_id
            .entry(r.record.id.clone())
            .or_insert_with(|| (r.record.clone(), Vec::new()));
        if let Some(t) = r.tagged {
            e.1.push(t);
        }
    }
    // How many images hold each layer.
    let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
    for (rec, _) in by_id.values() {
        let mine: BTreeSet<&str> = rec.layers.iter().map(|l| l.chain_id.as_str()).collect();
        for c in mine {
            *refs.entry(c).or_default() += 1;
        }
    }
    Ok(by_id
        .values()
        .map(|(rec, names)| {
            let shared = rec
                .layers
                .iter()
                .filter(|l| refs.get(l.chain_id.as_str()).copied().unwrap_or(0) > 1)
                .map(|l| l.unpacked_size)
                .sum();
            ImageUsage {
                id: rec.id.clone(),
                names: names.clone(),
                created: rec.created.clone(),
                size: rec.size,
                shared,
                containers: containers.iter().filter(|c| c.image_id == rec.id).count(),
            }
        })
        .collect())
}

fn volumes(root: &Path, containers: &[Record]) -> Vec<VolumeUsage> {
    let vols = root.join("volumes");
    let mut links: BTreeMap<String, usize> = BTreeMap::new();
    for r in containers {
        let Ok(v) = crate::container::bundle_config(&record::dir_of(root, &r.id)) else {
            continue;
        };
        let mut mine = BTreeSet::new();
        for m in v["mounts"].as_array().into_iter().flatten() {
            if let Some(rest) = m["source"]
                .as_str()
                .and_then(|s| Path::new(s).strip_prefix(&vols).ok())
            {
                if let Some(first) = rest.components().next() {
                    mine.insert(first.as_os_str().to_string_lossy().to_string());
                }
            }
        }
        for n in mine {
            *links.entry(n).or_default() += 1;
        }
    }
    let mut out: Vec<VolumeUsage> = std::fs::read_dir(&vols)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("_data").is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            VolumeUsage {
                links: links.get(&name).copied().unwrap_or(0),
                size: dir_size(&e.path().join("_data")),
                name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Bytes in the files under `dir` (not directories; hard links once), as
/// docker sizes a container's layer and a volume. Symlinks are not followed.
pub fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.nlink() < 2 || seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

fn ago(t: Option<&str>) -> String {
    t.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| {
            let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
            format!("{} ago", human_duration(secs))
        })
        .unwrap_or_else(|| "N/A".into())
}

/// `-v`: docker's four sections.
fn verbose(
    ctx: &Context,
    images: &[ImageUsage],
    containers: &[Record],
    upper: &[u64],
    volumes: &[VolumeUsage],
) {
    println!("Images space usage:\n");
    let mut lines = vec![
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"
            .to_string(),
    ];
    let mut rows: Vec<(&ImageUsage, String, String)> = Vec::new();
    for i in images {
        if i.names.is_empty() {
            rows.push((i, "<none>".into(), "<none>".into()));
        }
        for n in &i.names {
            let (repo, tag) = reference::split_tagged(n);
            rows.push((i, reference::familiar_repository(repo), tag.to_string()));
        }
    }
    // Newest first, as docker lists them.
    rows.sort_by(|a, b| b.0.created.cmp(&a.0.created).then(a.1.cmp(&b.1)));
    for (i, repo, tag) in rows {
        lines.push(format!(
            "{repo}\t{tag}\t{}\t{}\t{}\t{}\t{}\t{}",
            short_id(&i.id),
            ago(i.created.as_deref()),
            size(i.size),
            size(i.shared),
            size(i.size - i.shared),
            i.containers
        ));
    }
    print!("{}", template::tabwrite(&format!("{}\n", lines.join("\n"))));
    println!("\nContainers space usage:\n");
    let mut lines = vec![
        "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".to_string(),
    ];
    let vols = ctx.root.join("volumes");
    for (r, up) in containers.iter().zip(upper) {
        let nvol = crate::container::bundle_config(&record::dir_of(&ctx.root, &r.id))
            .ok()
            .and_then(|v| v["mounts"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|m| {
                m["source"]
                    .as_str()
                    .is_some_and(|s| Path::new(s).starts_with(&vols))
            })
            .count();
        lines.push(format!(
            "{}\t{}\t{}\t{nvol}\t{}\t{}\t{}\t{}",
            r.short_id(),
            r.image,
            super::ps::command_column(&r.command, false),
            size(*up),
            ago(Some(&r.created)),
            super::ps::status(&ctx.root, r),
            r.name
        ));
    }
    print!("{}", template::tabwrite(&format!("{}\n", lines.join("\n"))));
    println!("\nLocal Volumes space usage:\n");
    let mut lines = vec!["VOLUME NAME\tLINKS\tSIZE".to_string()];
    for v in volumes {
        lines.push(format!("{}\t{}\t{}", v.name, v.links, size(v.size)));
    }
    print!("{}", template::tabwrite(&format!("{}\n", lines.join("\n"))));
    println!("\nBuild cache usage: 0B\n");
    print!(
        "{}",
        template::tabwrite("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaimable_reads_like_docker() {
        assert_eq!(reclaimable(3_967_000, 3_967_000), "3.967MB (100%)");
        assert_eq!(reclaimable(0, 3), "0B (0%)");
        assert_eq!(reclaimable(0, 0), "0B");
        assert_eq!(reclaimable(1, 3), "1B (33%)");
    }

    #[test]
    fn dir_size_counts_files_once() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("d/hello"), "hi\n").unwrap();
        std::fs::hard_link(t.path().join("d/hello"), t.path().join("again")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("link")).unwrap();
        // 3 bytes once, plus the symlink's own length.
        assert_eq!(dir_size(t.path()), 3 + "/etc/passwd".len() as u64);
    }
}
