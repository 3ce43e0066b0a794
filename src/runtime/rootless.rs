//! Rootless mode, as runc's `--rootless auto|true|false`: runr run by an
//! unprivileged user (or inside a user namespace). Its state lives under
//! $XDG_RUNTIME_DIR/runr, the container needs a user namespace, its maps are
//! written by runr when they map only the caller's own ids and by
//! newuidmap/newgidmap (package uidmap, /etc/subuid) otherwise, and cgroups
//! are used only where the user may write them.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxIdMapping;

use super::idmap;

/// `--root`'s default: runc's choice of $XDG_RUNTIME_DIR for a non-root user.
pub fn default_root() -> PathBuf {
    if !nix::unistd::geteuid().is_root() {
        if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
            return PathBuf::from(x).join("runr");
        }
    }
    PathBuf::from("/run/runr")
}

/// `--rootless`: "true", "false", or "auto" (the default): non-root, or in a user namespace.
pub fn detect(flag: Option<&str>) -> Result<bool> {
    match flag.unwrap_or("auto") {
        "true" => Ok(true),
        "false" => Ok(false),
        "auto" => Ok(!nix::unistd::geteuid().is_root() || in_userns()),
        other => bail!("invalid --rootless value {other:?} (true, false or auto)"),
    }
}

/// Not in the initial user namespace: its map is not the identity of all ids.
fn in_userns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}

/// Only the caller's own id, once: what an unprivileged process may map itself.
fn is_own_id(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id() == own && m.size() == 1)
}

/// Writes the maps of `pid`'s new user namespace as an unprivileged user.
pub fn write_maps(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    if !gid.is_empty() {
        if is_own_id(gid, egid) {
            // The kernel lets an unprivileged user map its gid only once
            // setgroups is denied in the namespace.
            std::fs::write(format!("/proc/{pid}/setgroups"), "deny")
                .context("denying setgroups in the user namespace")?;
            idmap::write(pid, &[], gid)?;
        } else {
            helper("newgidmap", "gid", "/etc/subgid", egid, pid, gid)?;
        }
    }
    if !uid.is_empty() {
        if is_own_id(uid, euid) {
            idmap::write(pid, uid, &[])?;
        } else {
            helper("newuidmap", "uid", "/etc/subuid", euid, pid, uid)?;
        }
    }
    Ok(())
}

/// newuidmap/newgidmap PID ID HOSTID SIZE...: maps what /etc/subuid grants.
fn helper(
    prog: &str,
    kind: &str,
    file: &str,
    own: u32,
    pid: i32,
    maps: &[LinuxIdMapping],
) -> Result<()> {
    let mut cmd = Command::new(prog);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "rootless: this {kind} mapping needs {prog} (package uidmap): an unprivileged user can only map its own {kind} {own} by itself"
        ),
        Err(e) => return Err(e).with_context(|| format!("running {prog}")),
    };
    if !out.status.success() {
        bail!(
            "rootless: {prog} refused the {kind} mapping {:?} ({}); the ranges must be granted to you in {file}",
            idmap::format(maps).trim_end().replace('\n', ", "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Whether the spec asks for cgroup resources (then a skipped cgroup is worth a warning).
pub fn asks_for_resources(spec: &oci_spec::runtime::Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .is_some_and(|r| {
            r.memory().is_some()
                || r.cpu().is_some()
                || r.pids().is_some()
                || r.block_io().is_some()
                || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
                || r.network().is_some()
                || r.unified().as_ref().is_some_and(|u| !u.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxIdMappingBuilder;

    fn m(c: u32, h: u32, n: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    }

    #[test]
    fn only_a_single_own_id_is_written_without_newuidmap() {
        assert!(is_own_id(&[m(0, 1000, 1)], 1000));
        assert!(is_own_id(&[m(5, 1000, 1)], 1000));
        assert!(!is_own_id(&[m(0, 1000, 2)], 1000));
        assert!(!is_own_id(&[m(0, 1001, 1)], 1000));
        assert!(!is_own_id(&[m(0, 1000, 1), m(1, 100000, 10)], 1000));
    }

    #[test]
    fn rootless_flag_values() {
        assert!(detect(Some("true")).unwrap());
        assert!(!detect(Some("false")).unwrap());
        assert!(detect(Some("maybe")).is_err());
    }
}
