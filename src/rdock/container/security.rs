//! `--cap-add`, `--cap-drop`, `--privileged`, `--security-opt`: the
//! container's capabilities, seccomp profile and no_new_privs, docker's way.
use crate::container::{seccomp_default, spec::DEFAULT_CAPS};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::str::FromStr;

/// Which seccomp profile the container gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Seccomp {
    /// docker's default, built for the container's capabilities.
    Default,
    Unconfined,
    /// A profile from `--security-opt seccomp=FILE`, already in OCI form.
    Profile(Value),
}

/// The checked security flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Security {
    pub privileged: bool,
    /// The capability set (CAP_ names), bounding = effective = permitted.
    pub caps: Vec<String>,
    pub seccomp: Seccomp,
    pub no_new_privileges: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            privileged: false,
            caps: DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            seccomp: Seccomp::Default,
            no_new_privileges: false,
        }
    }
}

/// `sys_admin` / `CAP_SYS_ADMIN` / `ALL` → `CAP_SYS_ADMIN` / `ALL`, or
/// docker's error for an unknown name.
fn normalize_cap(name: &str, which: &str) -> Result<String> {
    let up = name.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    caps::Capability::from_str(&full)
        .map_err(|_| anyhow!("invalid {which}: unknown capability: \"{full}\""))?;
    Ok(full)
}

/// The capabilities rdock itself may hand out (its bounding set), by name.
fn bounding_set() -> Vec<String> {
    let mut v: Vec<String> = caps::read(None, caps::CapSet::Bounding)
        .map(|s| s.iter().map(|c| c.to_string()).collect())
        .unwrap_or_else(|_| caps::all().iter().map(|c| c.to_string()).collect());
    v.sort();
    v
}

/// docker's rule: `--cap-add ALL` starts from every capability,
/// `--cap-drop ALL` from none, else from the default set; drops are taken
/// out, then adds put in (an add wins over a drop of the same name).
pub fn capabilities(add: &[String], drop: &[String], privileged: bool) -> Result<Vec<String>> {
    let add = add
        .iter()
        .map(|c| normalize_cap(c, "CapAdd"))
        .collect::<Result<Vec<_>>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize_cap(c, "CapDrop"))
        .collect::<Result<Vec<_>>>()?;
    let all = bounding_set();
    if privileged {
        return Ok(all);
    }
    let mut set: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all.clone()
    } else if drop.iter().any(|c| c == "ALL") {
        vec![]
    } else {
        DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
    };
    set.retain(|c| !drop.contains(c));
    for c in add.into_iter().filter(|c| c != "ALL") {
        if !all.contains(&c) {
            log::warn!("{c} is not in rdock's bounding set; the runtime may refuse it");
        }
        if !set.contains(&c) {
            set.push(c);
        }
    }
    Ok(set)
}

/// Checks `--cap-add/--cap-drop/--privileged/--security-opt`.
pub fn parse(
    add: &[String],
    drop: &[String],
    privileged: bool,
    opts: &[String],
) -> Result<Security> {
    let caps = capabilities(add, drop, privileged)?;
    let mut s = Security {
        privileged,
        caps,
        seccomp: Seccomp::Default,
        no_new_privileges: false,
    };
    for o in opts {
        // docker accepts both `key=value` and the older `key:value`.
        let (key, value) = match o.split_once('=') {
            Some(kv) => kv,
            None => o.split_once(':').unwrap_or((o.as_str(), "")),
        };
        match (key, value) {
            ("no-new-privileges", "" | "true") => s.no_new_privileges = true,
            ("no-new-privileges", "false") => s.no_new_privileges = false,
            ("no-new-privileges", v) => {
                bail!("invalid --security-opt 2: \"no-new-privileges={v}\"")
            }
            ("seccomp", "unconfined") => s.seccomp = Seccomp::Unconfined,
            ("seccomp", "builtin" | "default") => s.seccomp = Seccomp::Default,
            ("seccomp", "") => bail!("invalid --security-opt 2: \"{o}\""),
            ("seccomp", file) => {
                s.seccomp = Seccomp::Profile(load_profile(Path::new(file), &s.caps)?);
            }
            // No AppArmor or SELinux here: docker ignores them where absent too.
            ("apparmor" | "label", _) => log::info!("ignoring --security-opt {o}"),
            _ => bail!("invalid --security-opt 2: \"{o}\""),
        }
    }
    Ok(s)
}

