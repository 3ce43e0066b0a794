//! `--log-driver json-file|local|none` and `--log-opt max-size=… max-file=…`:
//! which log the monitor keeps and when it rotates it. Both `json-file`
//! and `local` are written as docker's json-file lines (rdock reads them
//! back itself; `local` only changes the defaults: 20m, 5 files); `none`
//! keeps nothing, and `logs` says so.
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// docker's `HostConfig.LogConfig`, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogConfig {
    /// json-file, local or none.
    #[serde(rename = "Type")]
    pub driver: String,
    /// The `--log-opt`s as given.
    #[serde(rename = "Config")]
    pub opts: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: "json-file".into(),
            opts: BTreeMap::new(),
        }
    }
}

/// When the monitor rotates the log: past `max_size` bytes (None: never),
/// keeping `max_files` files in all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    pub max_size: Option<u64>,
    pub max_files: u32,
}

const JSON_FILE_OPTS: &[&str] = &[
    "max-size",
    "max-file",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];
const LOCAL_OPTS: &[&str] = &["max-size", "max-file", "compress"];

impl LogConfig {
    /// Checks the flags with docker's messages (all at create: docker finds
    /// a bad size only when it starts the container).
    pub fn parse(driver: &str, opts: &[String]) -> Result<LogConfig> {
        let allowed: &[&str] = match driver {
            "json-file" => JSON_FILE_OPTS,
            "local" => LOCAL_OPTS,
            "none" => &[],
            d => bail!("error looking up logging plugin {d}: plugin \"{d}\" not found"),
        };
        let mut map = BTreeMap::new();
        for o in opts {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            if !allowed.contains(&k) {
                bail!("unknown log opt '{k}' for {driver} log driver");
            }
            map.insert(k.to_string(), v.to_string());
        }
        let c = LogConfig {
            driver: driver.into(),
            opts: map,
        };
        c.rotation()?;
        Ok(c)
    }

    /// The monitor keeps no log (`--log-driver none`).
    pub fn is_none(&self) -> bool {
        self.driver == "none"
    }

    pub fn rotation(&self) -> Result<Rotation> {
        let local = self.driver == "local";
        let max_size = match self.opts.get("max-size") {
            Some(s) => match parse_size(s) {
                Some(n) if n > 0 => Some(n),
                Some(_) => {
                    bail!("failed to initialize logging driver: max-size must be a positive number")
                }
                None => bail!("failed to initialize logging driver: invalid size: '{s}'"),
            },
            None if local => Some(20_000_000),
            None => None,
        };
        let max_files = match self.opts.get("max-file") {
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n >= 1 => n.min(u32::MAX as i64) as u32,
                Ok(_) => bail!("failed to initialize logging driver: max-file cannot be less than 1"),
                Err(_) => bail!("failed to initialize logging driver: strconv.Atoi: parsing \"{s}\": invalid syntax"),
            },
            None if local => 5,
            None => 1,
        };
        Ok(Rotation {
            max_size,
            max_files,
        })
    }
}

/// docker's FromHumanSize, which json-file uses: a number, an optional
/// space, an optional k, m, g, t or p (decimal multiples: `1k` is 1000
/// bytes), then an optional `i` and `b`.
fn parse_size(s: &str) -> Option<u64> {
    let t = s.to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1e3),
        'm' => (&t[..t.len() - 1], 1e6),
        'g' => (&t[..t.len() - 1], 1e9),
        't' => (&t[..t.len() - 1], 1e12),
        'p' => (&t[..t.len() - 1], 1e15),
        _ => (t, 1.0),
    };
    let num = num.strip_suffix(' ').unwrap_or(num);
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    Some((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(driver: &str, opts: &[&str]) -> Result<LogConfig> {
        LogConfig::parse(
            driver,
            &opts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    fn err(driver: &str, opts: &[&str]) -> String {
        format!("{:#}", parse(driver, opts).unwrap_err())
    }

    #[test]
    fn sizes_read_as_docker_reads_them() {
        assert_eq!(parse_size("1k"), Some(1000));
        assert_eq!(parse_size("10m"), Some(10_000_000));
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        assert_eq!(parse_size("1.5k"), Some(1500));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1x"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn bad_drivers_and_opts_get_docker_messages() {
        assert_eq!(
            err("bogus", &[]),
            "error looking up logging plugin bogus: plugin \"bogus\" not found"
        );
        assert_eq!(
            err("json-file", &["bogus=1"]),
            "unknown log opt 'bogus' for json-file log driver"
        );
        assert_eq!(
            err("local", &["tag=x"]),
            "unknown log opt 'tag' for local log driver"
        );
        assert_eq!(
            err("json-file", &["max-size=1x"]),
            "failed to initialize logging driver: invalid size: '1x'"
        );
        assert_eq!(
            err("json-file", &["max-size"]),
            "failed to initialize logging driver: invalid size: ''"
        );
        let r = parse("json-file", &["max-size=1k", "max-file=2"])
            .unwrap()
            .rotation()
            .unwrap();
        assert_eq!((r.max_size, r.max_files), (Some(1000), 2));
        let r = parse("json-file", &["max-file=2"])
            .unwrap()
            .rotation()
            .unwrap();
        assert_eq!((r.max_size, r.max_files), (None, 2));
        let r = parse("local", &[]).unwrap().rotation().unwrap();
        assert_eq!((r.max_size, r.max_files), (Some(20_000_000), 5));
    }
}
