//! `rdock ps [-a] [-q] [-f status=|name=|id=] [--no-trunc]`
use super::Context;
use crate::rdock::cli::PsArgs;
use crate::rdock::container::record::{self, Record, State};
use crate::rdock::format::{human_duration, print_table};
use anyhow::{bail, Result};

fn secs_since(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(0)
}

/// docker's STATUS column.
pub fn status(r: &Record) -> String {
    match r.live_state() {
        State::Created => "Created".into(),
        State::Running => format!("Up {}", human_duration(secs_since(&r.started))),
        State::Exited => format!(
            "Exited ({}) {} ago",
            r.exit_code.unwrap_or(255),
            human_duration(secs_since(&r.finished.clone().or(r.started.clone())))
        ),
    }
}

pub fn state_name(s: &State) -> &'static str {
    match s {
        State::Created => "created",
        State::Running => "running",
        State::Exited => "exited",
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

fn matches(r: &Record, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| match k.as_str() {
        "status" => state_name(&r.live_state()) == v,
        "name" => r.name.contains(v.as_str()),
        "id" => r.id.starts_with(v.as_str()),
        _ => true,
    })
}

pub fn run(ctx: &Context, a: PsArgs) -> Result<i32> {
    let mut filters = Vec::new();
    for f in &a.filter {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        if !["status", "name", "id"].contains(&k) {
            bail!("invalid filter '{k}'");
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let show_all = a.all || filters.iter().any(|(k, _)| k == "status");
    let rows: Vec<Record> = record::list(&ctx.root)?
        .into_iter()
        .filter(|r| show_all || r.live_state() == State::Running)
        .filter(|r| matches(r, &filters))
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", if a.no_trunc { &r.id } else { r.short_id() });
        }
        return Ok(0);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
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
                status(r),
                if r.live_state() == State::Running {
                    crate::rdock::network::ports_column(&ctx.root, &r.id)
                } else {
                    String::new()
                },
                r.name.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ],
        &table,
    );
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