/// Reads a profile in docker's format (OCI-like, plus `archMap`, `name`,
/// `includes`/`excludes` by capability and architecture) as OCI JSON, and
/// checks it the way runr will read it.
pub fn load_profile(path: &Path, caps: &[String]) -> Result<Value> {
    let data = std::fs::read(path)
        .with_context(|| format!("opening seccomp profile ({}) failed", path.display()))?;
    let v: Value = serde_json::from_slice(&data)
        .with_context(|| format!("Decoding seccomp profile failed: {}", path.display()))?;
    let oci = docker_to_oci(&v, caps)
        .with_context(|| format!("Decoding seccomp profile failed: {}", path.display()))?;
    ::runtime::seccomp::parse_profile(&oci)
        .map_err(|e| anyhow!("Decoding seccomp profile failed: {}: {e}", path.display()))?;
    Ok(oci)
}

/// x86_64 names of this host's architecture in docker's `arches` lists.
const HOST_ARCHES: &[&str] = &["amd64", "x86_64", "SCMP_ARCH_X86_64"];

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The OCI profile docker would hand its runtime for `v`.
pub fn docker_to_oci(v: &Value, caps: &[String]) -> Result<Value> {
    let obj = v.as_object().ok_or_else(|| anyhow!("not a JSON object"))?;
    let mut out = json!({});
    for k in [
        "defaultAction",
        "defaultErrnoRet",
        "flags",
        "listenerPath",
        "listenerMetadata",
    ] {
        if let Some(x) = obj.get(k) {
            out[k] = x.clone();
        }
    }
    if out.get("defaultAction").is_none() {
        bail!("defaultAction is missing");
    }
    if let Some(a) = obj.get("architectures") {
        out["architectures"] = a.clone();
    } else if let Some(map) = obj.get("archMap").and_then(Value::as_array) {
        if let Some(m) = map.iter().find(|m| m["architecture"] == "SCMP_ARCH_X86_64") {
            let mut arches = vec![json!("SCMP_ARCH_X86_64")];
            arches.extend(
                strings(&m["subArchitectures"])
                    .into_iter()
                    .map(|s| json!(s)),
            );
            out["architectures"] = json!(arches);
        }
    }
    let has_cap = |c: &str| caps.iter().any(|x| x == c);
    let mut rules = Vec::new();
    for r in obj
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let inc = &r["includes"];
        let exc = &r["excludes"];
        if !strings(&inc["caps"]).iter().all(|c| has_cap(c))
            || strings(&exc["caps"]).iter().any(|c| has_cap(c))
        {
            continue;
        }
        let inc_arches = strings(&inc["arches"]);
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| HOST_ARCHES.contains(a)) {
            continue;
        }
        if strings(&exc["arches"])
            .iter()
            .any(|a| HOST_ARCHES.contains(a))
        {
            continue;
        }
        let mut names: Vec<&str> = strings(&r["names"]);
        if let Some(n) = r["name"].as_str() {
            names.push(n);
        }
        if names.is_empty() {
            continue;
        }
        let mut rule = json!({ "names": names, "action": r["action"].clone() });
        for k in ["errnoRet", "args"] {
            if let Some(x) = r.get(k).filter(|x| !x.is_null()) {
                rule[k] = x.clone();
            }
        }
        rules.push(rule);
    }
    out["syscalls"] = json!(rules);
    Ok(out)
}

/// Host devices a privileged container gets, as OCI `linux.devices`:
/// the character and block devices of /dev, as docker lists them.
fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/dev")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let ft = md.file_type();
            if ft.is_dir() {
                // The runtime gives the container its own of these.
                if !matches!(
                    p.to_str(),
                    Some("/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev/.lxc" | "/dev/.udev")
                ) {
                    stack.push(p);
                }
                continue;
            }
            let kind = if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else {
                continue;
            };
            // The runtime sets up the console and ptmx itself.
            if matches!(p.to_str(), Some("/dev/console" | "/dev/ptmx")) {
                continue;
            }
            let rdev = md.rdev();
            out.push(json!({
                "path": p, "type": kind,
                "major": libc::major(rdev), "minor": libc::minor(rdev),
                "fileMode": md.mode() & 0o777, "uid": 0, "gid": 0
            }));
        }
    }
    out.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    out
}

