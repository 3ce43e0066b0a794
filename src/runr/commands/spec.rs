use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::Spec;
use runtime::spec_template::{default_spec, make_rootless};

pub fn run(s: &Spec) -> Result<()> {
    let dir = s.bundle.as_deref().unwrap_or(Path::new("."));
    let path = dir.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let mut v = default_spec();
    if s.rootless {
        make_rootless(&mut v);
    }
    if !cgroup_v2_unified() {
        // As runc 1.1: a cgroup namespace only on a unified (v2-only) host.
        if let Some(ns) = v["linux"]["namespaces"].as_array_mut() {
            ns.retain(|n| n["type"] != "cgroup");
        }
    }
    let text = serde_json::to_string_pretty(&v)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

fn cgroup_v2_unified() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}
