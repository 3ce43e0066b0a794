use anyhow::{Context, Result};
use std::os::unix::fs::MetadataExt;

use crate::cli::{Cli, List, ListFormat};
use runtime::state::StateDir;

pub fn run(cli: &Cli, l: &List) -> Result<()> {
    let mut rows = Vec::new();
    let entries = match std::fs::read_dir(&cli.root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return print(l, rows);
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", cli.root.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for id in names {
        // A container being created or deleted right now is skipped, as with runc.
        let Ok(dir) = StateDir::open(&cli.root, &id) else {
            continue;
        };
        let Ok(st) = dir.load() else { continue };
        let mut v = st.state_view(st.status(&dir));
        v.owner = std::fs::metadata(&dir.path)
            .map(|m| user_name(m.uid()))
            .unwrap_or_default();
        // The JSON text keeps runc's key order; the value serves the table.
        rows.push((serde_json::to_value(&v)?, serde_json::to_string(&v)?));
    }
    print(l, rows)
}

fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

fn print(l: &List, rows: Vec<(serde_json::Value, String)>) -> Result<()> {
    if l.quiet {
        for (r, _) in &rows {
            println!("{}", r["id"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    if l.format == ListFormat::Json {
        let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
        println!("[{}]", texts.join(","));
        return Ok(());
    }
    let mut table = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for (r, _) in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        table.push(vec![
            s("id"),
            r["pid"].to_string(),
            s("status"),
            s("bundle"),
            s("created"),
            s("owner"),
        ]);
    }
    print!("{}", tabulate(&table));
    Ok(())
}

/// Columns as Go's tabwriter lays them out for runc (minwidth 12, padding 3).
fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, |r| r.len());
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}
