//! User namespace id maps and file ownership as the container sees them.
//!
//! `linux.uidMappings`/`gidMappings` (with a new user namespace) must be
//! what /proc/self/uid_map and gid_map show. Ownership facts come from the
//! test as annotations `runr.checker.owner.<path>` = `"UID:GID"` (the path
//! is not followed if it is a symlink).

use crate::tap::Tap;
use serde_json::Value;
use std::os::unix::fs::MetadataExt;

const OWNER_PREFIX: &str = "runr.checker.owner.";

fn triples_of_config(maps: &Value) -> Vec<(u64, u64, u64)> {
    maps.as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["containerID"].as_u64().unwrap_or(u64::MAX),
                m["hostID"].as_u64().unwrap_or(u64::MAX),
                m["size"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

fn triples_of_proc(name: &str) -> Option<Vec<(u64, u64, u64)>> {
    let text = std::fs::read_to_string(format!("/proc/self/{name}")).ok()?;
    Some(
        text.lines()
            .map(|l| {
                let f: Vec<u64> = l
                    .split_whitespace()
                    .map(|x| x.parse().unwrap_or(u64::MAX))
                    .collect();
                (
                    f.first().copied().unwrap_or(u64::MAX),
                    f.get(1).copied().unwrap_or(u64::MAX),
                    f.get(2).copied().unwrap_or(u64::MAX),
                )
            })
            .collect(),
    )
}

pub fn check(config: &Value, tap: &mut Tap) {
    let new_userns = config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == "user" && n["path"].as_str().is_none_or(|p| p.is_empty()));
    if new_userns {
        for (key, file) in [("uidMappings", "uid_map"), ("gidMappings", "gid_map")] {
            let want = triples_of_config(&config["linux"][key]);
            if want.is_empty() {
                continue;
            }
            tap.eq(
                format!("/proc/self/{file} is linux.{key}"),
                Some(want),
                triples_of_proc(file),
            );
        }
    }
    let Some(notes) = config["annotations"].as_object() else {
        return;
    };
    for (key, want) in notes {
        let Some(path) = key.strip_prefix(OWNER_PREFIX) else {
            continue;
        };
        let got = std::fs::symlink_metadata(path)
            .map(|m| format!("{}:{}", m.uid(), m.gid()))
            .unwrap_or_else(|e| format!("error: {e}"));
        tap.eq(
            format!("owner of {path} (uid:gid)"),
            want.as_str().unwrap_or("").to_string(),
            got,
        );
    }
}
