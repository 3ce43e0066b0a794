//! `--mount type=bind|volume|tmpfs,...`: docker's grammar (a CSV line of
//! `key=value` fields, `readonly`/`volume-nocopy` alone), its flag errors
//! ([`parse`]), its daemon checks ([`Mount::check`]) and the OCI mounts.
use super::hostconfig::{flag_error, DaemonError};
use crate::container::names;
use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs`, or what was given (refused by `check`).
    pub kind: String,
    pub source: String,
    pub target: String,
    pub readonly: bool,
    /// `bind-propagation` (default rprivate).
    pub propagation: Option<String>,
    /// `bind-nonrecursive`: `bind` rather than `rbind`.
    pub nonrecursive: bool,
    /// Some when a `bind-*` option was given.
    bind_opts: bool,
    volume_opts: bool,
    tmpfs_opts: bool,
    pub nocopy: bool,
    pub volume_driver: Option<String>,
    pub volume_opt: Vec<String>,
    pub tmpfs_size: Option<i64>,
    pub tmpfs_mode: Option<u32>,
}

/// Go's strconv.ParseBool.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker's units.RAMInBytes (`^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`,
/// binary multiples): `1.5g`, `64m`, `1024`, `10kb`.
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let t = s.strip_suffix(['b', 'B']).unwrap_or(s);
    let t = t.strip_suffix(['i', 'I']).unwrap_or(t);
    let (t, mult) = match t.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let num = t.strip_suffix(' ').unwrap_or(t);
    let well_formed = num
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    Some((v * mult as f64) as i64)
}

/// Splits a CSV line as Go's encoding/csv does for one record (quotes
/// around a field, `""` inside quotes).
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            }
            c => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        anyhow::bail!("extraneous or missing \" in quoted-field");
    }
    out.push(cur);
    Ok(out)
}

/// One `--mount` value; errors as docker's flag errors.
pub fn parse(value: &str) -> Result<Mount> {
    let bad = |why: String| flag_error(value, "--mount", &why);
    let fields = csv_fields(value).map_err(|e| bad(e.to_string()))?;
    let mut m = Mount {
        kind: "volume".into(),
        ..Default::default()
    };
    for field in fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => m.readonly = true,
                "volume-nocopy" => {
                    m.nocopy = true;
                    m.volume_opts = true;
                }
                _ => {
                    return Err(bad(format!(
                        "invalid field '{field}' must be a key=value pair"
                    )))
                }
            }
            continue;
        };
        let boolean =
            |v: &str| parse_bool(v).ok_or_else(|| bad(format!("invalid value for {key}: {v}")));
        match key.as_str() {
            "type" => m.kind = val.to_ascii_lowercase(),
            "source" | "src" => m.source = val,
            "target" | "dst" | "destination" => m.target = val,
            "readonly" | "ro" => m.readonly = boolean(&val)?,
            "consistency" => {}
            "bind-propagation" => {
                m.bind_opts = true;
                m.propagation = Some(val.to_ascii_lowercase());
            }
            "bind-nonrecursive" => {
                m.bind_opts = true;
                m.nonrecursive = boolean(&val)?;
            }
            "volume-driver" => {
                m.volume_opts = true;
                m.volume_driver = Some(val);
            }
            "volume-opt" => {
                m.volume_opts = true;
                m.volume_opt.push(val);
            }
            "volume-label" => m.volume_opts = true,
            "volume-nocopy" => {
                m.volume_opts = true;
                m.nocopy = parse_bool(&val)
                    .ok_or_else(|| bad(format!("invalid value for volume-nocopy: {val}")))?;
            }
            "tmpfs-size" => {
                m.tmpfs_opts = true;
                m.tmpfs_size = Some(
                    ram_in_bytes(&val)
                        .ok_or_else(|| bad(format!("invalid value for {key}: {val}")))?,
                );
            }
            "tmpfs-mode" => {
                m.tmpfs_opts = true;
                m.tmpfs_mode = Some(
                    u32::from_str_radix(&val, 8)
                        .map_err(|_| bad(format!("invalid value for {key}: {val}")))?,
                );
            }
            _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if m.kind.is_empty() {
        return Err(bad("type is required".into()));
    }
    if m.target.is_empty() {
        return Err(bad("target is required".into()));
    }
    for (given, what, kind) in [
        (m.volume_opts, "volume", "volume"),
        (m.bind_opts, "bind", "bind"),
        (m.tmpfs_opts, "tmpfs", "tmpfs"),
    ] {
        if given && m.kind != kind {
            return Err(bad(format!(
                "cannot mix '{what}-*' options with mount type '{}'",
                m.kind
            )));
        }
    }
    Ok(m)
}

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

impl Mount {
    /// docker's daemon checks (`invalid mount config for type ...`).
    pub fn check(&self) -> Result<()> {
        let err = |why: String| -> anyhow::Error {
            DaemonError(format!(
                "invalid mount config for type \"{}\": {why}",
                self.kind
            ))
            .into()
        };
        if self.target == "/" {
            return Err(err("invalid specification: destination can't be '/'".into()));
        }
        if !self.target.starts_with('/') {
            return Err(err(format!(
                "invalid mount path: '{}' mount path must be absolute",
                self.target
            )));
        }
        match self.kind.as_str() {
            "bind" => {
                if self.source.is_empty() {
                    return Err(err("field Source must not be empty".into()));
                }
                if let Some(p) = &self.propagation {
                    if !PROPAGATIONS.contains(&p.as_str()) {
                        return Err(err(format!("invalid propagation mode: {p}")));
                    }
                }
                if !self.source.starts_with('/') {
                    return Err(err(format!(
                        "invalid mount path: '{}' mount path must be absolute",
                        self.source
                    )));
                }
                if std::fs::metadata(&self.source).is_err() {
                    return Err(err(format!(
                        "bind source path does not exist: {}",
                        self.source
                    )));
                }
                self.check_propagation()
            }
            "volume" => {
                if self.source.is_empty() && self.readonly {
                    return Err(err(
                        "must not set ReadOnly mode when using anonymous volumes".into(),
                    ));
                }
                if let Some(d) = self.volume_driver.as_deref().filter(|d| *d != "local") {
                    return Err(DaemonError(format!(
                        "create {}: error looking up volume plugin {d}: plugin \"{d}\" not found",
                        self.source
                    ))
                    .into());
                }
                if !self.volume_opt.is_empty() {
                    // Never mount something weaker or other than asked.
                    return Err(DaemonError(format!(
                        "create {}: volume-opt is not supported by rdock's local volumes",
                        self.source
                    ))
                    .into());
                }
                if !self.source.is_empty() {
                    names::check_volume_name(&self.source)
                        .map_err(|e| anyhow!(DaemonError(e.to_string())))?;
                }
                Ok(())
            }
            "tmpfs" => {
                if !self.source.is_empty() {
                    return Err(err("field Source must not be specified".into()));
                }
                Ok(())
            }
            _ => Err(err("mount type unknown".into())),
        }
    }

    /// docker refuses shared and slave propagation from a mount that is not
    /// shared (or slave) on the host: the container would silently get less.
    fn check_propagation(&self) -> Result<()> {
        let Some(p) = self.propagation.as_deref() else {
            return Ok(());
        };
        let need_shared = p.ends_with("shared");
        if !need_shared && !p.ends_with("slave") {
            return Ok(());
        }
        let src =
            std::fs::canonicalize(&self.source).unwrap_or_else(|_| self.source.clone().into());
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut best: Option<(String, String)> = None;
        for l in info.lines() {
            let f: Vec<&str> = l.split(' ').collect();
            if f.len() < 7 {
                continue;
            }
            let mp = unescape(f[4]);
            let under = src.starts_with(&mp);
            if under && best.as_ref().is_none_or(|(b, _)| mp.len() >= b.len()) {
                let sep = f.iter().position(|x| *x == "-").unwrap_or(f.len());
                best = Some((mp, f[6..sep].join(" ")));
            }
        }
        let (mp, optional) = best.unwrap_or_else(|| ("/".into(), String::new()));
        let shared = optional.contains("shared:");
        let slave = optional.contains("master:");
        if need_shared && !shared {
            return Err(DaemonError(format!(
                "path {} is mounted on {mp} but it is not a shared mount",
                self.source
            ))
            .into());
        }
        if !need_shared && !shared && !slave {
            return Err(DaemonError(format!(
                "path {} is mounted on {mp} but it is not a shared or slave mount",
                self.source
            ))
            .into());
        }
        Ok(())
    }

    /// The OCI mount for a bind or tmpfs (volumes go through `-v`'s path).
    pub fn oci(&self) -> Option<Value> {
        match self.kind.as_str() {
            "bind" => {
                let mut o = vec![if self.nonrecursive { "bind" } else { "rbind" }.to_string()];
                o.push(
                    self.propagation
                        .clone()
                        .unwrap_or_else(|| "rprivate".into()),
                );
                if self.readonly {
                    o.push("ro".into());
                }
                Some(json!({ "destination": self.target, "type": "bind",
                    "source": self.source, "options": o }))
            }
            "tmpfs" => Some(json!({ "destination": self.target, "type": "tmpfs",
                "source": "tmpfs", "options": self.tmpfs_options() })),
            _ => None,
        }
    }

    /// docker's tmpfs options: noexec,nosuid,nodev, size with the largest
    /// unit that divides it, mode in octal, ro.
    fn tmpfs_options(&self) -> Vec<String> {
        let mut o: Vec<String> = ["noexec", "nosuid", "nodev"].map(String::from).to_vec();
        if let Some(size) = self.tmpfs_size.filter(|s| *s != 0) {
            let (mut n, mut suffix) = (size, "");
            for (s, d) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
                if size % d == 0 {
                    n = size / d;
                    suffix = s;
                    break;
                }
            }
            o.push(format!("size={n}{suffix}"));
        }
        if let Some(mode) = self.tmpfs_mode.filter(|m| *m != 0) {
            o.push(format!("mode={mode:o}"));
        }
        if self.readonly {
            o.push("ro".into());
        }
        o
    }

    /// `HostConfig.Mounts[]` as docker shows it.
    pub fn inspect(&self) -> Value {
        let mut v = json!({ "Type": self.kind, "Source": self.source, "Target": self.target });
        if self.readonly {
            v["ReadOnly"] = json!(true);
        }
        match self.kind.as_str() {
            "bind" if self.bind_opts => {
                let mut b = json!({});
                if let Some(p) = &self.propagation {
                    b["Propagation"] = json!(p);
                }
                if self.nonrecursive {
                    b["NonRecursive"] = json!(true);
                }
                v["BindOptions"] = b;
            }
            "volume" if self.volume_opts => {
                let mut o = json!({});
                if self.nocopy {
                    o["NoCopy"] = json!(true);
                }
                if let Some(d) = &self.volume_driver {
                    o["DriverConfig"] = json!({ "Name": d });
                }
                v["VolumeOptions"] = o;
            }
            "tmpfs" if self.tmpfs_opts => {
                let mut o = json!({});
                if let Some(s) = self.tmpfs_size {
                    o["SizeBytes"] = json!(s);
                }
                if let Some(m) = self.tmpfs_mode {
                    o["Mode"] = json!(m);
                }
                v["TmpfsOptions"] = o;
            }
            _ => {}
        }
        v
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// docker's "Duplicate mount point" over `-v` and `--mount` targets.
pub fn check_duplicates<'a>(targets: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for t in targets {
        let clean = Path::new(t).components().collect::<std::path::PathBuf>();
        if !seen.insert(clean) {
            return Err(DaemonError(format!("Duplicate mount point: {t}")).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields_parse_like_docker() {
        let m = parse("type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave").unwrap();
        assert_eq!(
            (m.kind.as_str(), m.source.as_str(), m.target.as_str()),
            ("bind", "/h", "/c")
        );
        assert!(m.readonly);
        assert_eq!(
            m.oci().unwrap()["options"],
            json!(["rbind", "rslave", "ro"])
        );
        let m = parse("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            m.oci().unwrap()["options"],
            json!(["noexec", "nosuid", "nodev", "size=1m", "mode=1770"])
        );
        assert_eq!(parse("target=/v").unwrap().kind, "volume");
        assert!(!parse("type=bind,src=/h,dst=/c,ro=false").unwrap().readonly);
        let err = |v: &str| parse(v).unwrap_err().to_string();
        assert!(err("type=volume,source=x").ends_with("flag: target is required"));
        assert!(err("foo=bar,target=/b").ends_with("unexpected key 'foo' in 'foo=bar'"));
        assert!(err("type=tmpfs,target=/t,tmpfs-size=abc")
            .ends_with("invalid value for tmpfs-size: abc"));
        assert!(err("type=bind,src=/h,dst=/b,readonly=maybe")
            .ends_with("invalid value for readonly: maybe"));
        assert!(err("type=bind,src=/h,dst=/b,volume-nocopy")
            .ends_with("cannot mix 'volume-*' options with mount type 'bind'"));
        assert!(
            err("type=tmpfs,dst=/t,tmpfs-mode=999").ends_with("invalid value for tmpfs-mode: 999")
        );
    }

    #[test]
    fn daemon_checks() {
        let chk = |v: &str| parse(v).unwrap().check().unwrap_err().to_string();
        assert_eq!(
            chk("type=bind,source=/nonexist-rdock,target=/b"),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexist-rdock"
        );
        assert_eq!(
            chk("type=bind,target=/b"),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            chk("type=bogus,target=/b"),
            "invalid mount config for type \"bogus\": mount type unknown"
        );
        assert_eq!(
            chk("type=tmpfs,source=/x,target=/t"),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        assert_eq!(
            chk("type=bind,src=/tmp,dst=rel"),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert!(check_duplicates(["/a", "/b/", "/b"].into_iter()).is_err());
    }

    #[test]
    fn sizes_as_docker_units() {
        assert_eq!(ram_in_bytes("1m"), Some(1 << 20));
        assert_eq!(ram_in_bytes("64M"), Some(64 << 20));
        assert_eq!(ram_in_bytes("1024"), Some(1024));
        assert_eq!(ram_in_bytes("1.5k"), Some(1536));
        assert_eq!(ram_in_bytes("10kb"), Some(10240));
        assert_eq!(ram_in_bytes("1x"), None);
        assert_eq!(ram_in_bytes("-1"), None);
        assert_eq!(ram_in_bytes("abc"), None);
        assert_eq!(ram_in_bytes(""), None);
    }
}
