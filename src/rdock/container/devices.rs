//! `--device HOST[:CONTAINER[:PERMS]]`: docker's parsing, the host node's
//! type, numbers, mode and owner (gathered at each start, as docker's
//! daemon does: `create` of a missing device succeeds, its start fails),
//! the node in the container (`linux.devices`) and a device cgroup rule
//! with exactly the permissions asked (`linux.resources.devices`).
use super::hostconfig::DaemonError;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// A `--device` as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub host: String,
    pub container: String,
    pub perms: String,
}

/// A node to make in the container.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub path: String,
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub perms: String,
}

/// r, w and m, each at most once.
fn valid_mode(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 3
        && m.chars().all(|c| "rwm".contains(c))
        && m.chars().enumerate().all(|(i, c)| !m[..i].contains(c))
}

/// docker's parse of `--device` (its path validation, then the split).
pub fn parse(v: &str) -> Result<Mapping> {
    if v.matches(':').count() > 2 || v.starts_with(':') || v.is_empty() {
        bail!("rdock: bad format for path: {v}");
    }
    let parts: Vec<&str> = v.split(':').collect();
    let (host, container, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, x] if valid_mode(x) => (*h, *h, *x),
        [h, c] => (*h, *c, "rwm"),
        [h, c, m] => {
            if !valid_mode(m) {
                bail!("rdock: bad mode specified: {m}");
            }
            (*h, *c, *m)
        }
        _ => bail!("rdock: invalid device specification: {v}"),
    };
    if !container.starts_with('/') {
        bail!("rdock: {container} is not an absolute path");
    }
    Ok(Mapping {
        host: host.to_string(),
        container: container.to_string(),
        perms: perms.to_string(),
    })
}

fn node_of(path: &Path, in_container: &str, perms: &str) -> std::io::Result<Option<Node>> {
    let md = std::fs::metadata(path)?;
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return Ok(None);
    };
    let rdev = md.rdev();
    Ok(Some(Node {
        path: in_container.to_string(),
        kind,
        major: nix::sys::stat::major(rdev),
        minor: nix::sys::stat::minor(rdev),
        mode: md.mode() & 0o777,
        uid: md.uid(),
        gid: md.gid(),
        perms: perms.to_string(),
    }))
}

