//! `rdock ps [-a] [-q] [-f KEY=VALUE]... [--format F] [--no-trunc] [-n N] [--latest] [-s]`
use super::filters::{self, Filters};
use super::Context;
use crate::cli::PsArgs;
use crate::container::pause;
use crate::container::record::{self, Record, State};
use crate::format::{human_duration, human_size};
use crate::template::{print_list_with, Listing, Options};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn secs_since(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(0)
}

/// docker's STATUS column.
pub fn status(root: &std::path::Path, r: &Record) -> String {
    match r.live_state() {
        State::Created => "Created".into(),
        State::Running => format!(
            "Up {}{}",
            human_duration(secs_since(&r.started)),
            if pause::is_paused(root, r) {
                " (Paused)"
            } else {
                ""
            }
        ),
        State::Exited => format!(
            "Exited ({}) {} ago",
            r.exit_code.unwrap_or(255),
            human_duration(secs_since(&r.finished.clone().or(r.started.clone())))
        ),
        State::Dead => "Dead".into(),
    }
}

pub fn state_name(s: &State) -> &'static str {
    match s {
        State::Created => "created",
        State::Running => "running",
        State::Exited => "exited",
        State::Dead => "dead",
    }
}

/// docker's COMMAND column: quoted, cut at 20 characters unless `full`.
pub fn command_column(cmd: &[String], full: bool) -> String {
    // docker single-quotes the arguments (not the path) that hold a space.
    let s = cmd
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if full || s.chars().count() <= 20 {
        return format!("\"{s}\"");
    }
    let cut: String = s.chars().take(19).collect();
    format!("\"{cut}…\"")
}

