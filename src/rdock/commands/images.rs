//! `rdock images` / `rdock image ls [REPOSITORY[:TAG]] [-f KEY=VALUE]... [--format F]`
use super::filters::{self, Filters};
use super::Context;
use crate::cli::ImagesArgs;
use crate::commands::ps::go_time;
use crate::format::{human_duration, human_size};
use crate::template::{print_list_with, Listing, Options};
use anyhow::{anyhow, bail, Result};
use image::reference;
use image::store::{short_id, ImageRow, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `images`' columns, docker's names.
const HEADERS: &[(&str, &str)] = &[
    ("Containers", "CONTAINERS"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedSince", "CREATED"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("SharedSize", "SHARED SIZE"),
    ("Size", "SIZE"),
    ("Tag", "TAG"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

const DEFAULT: &str = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
const DEFAULT_DIGESTS: &str =
    "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";

const KNOWN_FILTERS: &[&str] = &["dangling", "reference", "before", "since", "label"];

/// docker's HumanSizeWithPrecision: decimal units, `prec` significant digits.
pub fn human_size_prec(bytes: u64, prec: usize) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let int_digits = if v >= 1.0 {
        v.log10().floor() as usize + 1
    } else {
        1
    };
    let s = format!("{v:.p$}", p = prec.saturating_sub(int_digits));
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// (familiar repository, tag) of a row; `<none>` for an untagged image.
fn repo_tag(r: &ImageRow) -> (String, String) {
    match &r.tagged {
        Some(t) => {
            let (rr, tt) = reference::split_tagged(t);
            (reference::familiar_repository(rr), tt.to_string())
        }
        None => ("<none>".to_string(), "<none>".to_string()),
    }
}

/// docker's reference filter: Go's path.Match on `repo:tag`, then `repo`.
fn reference_matches(pattern: &str, r: &ImageRow) -> bool {
    if r.tagged.is_none() {
        return false;
    }
    let (repo, tag) = repo_tag(r);
    filters::glob_match(pattern, &format!("{repo}:{tag}")) || filters::glob_match(pattern, &repo)
}

/// The positional REPOSITORY[:TAG]: docker's reference filter, and the full
/// name as rdock always took it (`docker.io/library/busybox`).
fn positional_matches(arg: &str, r: &ImageRow) -> bool {
    if reference_matches(arg, r) {
        return true;
    }
    let (Ok(want), Some(t)) = (reference::parse(arg), &r.tagged) else {
        return false;
    };
    let (rr, tt) = reference::split_tagged(t);
    rr == reference::full_repository(&want)
        && (!arg.contains(':') || want.tag().is_none_or(|w| w == tt))
}

fn created_of(r: &ImageRow) -> Option<chrono::DateTime<chrono::Utc>> {
    r.record
        .created
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn labels_of(store: &Store, id: &str) -> BTreeMap<String, String> {
    let config: Value = store
        .read_blob(id)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or(Value::Null);
    config["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the values and resolves before/since to creation times.
fn resolve(
    store: &Store,
    f: &Filters,
) -> Result<BTreeMap<String, Option<chrono::DateTime<chrono::Utc>>>> {
    for v in f.get("dangling") {
        if v != "true" && v != "false" {
            bail!("Invalid filter 'dangling=[{v}]'");
        }
    }
    let mut times = BTreeMap::new();
    for v in f.get("before").iter().chain(f.get("since")) {
        let img = store
            .resolve(v)
            .map_err(|_| anyhow!("No such image: {v}"))?;
        let row = ImageRow {
            tagged: None,
            record: img.record,
        };
        times.insert(v.clone(), created_of(&row));
    }
    Ok(times)
}

fn row_json(r: &ImageRow, a: &ImagesArgs, now: chrono::DateTime<chrono::Utc>) -> Value {
    let (repo, tag) = repo_tag(r);
    let digest = r
        .record
        .repo_digests
        .iter()
        .find_map(|d| {
            d.split_once('@')
                .filter(|(rr, _)| reference::familiar_repository(rr) == repo)
                .map(|(_, d)| d.to_string())
        })
        .unwrap_or_else(|| "<none>".to_string());
    let created = created_of(r);
    json!({
        "Containers": "N/A",
        "CreatedAt": r.record.created.as_deref().map(go_time).unwrap_or_default(),
        "CreatedSince": created
            .map(|t| format!("{} ago", human_duration((now - t).num_seconds())))
            .unwrap_or_else(|| "N/A".into()),
        "Digest": digest,
        "ID": if a.no_trunc { r.record.id.clone() } else { short_id(&r.record.id) },
        "Repository": repo,
        "SharedSize": "N/A",
        "Size": human_size(r.record.size),
        "Tag": tag,
        "UniqueSize": "N/A",
        "VirtualSize": human_size_prec(r.record.size, 4),
    })
}

pub fn run(ctx: &Context, a: ImagesArgs) -> Result<i32> {
    let f = match filters::parse(&a.filter, "images", KNOWN_FILTERS)? {
        Ok(f) => f,
        Err(filters::BadFormat(code)) => return Ok(code),
    };
    let store = ctx.store()?;
    let times = resolve(&store, &f)?;
    let mut rows = store.list()?;
    let mut labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if f.has("label") {
        for r in &rows {
            labels
                .entry(r.record.id.clone())
                .or_insert_with(|| labels_of(&store, &r.record.id));
        }
    }
    let none = BTreeMap::new();
    rows.retain(|r| {
        a.reference
            .as_deref()
            .is_none_or(|p| positional_matches(p, r))
            && f.labels_match(labels.get(&r.record.id).unwrap_or(&none))
            && f.matches(&[], |k, v| match k {
                "dangling" => (v == "true") == r.tagged.is_none(),
                "reference" => reference_matches(v, r),
                "before" => {
                    matches!((created_of(r), times.get(v)), (Some(c), Some(Some(t))) if c < *t)
                }
                "since" => {
                    matches!((created_of(r), times.get(v)), (Some(c), Some(Some(t))) if c > *t)
                }
                _ => true,
            })
    });
    // Newest first, like docker.
    rows.sort_by(|x, y| {
        y.record
            .created
            .cmp(&x.record.created)
            .then(x.tagged.cmp(&y.tagged))
    });
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.record.id.clone()) {
                println!(
                    "{}",
                    if a.no_trunc {
                        r.record.id.clone()
                    } else {
                        short_id(&r.record.id)
                    }
                );
            }
        }
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let values: Vec<Value> = rows.iter().map(|r| row_json(r, &a, now)).collect();
    let listing = Listing {
        default: if a.digests { DEFAULT_DIGESTS } else { DEFAULT },
        headers: HEADERS,
    };
    let opts = Options {
        root_type: "*formatter.imageContext",
        ..Options::default()
    };
    print_list_with(a.format.as_deref(), &listing, &values, &opts)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn virtual_size_has_four_digits_as_docker() {
        assert_eq!(super::human_size_prec(1_983_812, 4), "1.984MB");
        assert_eq!(super::human_size_prec(1_900_000, 4), "1.9MB");
        assert_eq!(super::human_size_prec(999, 4), "999B");
        assert_eq!(super::human_size_prec(123_456_789, 4), "123.5MB");
    }
}