/// The host nodes of a mapping: the device itself, or every device under
/// a directory (at the same place under the container path), as docker.
pub fn gather(m: &Mapping) -> Result<Vec<Node>> {
    let fail = |why: String| -> anyhow::Error {
        DaemonError(format!(
            "error gathering device information while adding custom device {:?}: {why}",
            m.host
        ))
        .into()
    };
    let io_why = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    let host = std::fs::canonicalize(&m.host).map_err(|e| fail(io_why(e)))?;
    if host.is_dir() {
        let mut out = Vec::new();
        let mut stack = vec![host.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)
                .map_err(|e| fail(io_why(e)))?
                .flatten()
            {
                let p = e.path();
                let ft = e.file_type().map_err(|e| fail(io_why(e)))?;
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_char_device() || ft.is_block_device() {
                    let rel = p.strip_prefix(&host).expect("under the directory");
                    let dst = Path::new(&m.container).join(rel).display().to_string();
                    out.extend(node_of(&p, &dst, &m.perms).map_err(|e| fail(io_why(e)))?);
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        return Ok(out);
    }
    match node_of(&host, &m.container, &m.perms).map_err(|e| fail(io_why(e)))? {
        Some(n) => Ok(vec![n]),
        None => Err(fail("not a device node".into())),
    }
}

/// The nodes into `linux.devices`, their rules after the config's own
/// (deny-all first, so each allows exactly its permissions).
pub fn apply(linux: &mut Value, nodes: &[Node]) {
    for n in nodes {
        if !linux["devices"].is_array() {
            linux["devices"] = json!([]);
        }
        let devs = linux["devices"].as_array_mut().expect("array");
        devs.retain(|d| d["path"] != json!(n.path));
        devs.push(json!({
            "path": n.path, "type": n.kind.to_string(), "major": n.major, "minor": n.minor,
            "fileMode": n.mode, "uid": n.uid, "gid": n.gid
        }));
        if !linux["resources"]["devices"].is_array() {
            linux["resources"]["devices"] = json!([{ "allow": false, "access": "rwm" }]);
        }
        linux["resources"]["devices"]
            .as_array_mut()
            .expect("array")
            .push(json!({
                "allow": true, "type": n.kind.to_string(), "major": n.major,
                "minor": n.minor, "access": n.perms
            }));
    }
}

/// Where the config records what the last start added, to replace it.
const ADDED: &str = "org.rdock.devices";

/// Before each start: the host nodes of the container's `--device`s
/// (`HostConfig.Devices` of its inspect.json `asked`) into the config `v`,
/// in place of those of the previous start.
pub fn refresh(asked: &Value, v: &mut Value) -> Result<()> {
    let maps: Vec<Mapping> = asked["HostConfig"]["Devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Mapping {
            host: d["PathOnHost"].as_str().unwrap_or_default().into(),
            container: d["PathInContainer"].as_str().unwrap_or_default().into(),
            perms: d["CgroupPermissions"].as_str().unwrap_or_default().into(),
        })
        .collect();
    let prev: Value = v["annotations"][ADDED]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    if maps.is_empty() && prev.is_null() {
        return Ok(());
    }
    for (ptr, key) in [
        ("/linux/devices", "devices"),
        ("/linux/resources/devices", "rules"),
    ] {
        if let Some(l) = v.pointer_mut(ptr).and_then(Value::as_array_mut) {
            for old in prev[key].as_array().into_iter().flatten() {
                if let Some(i) = l.iter().position(|x| x == old) {
                    l.remove(i);
                }
            }
        }
    }
    let nodes = maps
        .iter()
        .map(gather)
        .collect::<Result<Vec<_>>>()?
        .concat();
    let mut added = json!({ "devices": [], "rules": [] });
    let mut fresh = json!({ "resources": { "devices": [] } });
    apply(&mut fresh, &nodes);
    added["devices"] = fresh["devices"].clone();
    added["rules"] = fresh["resources"]["devices"].clone();
    apply(&mut v["linux"], &nodes);
    if !v["annotations"].is_object() {
        v["annotations"] = json!({});
    }
    v["annotations"][ADDED] = json!(added.to_string());
    Ok(())
}

/// `HostConfig.Devices`.
pub fn inspect(maps: &[Mapping]) -> Value {
    maps.iter()
        .map(|m| {
            json!({ "PathOnHost": m.host, "PathInContainer": m.container,
            "CgroupPermissions": m.perms })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_specs_parse_like_docker() {
        let m = parse("/dev/null:/dev/xnull:r").unwrap();
        assert_eq!(
            (m.container.as_str(), m.perms.as_str()),
            ("/dev/xnull", "r")
        );
        let m = parse("/dev/null:rw").unwrap();
        assert_eq!(
            (m.container.as_str(), m.perms.as_str()),
            ("/dev/null", "rw")
        );
        assert_eq!(parse("/dev/null").unwrap().perms, "rwm");
        let e = |v: &str| parse(v).unwrap_err().to_string();
        assert_eq!(e("/dev/null:/dev/xnull:z"), "rdock: bad mode specified: z");
        assert_eq!(e("/dev/null:rel"), "rdock: rel is not an absolute path");
        assert_eq!(e("/dev/null:/x:rr"), "rdock: bad mode specified: rr");
    }

    #[test]
    fn each_start_replaces_the_nodes_of_the_last() {
        let asked = json!({ "HostConfig": { "Devices": [{ "PathOnHost": "/dev/null",
            "PathInContainer": "/dev/xnull", "CgroupPermissions": "r" }] } });
        let deny = json!({ "allow": false, "access": "rwm" });
        let mut v = json!({ "linux": { "resources": { "devices": [deny.clone()] } } });
        refresh(&asked, &mut v).unwrap();
        refresh(&asked, &mut v).unwrap();
        assert_eq!(v["linux"]["devices"].as_array().unwrap().len(), 1);
        assert_eq!(
            v["linux"]["resources"]["devices"],
            json!([deny, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "r" }])
        );
        let gone = json!({ "HostConfig": { "Devices": [{ "PathOnHost": "/dev/nosuch-rdock",
            "PathInContainer": "/dev/x", "CgroupPermissions": "rwm" }] } });
        assert!(refresh(&gone, &mut v).is_err());
    }

    #[test]
    fn nodes_and_rules() {
        let n = gather(&parse("/dev/null:/dev/xnull:r").unwrap()).unwrap();
        assert_eq!((n[0].kind, n[0].major, n[0].minor), ('c', 1, 3));
        let e = gather(&parse("/dev/nosuch-rdock").unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "error gathering device information while adding custom device \"/dev/nosuch-rdock\": no such file or directory"
        );
        let mut linux =
            json!({ "resources": { "devices": [{ "allow": false, "access": "rwm" }] } });
        apply(&mut linux, &n);
        assert_eq!(linux["devices"][0]["path"], "/dev/xnull");
        assert_eq!(
            linux["resources"]["devices"][1],
            json!({ "allow": true, "type": "c", "major": 1, "minor": 3, "access": "r" })
        );
    }
}