/// `ps`'s columns, docker's names (`--format '{{.Names}}'`).
const LISTING_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("State", "STATE"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

const DEFAULT: &str =
    "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";

const KNOWN_FILTERS: &[&str] = &[
    "status",
    "name",
    "id",
    "label",
    "before",
    "since",
    "exited",
    "ancestor",
    "network",
    "volume",
    "health",
    "isolation",
];

/// What `ps` knows of one container beyond its record.
struct Extra {
    labels: BTreeMap<String, String>,
    /// (volume name or source, destination, is a volume)
    mounts: Vec<(String, String, bool)>,
    /// The networks it is on: (name, id); host and none have no id.
    networks: Vec<(String, String)>,
    health: Option<String>,
}

fn extra(root: &Path, r: &Record) -> Extra {
    let dir = record::dir_of(root, &r.id);
    let read = |f: &str| -> Value {
        std::fs::read(dir.join(f))
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or(Value::Null)
    };
    let asked = read("inspect.json");
    let labels = labels_of(&asked);
    let vols = root.join("volumes");
    let mounts = read("bundle/config.json")["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] == "bind")
        .filter_map(|m| {
            let src = m["source"].as_str()?;
            let dst = m["destination"].as_str()?.to_string();
            if dst.starts_with("/etc/") || dst == "/sbin/docker-init" {
                return None;
            }
            Some(match Path::new(src).strip_prefix(&vols) {
                Ok(rest) => {
                    let name = rest.components().next()?.as_os_str().to_string_lossy();
                    (name.to_string(), dst, true)
                }
                Err(_) => (src.to_string(), dst, false),
            })
        })
        .collect();
    let networks = match crate::network::Attachment::load(root, &r.id) {
        Some(a) if a.endpoints.is_empty() => vec![(a.network, String::new())],
        Some(a) => a
            .endpoints
            .into_iter()
            .map(|e| (e.network, e.network_id))
            .collect(),
        None => Vec::new(),
    };
    let health = [
        &asked["State"]["Health"]["Status"],
        &read("health.json")["Status"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().map(String::from));
    Extra {
        labels,
        mounts,
        networks,
        health,
    }
}

/// The container's labels, from what `run` recorded (`inspect.json`).
pub fn labels_of(asked: &Value) -> BTreeMap<String, String> {
    [&asked["Labels"], &asked["Config"]["Labels"]]
        .into_iter()
        .find_map(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// One `-f` value against one container (`pos`: its place, newest first).
fn matches_one(ctx: &Context, r: &Record, x: &Extra, k: &str, v: &str, refs: &Refs) -> bool {
    let root = &ctx.root;
    match k {
        "status" => match v {
            "paused" => pause::is_paused(root, r),
            "running" => r.live_state() == State::Running && !pause::is_paused(root, r),
            _ => state_name(&r.live_state()) == v,
        },
        "name" => filters::regex_match(v, &r.name),
        "id" => filters::regex_match(v, &r.id),
        "exited" => r.live_state() == State::Exited && v.parse::<i32>().ok() == r.exit_code,
        "before" => refs.before.get(v).is_some_and(|c| r.created < *c),
        "since" => refs.since.get(v).is_some_and(|c| r.created > *c),
        "ancestor" => match refs.ancestors.get(v) {
            Some(Some(id)) => &r.image_id == id,
            _ => r.image == v || r.image == format!("{v}:latest"),
        },
        "network" => x
            .networks
            .iter()
            .any(|(name, id)| name == v || (v.len() >= 2 && id.starts_with(v))),
        "volume" => x.mounts.iter().any(|(n, d, _)| n == v || d == v),
        "health" => x.health.as_deref().unwrap_or("none") == v,
        // Only default isolation exists on Linux.
        "isolation" => v == "default",
        _ => true,
    }
}

/// Filter values resolved once: the containers named by before/since
/// (their creation times) and the images named by ancestor.
#[derive(Default)]
struct Refs {
    before: BTreeMap<String, String>,
    since: BTreeMap<String, String>,
    ancestors: BTreeMap<String, Option<String>>,
}

fn resolve_refs(ctx: &Context, f: &Filters) -> Result<Refs> {
    let mut refs = Refs::default();
    for (key, map) in [("before", &mut refs.before), ("since", &mut refs.since)] {
        for v in f.get(key) {
            let c = record::find(&ctx.root, v).map_err(|_| anyhow!("no such container {v}"))?;
            map.insert(v.clone(), c.created);
        }
    }
    if f.has("ancestor") {
        let store = ctx.store()?;
        for v in f.get("ancestor") {
            refs.ancestors
                .insert(v.clone(), store.resolve(v).ok().map(|i| i.id));
        }
    }
    for v in f.get("status") {
        if ![
            "created",
            "restarting",
            "running",
            "removing",
            "paused",
            "exited",
            "dead",
        ]
        .contains(&v.as_str())
        {
            bail!("Invalid filter 'status={v}'");
        }
    }
    for v in f.get("exited") {
        if v.parse::<i32>().is_err() {
            bail!("strconv.Atoi: parsing {v:?}: invalid syntax");
        }
    }
    for v in f.get("health") {
        if !["starting", "healthy", "unhealthy", "none"].contains(&v.as_str()) {
            bail!("Unrecognised filter value for health: {v}");
        }
    }
    Ok(refs)
}

/// The container's writable layer size (`upper/`), docker's SIZE column.
fn upper_size(root: &std::path::Path, r: &Record) -> u64 {
    fn walk(p: &std::path::Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path()),
                _ => e.metadata().map(|m| m.len()).unwrap_or(0),
            })
            .sum()
    }
    walk(&record::dir_of(root, &r.id).join("upper"))
}

/// docker's `stringutils.Ellipsis`: at most `max` characters, the last "…".
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// `2026-12-03 09:12:09 +0000 UTC`, Go's time.String() in UTC.
pub fn go_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                .to_string()
        })
        .unwrap_or_default()
}

