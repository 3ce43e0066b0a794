//! `rdock history [--no-trunc] [-q] IMAGE`: the image config's history,
//! newest first, with the size of the layer each step made.
use super::Context;
use crate::cli::HistoryArgs;
use crate::format::{human_duration, human_size, print_table};
use anyhow::Result;
use image::store::short_id;
use serde_json::Value;

/// docker's CREATED BY cut: 45 characters, the last one an ellipsis.
fn created_by(s: &str, full: bool) -> String {
    let s = s.replace('\t', " ");
    if full || s.chars().count() <= 45 {
        return s;
    }
    format!("{}…", s.chars().take(44).collect::<String>())
}

pub fn run(ctx: &Context, a: HistoryArgs) -> Result<i32> {
    let store = ctx.store()?;
    let img = match store.find(&a.image) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("Error response from daemon: {e:#}");
            return Ok(1);
        }
    };
    let config: Value = serde_json::from_slice(&store.read_blob(&img.id)?)?;
    let history = config["history"].as_array().cloned().unwrap_or_default();
    let mut sizes = img.layers.iter().map(|l| l.unpacked_size);
    // (created, created by, size, comment), oldest first.
    let mut rows: Vec<(Option<String>, String, u64, String)> = history
        .iter()
        .map(|h| {
            let empty = h["empty_layer"].as_bool().unwrap_or(false);
            (
                h["created"].as_str().map(String::from),
                h["created_by"].as_str().unwrap_or_default().to_string(),
                if empty { 0 } else { sizes.next().unwrap_or(0) },
                h["comment"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    if rows.is_empty() {
        // No history recorded: one row per layer, as docker shows them.
        let created = config["created"].as_str().map(String::from);
        rows = sizes
            .map(|s| (created.clone(), String::new(), s, String::new()))
            .collect();
    }
    rows.reverse();
    let id = if a.no_trunc {
        img.id.clone()
    } else {
        short_id(&img.id)
    };
    let ids: Vec<String> = (0..rows.len())
        .map(|i| {
            if i == 0 {
                id.clone()
            } else {
                "<missing>".into()
            }
        })
        .collect();
    if a.quiet {
        for i in ids {
            println!("{i}");
        }
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .zip(ids)
        .map(|((created, by, size, comment), id)| {
            let created = created
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(&c).ok())
                .map(|t| {
                    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds();
                    format!("{} ago", human_duration(secs))
                })
                .unwrap_or_else(|| "N/A".into());
            vec![
                id,
                created,
                created_by(&by, a.no_trunc),
                human_size(size),
                comment,
            ]
        })
        .collect();
    print_table(
        &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        &table,
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn created_by_is_cut_like_docker() {
        let long = "/bin/sh -c #(nop) ADD file:6d1d3d1cd8b4a8e1d0bc3b4a2e9f in / ";
        let cut = super::created_by(long, false);
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
        assert_eq!(super::created_by("a\tb", false), "a b");
        assert_eq!(super::created_by(long, true), long);
    }
}
