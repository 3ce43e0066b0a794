//! `rdock ps [-a] [-q] [-f status=|name=|id=|ancestor=]... [--no-trunc] [-n N] [--latest] [-s]`
use super::Context;
use crate::cli::PsArgs;
use crate::container::pause;
use crate::container::record::{self, Record, State};
use crate::format::{human_duration, print_table};
use anyhow::{bail, Result};

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
                " (Paused)".to_string()
            } else {
                crate::container::health::Health::load(&record::dir_of(root, &r.id))
                    .map(|h| h.ps_suffix())
                    .unwrap_or_default()
            }
        ),
        State::Restarting => format!(
            "Restarting ({}) {} ago",
            r.exit_code.unwrap_or(255),
            human_duration(secs_since(&r.finished))
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
        State::Restarting => "restarting",
        State::Exited => "exited",
        State::Dead => "dead",
    }
}

/// docker's COMMAND column: quoted, cut at 20 characters unless `full`.
pub fn command_column(cmd: &[String], full: bool) -> String {
    let s = cmd.join(" ");
    if full || s.chars().count() <= 20 {
        return format!("\"{s}\"");
    }
    let cut: String = s.chars().take(19).collect();
    format!("\"{cut}…\"")
}

fn matches_one(root: &std::path::Path, r: &Record, k: &str, v: &str) -> bool {
    match k {
        "status" => match v {
            "paused" => pause::is_paused(root, r),
            "running" => r.live_state() == State::Running && !pause::is_paused(root, r),
            _ => state_name(&r.live_state()) == v,
        },
        "name" => r.name.contains(v.trim_start_matches('/')),
        "id" => r.id.starts_with(v),
        "ancestor" => {
            let bare = v.strip_prefix("sha256:").unwrap_or(v);
            r.image == v
                || r.image == format!("{v}:latest")
                || v == format!("{}:latest", r.image)
                || (bare.len() >= 4 && r.image_id.trim_start_matches("sha256:").starts_with(bare))
        }
        _ => true,
    }
}

/// docker's rule: filters with the same key OR, different keys AND.
fn matches(root: &std::path::Path, r: &Record, filters: &[(String, String)]) -> bool {
    let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    keys.iter().all(|k| {
        filters
            .iter()
            .filter(|(fk, _)| fk == k)
            .any(|(_, v)| matches_one(root, r, k, v))
    })
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

pub fn run(ctx: &Context, a: PsArgs) -> Result<i32> {
    let mut filters = Vec::new();
    for f in &a.filter {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        if !["status", "name", "id", "ancestor"].contains(&k) {
            bail!("invalid filter '{k}'");
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let last = if a.latest { Some(1) } else { a.last };
    let show_all = a.all || last.is_some() || filters.iter().any(|(k, _)| k == "status");
    let mut rows: Vec<Record> = record::list(&ctx.root)?
        .into_iter()
        .filter(|r| show_all || r.is_up())
        .filter(|r| matches(&ctx.root, r, &filters))
        .collect();
    if let Some(n) = last {
        rows.truncate(n);
    }
    if a.quiet {
        for r in &rows {
            println!("{}", if a.no_trunc { &r.id } else { r.short_id() });
        }
        return Ok(0);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                if a.no_trunc {
                    r.id.clone()
                } else {
                    r.short_id().to_string()
                },
                r.image.clone(),
                command_column(&r.command, a.no_trunc),
                format!(
                    "{} ago",
                    human_duration(secs_since(&Some(r.created.clone())))
                ),
                status(&ctx.root, r),
                if r.live_state() == State::Running {
                    crate::network::ports_column(&ctx.root, &r.id)
                } else {
                    String::new()
                },
                r.name.clone(),
            ];
            if a.size {
                row.push(crate::format::human_size(upper_size(&ctx.root, r)));
            }
            row
        })
        .collect();
    let mut head = vec![
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    if a.size {
        head.push("SIZE");
    }
    print_table(&head, &table);
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
        assert_eq!(super::command_column(&c, false), "\"sh -c while true; d…\"");
        assert_eq!(super::command_column(&c[..1], false), "\"sh\"");
    }
}