/// One row as docker's formatter shows a container: every value a string.
fn row(
    ctx: &Context,
    r: &Record,
    x: &Extra,
    a: &PsArgs,
    sizes: Option<&BTreeMap<String, u64>>,
) -> Value {
    let trunc = |s: String| if a.no_trunc { s } else { ellipsis(&s, 15) };
    let size = sizes.map(|images| {
        let rw = upper_size(&ctx.root, r);
        let virt = rw + images.get(&r.image_id).copied().unwrap_or(0);
        format!("{} (virtual {})", human_size(rw), human_size(virt))
    });
    let state = r.live_state();
    let labels: Vec<String> = x.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if a.no_trunc { r.id.as_str() } else { r.short_id() },
        "Image": r.image,
        "Command": command_column(&r.command, a.no_trunc),
        "CreatedAt": go_time(&r.created),
        "RunningFor": format!("{} ago", human_duration(secs_since(&Some(r.created.clone())))),
        "Ports": if state == State::Running {
            crate::network::ports_column(&ctx.root, &r.id)
        } else {
            String::new()
        },
        "Status": status(&ctx.root, r),
        "Size": size.unwrap_or_default(),
        "Names": r.name,
        "Labels": labels.join(","),
        "Mounts": x.mounts.iter().map(|m| trunc(m.0.clone())).collect::<Vec<_>>().join(","),
        "Networks": x.networks.iter().map(|n| n.0.as_str()).collect::<Vec<_>>().join(","),
        "State": if pause::is_paused(&ctx.root, r) { "paused" } else { state_name(&state) },
        "LocalVolumes": x.mounts.iter().filter(|m| m.2).count().to_string(),
    })
}

pub fn run(ctx: &Context, a: PsArgs) -> Result<i32> {
    let f = match filters::parse(&a.filter, "ps", KNOWN_FILTERS)? {
        Ok(f) => f,
        Err(filters::BadFormat(code)) => return Ok(code),
    };
    let refs = resolve_refs(ctx, &f)?;
    let last = if a.latest { Some(1) } else { a.last };
    let show_all = a.all || last.is_some() || f.has("status");
    let mut rows: Vec<(Record, Extra)> = Vec::new();
    for r in record::list(&ctx.root)? {
        if !show_all && r.live_state() != State::Running {
            continue;
        }
        let x = extra(&ctx.root, &r);
        if f.labels_match(&x.labels) && f.matches(&[], |k, v| matches_one(ctx, &r, &x, k, v, &refs))
        {
            rows.push((r, x));
        }
    }
    if let Some(n) = last {
        rows.truncate(n);
    }
    if a.quiet {
        for (r, _) in &rows {
            println!("{}", if a.no_trunc { &r.id } else { r.short_id() });
        }
        return Ok(0);
    }
    let format = a.format.as_deref().filter(|f| !f.is_empty());
    let mut default = DEFAULT.to_string();
    if a.size {
        default.push_str("\\t{{.Size}}");
    }
    // The sizes walk each upper dir: only when asked for.
    let want_size = a.size
        || format.is_some_and(|f| {
            f.contains("Size") || f == "json" || f.contains("json .") || f.contains("{{.}}")
        });
    let sizes: Option<BTreeMap<String, u64>> = if want_size {
        Some(
            ctx.store()?
                .list()?
                .into_iter()
                .map(|i| (i.record.id, i.record.size))
                .collect(),
        )
    } else {
        None
    };
    let values: Vec<Value> = rows
        .iter()
        .map(|(r, x)| row(ctx, r, x, &a, sizes.as_ref()))
        .collect();
    let listing = Listing {
        default: &default,
        headers: LISTING_HEADERS,
    };
    let opts = Options {
        root_type: "*formatter.ContainerContext",
        ..Options::default()
    };
    print_list_with(format, &listing, &values, &opts).map_err(|e| e.ps_style())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_commands_are_cut_like_docker() {
        let c = vec![
            "sh".to_string(),
            "-c".into(),
            "while true; do sleep 1; done".into(),
        ];
        assert_eq!(super::command_column(&c, false), "\"sh -c 'while true; …\"");
        let e = vec!["sh".to_string(), "-c".into(), "exit 2".into()];
        assert_eq!(super::command_column(&e, false), "\"sh -c 'exit 2'\"");
        assert_eq!(super::command_column(&c[..1], false), "\"sh\"");
    }
}
