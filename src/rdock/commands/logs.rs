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

pub fn run(ctx: &Context, a: LogsArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    let show = Show {
        timestamps: a.timestamps,
        since: a.since.as_deref().map(parse_since).transpose()?,
    };
    let path = record::dir_of(&ctx.root, &r.id).join(format!("{}-json.log", r.id));
    let tail = match a.tail.as_deref() {
        None | Some("all") => None,
        Some(n) => match n.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => bail!("invalid value for --tail: {n}"),
        },
    };
    let Ok(f) = std::fs::File::open(&path) else {
        return Ok(0);
    };
    let mut reader = BufReader::new(f);
    let mut lines = Vec::new();
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
        if !running && n == 0 {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
