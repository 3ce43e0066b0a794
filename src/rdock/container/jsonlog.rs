//! docker's json-file log: one `{"log":"...\n","stream":"stdout","time":"..."}`
//! line per line of output.
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

pub fn entry(stream: &str, line: &str) -> String {
    let v = serde_json::json!({
        "log": line, "stream": stream, "time": super::record::now()
    });
    format!("{v}\n")
}

pub fn append(path: &Path, stream: &str, line: &str) -> Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(entry(stream, line).as_bytes())?;
    Ok(())
}

fn pump(src: impl Read, stream: &'static str, out: Arc<Mutex<File>>) {
    let mut r = BufReader::new(src);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                if let Ok(mut f) = out.lock() {
                    let _ = f.write_all(entry(stream, &line).as_bytes());
                }
            }
        }
    }
}

/// Runs `cmd` with stdout and stderr into the log at `path`; stdin is a
/// pipe held open for `-i` (so a shell waits), else /dev/null.
pub fn run_logged(mut cmd: Command, path: &Path, interactive: bool) -> Result<i32> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let out = Arc::new(Mutex::new(f));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if interactive {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().context("starting the runtime")?;
    let _stdin = child.stdin.take();
    let so = child.stdout.take().expect("piped");
    let se = child.stderr.take().expect("piped");
    let (o1, o2) = (out.clone(), out.clone());
    let t1 = std::thread::spawn(move || pump(so, "stdout", o1));
    let t2 = std::thread::spawn(move || pump(se, "stderr", o2));
    let st = child.wait()?;
    // The container's children may hold the pipes; the runtime is gone.
    let _ = t1.join();
    let _ = t2.join();
    Ok(super::exit_code(st))
}

/// Parses one log line into (stream, text).
pub fn parse(line: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some((
        v["stream"].as_str()?.to_string(),
        v["log"].as_str()?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_round_trip_in_docker_format() {
        let l = super::entry("stdout", "hi \"there\"\n");
        assert!(l.starts_with("{\"log\":\"hi \\\"there\\\"\\n\""), "{l}");
        assert_eq!(
            super::parse(l.trim()).unwrap(),
            ("stdout".into(), "hi \"there\"\n".into())
        );
    }
}
