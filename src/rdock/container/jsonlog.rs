//! docker's json-file log: one `{"log":"...\n","stream":"stdout","time":"..."}`
//! line per line of output.
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// The streams a container writes, by index.
pub const STREAMS: [&str; 2] = ["stdout", "stderr"];

/// The monitor's end of the log: a json line per line of output; a partial
/// line waits for its end (or for [`Writer::flush`] when the run ends).
pub struct Writer {
    file: File,
    partial: [Vec<u8>; 2],
}

impl Writer {
    pub fn open(path: &Path) -> Result<Writer> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Writer {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Logs `data` written by the container on stream `s` (0 stdout, 1 stderr).
    pub fn write(&mut self, s: usize, data: &[u8]) {
        self.partial[s].extend_from_slice(data);
        while let Some(i) = self.partial[s].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial[s].drain(..=i).collect();
            self.line(s, &line);
        }
    }

    /// Logs what is left of unfinished lines.
    pub fn flush(&mut self) {
        for s in 0..STREAMS.len() {
            if !self.partial[s].is_empty() {
                let line = std::mem::take(&mut self.partial[s]);
                self.line(s, &line);
            }
        }
    }

    fn line(&mut self, s: usize, line: &[u8]) {
        let e = entry(STREAMS[s], &String::from_utf8_lossy(line));
        let _ = self.file.write_all(e.as_bytes());
    }
}

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

/// Parses one log line into (stream, text).
pub fn parse(line: &str) -> Option<(String, String)> {
    parse_timed(line).map(|(s, t, _)| (s, t))
}

/// Parses one log line into (stream, text, time).
pub fn parse_timed(line: &str) -> Option<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some((
        v["stream"].as_str()?.to_string(),
        v["log"].as_str()?.to_string(),
        v["time"].as_str().unwrap_or_default().to_string(),
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
