//! `rdock logs [-f] [-t] [--tail N|all] [--since T] CONTAINER`
use super::Context;
use crate::cli::LogsArgs;
use crate::container::{jsonlog, record};
use anyhow::{bail, Result};
use std::io::{BufRead, BufReader, Write};

/// How the lines are shown: timestamps, and nothing before `since`.
struct Show {
    timestamps: bool,
    since: Option<chrono::DateTime<chrono::Utc>>,
}

fn emit(line: &str, show: &Show) {
    if let Some((stream, text, time)) = jsonlog::parse_timed(line) {
        let t = chrono::DateTime::parse_from_rfc3339(&time).ok();
        if let (Some(since), Some(t)) = (show.since, t) {
            if t < since {
                return;
            }
        }
        let text = if show.timestamps {
            format!("{time} {text}")
        } else {
            text
        };
        if stream == "stderr" {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut o = std::io::stdout();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }
}

/// `--since`: RFC 3339, unix seconds, or a duration ago (`10s`, `5m`, `2h`).
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return chrono::DateTime::from_timestamp(secs as i64, 0)
            .ok_or_else(|| anyhow::anyhow!("invalid value for \"since\": {s}"));
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid value for \"since\": {s}"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("invalid value for \"since\": {s}"),
    };
    Ok(chrono::Utc::now() - chrono::Duration::seconds(secs))
}

/// Whether the file we read is no longer the log at `path` (rotated).
fn rotated_away(f: &std::fs::File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() != b.ino(),
        _ => false,
    }
}

pub fn run(ctx: &Context, a: LogsArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if r.log_config.is_none() {
        bail!("configured logging driver does not support reading");
    }
    let show = Show {
        timestamps: a.timestamps,
        since: a.since.as_deref().map(parse_since).transpose()?,
    };
    let path = r.log_path(&ctx.root);
    let tail = match a.tail.as_deref() {
        None | Some("all") => None,
        Some(n) => match n.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => bail!("invalid value for --tail: {n}"),
        },
    };
    // The rotated files first (oldest first), then the current one, which
    // `-f` goes on reading.
    let mut lines = Vec::new();
    for old in jsonlog::files(&path).iter().filter(|p| **p != path) {
        if let Ok(text) = std::fs::read_to_string(old) {
            lines.extend(text.lines().map(|l| format!("{l}\n")));
        }
    }
    let Ok(f) = std::fs::File::open(&path) else {
        lines.iter().for_each(|l| emit(l.trim_end(), &show));
        return Ok(0);
    };
    let mut reader = BufReader::new(f);
    let mut buf = String::new();
    while reader.read_line(&mut buf)? > 0 {
        if buf.ends_with('\n') {
            lines.push(std::mem::take(&mut buf));
        } else {
            break;
        }
    }
    let skip = tail.map_or(0, |n| lines.len().saturating_sub(n));
    lines[skip..].iter().for_each(|l| emit(l.trim_end(), &show));
    if !a.follow {
        return Ok(0);
    }
    loop {
        let n = reader.read_line(&mut buf)?;
        if n > 0 && buf.ends_with('\n') {
            emit(buf.trim_end(), &show);
            buf.clear();
            continue;
        }
        let running = record::Record::load(&ctx.root, &r.id)
            .map(|r| r.is_up())
            .unwrap_or(false);
        if n == 0 && rotated_away(reader.get_ref(), &path) {
            // The monitor rotated the log: on to the new file.
            if let Ok(f) = std::fs::File::open(&path) {
                reader = BufReader::new(f);
                continue;
            }
        }
        if !running && n == 0 {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
