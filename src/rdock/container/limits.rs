//! `--ulimit NAME=SOFT[:HARD]` (the container's `process.rlimits`) and
//! `--shm-size` (the size of its /dev/shm), with docker's flag errors.
use super::hostconfig::flag_error;
use super::mounts::ram_in_bytes;
use anyhow::Result;
use serde_json::{json, Value};

/// docker's ulimit names.
const NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// docker's default /dev/shm size.
pub const DEFAULT_SHM: i64 = 64 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Ulimit {
    pub name: String,
    /// -1 is unlimited.
    pub soft: i64,
    pub hard: i64,
}

/// Go's strconv.ParseInt message.
fn parse_int(s: &str) -> std::result::Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {s:?}: {why}")
    })
}

/// One `--ulimit` value (docker's units.ParseUlimit); a single value is
/// both soft and hard.
pub fn parse_ulimit(v: &str) -> Result<Ulimit> {
    let bad = |why: String| flag_error(v, "--ulimit", &why);
    let Some((name, limits)) = v.split_once('=') else {
        return Err(bad(format!("invalid ulimit argument: {v}")));
    };
    if !NAMES.contains(&name) {
        return Err(bad(format!("invalid ulimit type: {name}")));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [s] => {
            let s = parse_int(s).map_err(bad)?;
            (s, s)
        }
        [s, h] => {
            // docker parses the hard limit first.
            let h = parse_int(h).map_err(bad)?;
            (parse_int(s).map_err(bad)?, h)
        }
        _ => {
            return Err(bad(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            )))
        }
    };
    if hard != -1 && soft > hard {
        return Err(bad(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// All `--ulimit`s; a later one for the same name replaces the earlier.
pub fn parse_ulimits(v: &[String]) -> Result<Vec<Ulimit>> {
    let mut out: Vec<Ulimit> = Vec::new();
    for s in v {
        let u = parse_ulimit(s)?;
        match out.iter_mut().find(|x| x.name == u.name) {
            Some(slot) => *slot = u,
            None => out.push(u),
        }
    }
    Ok(out)
}

/// `--shm-size`: bytes, 0 (or absent) for docker's default.
pub fn parse_shm_size(v: Option<&str>) -> Result<Option<i64>> {
    let Some(v) = v else { return Ok(None) };
    let n = ram_in_bytes(v)
        .ok_or_else(|| flag_error(v, "--shm-size", &format!("invalid size: '{v}'")))?;
    Ok((n != 0).then_some(n))
}

/// The rlimits into `process.rlimits` (replacing the template's entry of
/// the same type); -1 is RLIM_INFINITY, as docker writes it.
pub fn apply_ulimits(process: &mut Value, ulimits: &[Ulimit]) {
    if ulimits.is_empty() {
        return;
    }
    if !process["rlimits"].is_array() {
        process["rlimits"] = json!([]);
    }
    let r = process["rlimits"].as_array_mut().expect("array");
    for u in ulimits {
        let ty = format!("RLIMIT_{}", u.name.to_ascii_uppercase());
        r.retain(|x| x["type"] != json!(ty));
        r.push(json!({ "type": ty, "soft": u.soft as u64, "hard": u.hard as u64 }));
    }
}

/// `HostConfig.Ulimits`.
pub fn inspect(ulimits: &[Ulimit]) -> Value {
    if ulimits.is_empty() {
        return Value::Null;
    }
    ulimits
        .iter()
        .map(|u| json!({ "Name": u.name, "Hard": u.hard, "Soft": u.soft }))
        .collect()
}

/// Sets the size of the /dev/shm tmpfs of the spec (bytes, as docker).
pub fn apply_shm_size(mounts: &mut [Value], size: i64) {
    for m in mounts
        .iter_mut()
        .filter(|m| m["destination"] == "/dev/shm" && m["type"] == "tmpfs")
    {
        if let Some(o) = m["options"].as_array_mut() {
            o.retain(|x| !x.as_str().is_some_and(|s| s.starts_with("size=")));
            o.push(json!(format!("size={size}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_parse_like_docker() {
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
        let u = parse_ulimit("nofile=1024").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 1024));
        assert_eq!(parse_ulimit("core=-1").unwrap().hard, -1);
        let e = |v: &str| parse_ulimit(v).unwrap_err().to_string();
        assert_eq!(e("nofile=2048:1024"), "invalid argument \"nofile=2048:1024\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 2048 > 1024");
        assert_eq!(e("nofile=abc"), "invalid argument \"nofile=abc\" for \"--ulimit\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax");
        assert_eq!(
            e("foo=1"),
            "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"
        );
        assert_eq!(
            e("nofile"),
            "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"
        );
        assert!(e("nofile=1:2:3").ends_with("can only have up to two, `soft[:hard]`"));
        let mut p = json!({ "rlimits": [{ "type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024 }] });
        apply_ulimits(
            &mut p,
            &parse_ulimits(&["nofile=10:20".into(), "core=-1".into()]).unwrap(),
        );
        assert_eq!(
            p["rlimits"],
            json!([{ "type": "RLIMIT_NOFILE", "soft": 10, "hard": 20 },
                { "type": "RLIMIT_CORE", "soft": u64::MAX, "hard": u64::MAX }])
        );
    }

    #[test]
    fn shm_size() {
        assert_eq!(parse_shm_size(Some("1m")).unwrap(), Some(1 << 20));
        assert_eq!(parse_shm_size(Some("0")).unwrap(), None);
        assert_eq!(
            parse_shm_size(Some("1x")).unwrap_err().to_string(),
            "invalid argument \"1x\" for \"--shm-size\" flag: invalid size: '1x'"
        );
        assert!(parse_shm_size(Some("-1")).is_err());
    }
}
