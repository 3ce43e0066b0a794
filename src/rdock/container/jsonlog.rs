//! docker's json-file log: one `{"log":"...\n","stream":"stdout","time":"..."}`
//! line per line of output.
use super::logdriver::Rotation;
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The streams a container writes, by index.
pub const STREAMS: [&str; 2] = ["stdout", "stderr"];

/// The monitor's end of the log: a json line per line of output; a partial
/// line waits for its end (or for [`Writer::flush`] when the run ends).
/// Rotated as docker's json-file: once the file holds `max_size` bytes,
/// the next line goes to a new one, the old ones shift to `.1`, `.2`...,
/// `max_files` in all.
pub struct Writer {
    /// None with `--log-driver none`: output is only passed on.
    file: Option<File>,
    path: PathBuf,
    size: u64,
    rotation: Rotation,
    partial: [Vec<u8>; 2],
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// `LOG.N`, the N-th rotated file of the log at `path`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// The log's files, oldest first: `LOG.N` ... `LOG.1`, `LOG`.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = (1..)
        .map(|n| rotated(path, n))
        .take_while(|p| p.exists())
        .collect();
    out.reverse();
    out.push(path.to_path_buf());
    out
}

impl Writer {
    /// The log at `path`; `rotation` None keeps no log.
    pub fn open(path: &Path, rotation: Option<Rotation>) -> Result<Writer> {
        let file = match rotation {
            Some(_) => Some(open_append(path)?),
            None => None,
        };
        let size = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        Ok(Writer {
            file,
            path: path.to_path_buf(),
            size,
            rotation: rotation.unwrap_or(Rotation {
                max_size: None,
                max_files: 1,
            }),
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
        if self.file.is_none() {
            return;
        }
        let e = entry(STREAMS[s], &String::from_utf8_lossy(line));
        if let Some(max) = self.rotation.max_size {
            if self.size >= max {
                if let Err(err) = self.rotate() {
                    log::warn!("rotating {}: {err:#}", self.path.display());
                }
            }
        }
        if let Some(f) = &mut self.file {
            if f.write_all(e.as_bytes()).is_ok() {
                self.size += e.len() as u64;
            }
        }
    }

    /// `LOG.(k)` becomes `LOG.(k+1)`, the oldest beyond `max_files` goes,
    /// `LOG` becomes `LOG.1` and a new `LOG` is begun; with one file, it
    /// is emptied.
    fn rotate(&mut self) -> Result<()> {
        let keep = self.rotation.max_files;
        if keep <= 1 {
            if let Some(f) = &self.file {
                f.set_len(0)
                    .with_context(|| format!("truncating {}", self.path.display()))?;
            }
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(rotated(&self.path, keep - 1));
        for n in (1..keep - 1).rev() {
            let _ = std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1));
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))
            .with_context(|| format!("renaming {}", self.path.display()))?;
        self.file = Some(open_append(&self.path)?);
        self.size = 0;
        Ok(())
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
    fn the_log_rotates_past_max_size_keeping_max_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c-json.log");
        let rot = super::Rotation {
            max_size: Some(300),
            max_files: 3,
        };
        let mut w = super::Writer::open(&p, Some(rot)).unwrap();
        for i in 0..40 {
            w.write(0, format!("line {i:02}\n").as_bytes());
        }
        let files = super::files(&p);
        assert_eq!(files.len(), 3, "{files:?}");
        let mut lines = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            // A file is closed once it holds max_size bytes or more.
            assert!(
                text.len() < 300 + 40,
                "{} has {} bytes",
                f.display(),
                text.len()
            );
            lines.extend(text.lines().filter_map(super::parse).map(|(_, t)| t));
        }
        // The newest lines survive, in order, across the files.
        assert_eq!(lines.last().unwrap(), "line 39\n");
        let first: usize = lines[0][5..7].parse().unwrap();
        let want: Vec<String> = (first..40).map(|i| format!("line {i:02}\n")).collect();
        assert_eq!(lines, want);
    }

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
