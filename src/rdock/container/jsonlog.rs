//! docker's json-file log: one `{"log":"...\n","stream":"stdout","time":"..."}`
//! line per line of output.
use anyhow::Result;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

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