/// Writes the security choices into the spec.
pub fn apply(v: &mut Value, s: &Security) {
    let caps = json!(s.caps);
    v["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps
    });
    v["process"]["noNewPrivileges"] = json!(s.no_new_privileges);
    let seccomp = match (&s.seccomp, s.privileged) {
        (Seccomp::Profile(p), _) => Some(p.clone()),
        // docker runs privileged containers without a seccomp filter.
        (_, true) | (Seccomp::Unconfined, _) => None,
        (Seccomp::Default, false) => Some(seccomp_default::profile(&s.caps)),
    };
    match seccomp {
        Some(p) => v["linux"]["seccomp"] = p,
        None => {
            if let Some(l) = v["linux"].as_object_mut() {
                l.remove("seccomp");
            }
        }
    }
    if !s.privileged {
        return;
    }
    let linux = v["linux"].as_object_mut().expect("linux object");
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    linux.insert("devices".into(), json!(host_devices()));
    v["linux"]["resources"]["devices"] = json!([{ "allow": true, "access": "rwm" }]);
    // /sys and its cgroup mount read-write, as docker gives privileged containers.
    for m in v["mounts"].as_array_mut().into_iter().flatten() {
        if matches!(m["type"].as_str(), Some("sysfs" | "cgroup")) {
            if let Some(o) = m["options"].as_array_mut() {
                o.retain(|x| x != "ro");
                o.push(json!("rw"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn cap_names_with_or_without_prefix() {
        let c = capabilities(&s(&["sys_admin", "CAP_SYS_PTRACE"]), &s(&["chown"]), false).unwrap();
        assert!(c.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(c.contains(&"CAP_SYS_PTRACE".to_string()));
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(c.len(), DEFAULT_CAPS.len() + 1);
    }

    #[test]
    fn drop_all_then_add() {
        let c = capabilities(&s(&["NET_ADMIN"]), &s(&["ALL"]), false).unwrap();
        assert_eq!(c, ["CAP_NET_ADMIN"]);
        assert!(capabilities(&s(&["ALL"]), &[], false).unwrap().len() > DEFAULT_CAPS.len());
    }

    #[test]
    fn unknown_cap_is_docker_error() {
        let e = capabilities(&s(&["NOPE"]), &[], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid CapAdd: unknown capability: \"CAP_NOPE\""
        );
    }

    #[test]
    fn security_opts() {
        let x = parse(
            &[],
            &[],
            false,
            &s(&["seccomp=unconfined", "no-new-privileges"]),
        )
        .unwrap();
        assert_eq!(x.seccomp, Seccomp::Unconfined);
        assert!(x.no_new_privileges);
        assert!(parse(&[], &[], false, &s(&["bogus"])).is_err());
        assert!(parse(&[], &[], false, &s(&["seccomp=/nonexistent.json"])).is_err());
    }

    #[test]
    fn docker_profile_keeps_rules_for_held_caps_and_arch() {
        let p = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{ "architecture": "SCMP_ARCH_X86_64",
                          "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
            "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["mount"], "action": "SCMP_ACT_ALLOW",
                  "includes": { "caps": ["CAP_SYS_ADMIN"] } },
                { "names": ["arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW",
                  "includes": { "arches": ["arm"] } },
                { "name": "write", "action": "SCMP_ACT_ALLOW" }
            ]
        });
        let o = docker_to_oci(&p, &s(&["CAP_CHOWN"])).unwrap();
        assert_eq!(o["architectures"].as_array().unwrap().len(), 3);
        let names: Vec<&str> = o["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| strings(&r["names"]))
            .collect();
        assert_eq!(names, ["read", "write"]);
        ::runtime::seccomp::parse_profile(&o).unwrap();
    }
}
