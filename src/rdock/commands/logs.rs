//! `rdock logs [-f] [--tail N] CONTAINER`
use super::Context;
use crate::rdock::cli::LogsArgs;
use crate::rdock::container::{jsonlog, record, record::State};
use anyhow::{bail, Result};
use std::io::{BufRead, BufReader, Write};

fn emit(line: &str) {
    if let Some((stream, text)) = jsonlog::parse(line) {
        if stream == "stderr" {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut o = std::io::stdout();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }
}

pub fn run(ctx: &Context, a: LogsArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
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
    lines[skip..].iter().for_each(|l| emit(l.trim_end()));
    if !a.follow {
        return Ok(0);
    }
    loop {
        let n = reader.read_line(&mut buf)?;
        if n > 0 && buf.ends_with('\n') {
            emit(buf.trim_end());
            buf.clear();
            continue;
        }
        let running = record::Record::load(&ctx.root, &r.id)
            .map(|r| r.live_state() == State::Running)
            .unwrap_or(false);
        if !running && n == 0 {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
