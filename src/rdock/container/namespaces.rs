//! `--ipc`, `--pid`, `--uts`, `--userns` and `--sysctl`: docker's modes and
//! checks, and the namespaces (own, the host's, or another container's,
//! joined by `/proc/PID/ns/...`) they give the container's config.
use super::hostconfig::{flag_error, DaemonError};
use super::{record, runtime};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modes {
    /// "" (private, the default), none, private, shareable, host, container:NAME.
    pub ipc: String,
    /// "" (own), host, container:NAME.
    pub pid: String,
    /// "" (own), host.
    pub uts: String,
    /// "" or host: rdock never makes a user namespace (no userns-remap).
    pub userns: String,
}

/// The IPC sysctls docker lets a container set (the runtime's list).
use ::runtime::spec::IPC_SYSCTLS;

fn is_ipc_sysctl(k: &str) -> bool {
    IPC_SYSCTLS.contains(&k) || k.starts_with("fs.mqueue.")
}

pub fn parse(
    ipc: Option<&str>,
    pid: Option<&str>,
    uts: Option<&str>,
    userns: Option<&str>,
) -> Result<Modes> {
    let pid = pid.unwrap_or("");
    let pid_ok = matches!(pid, "" | "host")
        || pid
            .strip_prefix("container:")
            .is_some_and(|c| !c.is_empty());
    if !pid_ok {
        bail!("rdock: --pid: invalid PID mode");
    }
    let uts = uts.unwrap_or("");
    if !matches!(uts, "" | "host") {
        bail!("rdock: --uts: invalid UTS mode");
    }
    let userns = userns.unwrap_or("");
    if !matches!(userns, "" | "host") {
        bail!("rdock: --userns: invalid USER mode");
    }
    let ipc = ipc.unwrap_or("");
    let ipc_ok = matches!(ipc, "" | "none" | "private" | "shareable" | "host")
        || ipc
            .strip_prefix("container:")
            .is_some_and(|c| !c.is_empty());
    if !ipc_ok {
        return Err(DaemonError(format!("Invalid IPC mode: {ipc}")).into());
    }
    Ok(Modes {
        ipc: ipc.into(),
        pid: pid.into(),
        uts: uts.into(),
        userns: userns.into(),
    })
}

/// `--sysctl NAME=VALUE`, docker's whitelist (namespaced sysctls only).
pub fn parse_sysctls(v: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in v {
        let ok = s.split_once('=').filter(|(k, _)| {
            IPC_SYSCTLS.contains(k) || k.starts_with("fs.mqueue.") || k.starts_with("net.")
        });
        let Some((k, val)) = ok else {
            return Err(flag_error(
                s,
                "--sysctl",
                &format!("sysctl '{s}' is not whitelisted"),
            ));
        };
        out.insert(k.to_string(), val.to_string());
    }
    Ok(out)
}

/// The running container `name` whose namespace is joined; its init's pid.
fn donor(root: &Path, name: &str, what: &str) -> Result<(String, i32)> {
    let r =
        record::find(root, name).map_err(|_| DaemonError(format!("No such container: {name}")))?;
    let pid = (r.live_state() == record::State::Running)
        .then(|| runtime::pid(&r.runtime, &r.runtime_root, &r.id))
        .flatten()
        .ok_or_else(|| {
            DaemonError(format!(
                "cannot join {what} of a non running container: {}",
                r.id
            ))
        })?;
    if what == "IPC" {
        let mode = std::fs::read(record::dir_of(root, &r.id).join("inspect.json"))
            .ok()
            .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
            .and_then(|v| v["HostConfig"]["IpcMode"].as_str().map(String::from))
            .unwrap_or_default();
        if mode != "shareable" {
            return Err(DaemonError(format!(
                "can't join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable \
                 for the donor container)",
                r.id
            ))
            .into());
        }
    }
    Ok((r.id, pid))
}

/// The checks docker's daemon (and runc, for sysctls) make before create.
pub fn check(
    root: &Path,
    m: &Modes,
    sysctls: &BTreeMap<String, String>,
    host_network: bool,
    hostname_given: bool,
) -> Result<()> {
    if m.uts == "host" && hostname_given {
        return Err(DaemonError("conflicting options: hostname and the UTS mode".into()).into());
    }
    for k in sysctls.keys() {
        if k.starts_with("net.") && host_network {
            return Err(DaemonError(format!(
                "OCI runtime create failed: sysctl {k:?} not allowed in host network namespace"
            ))
            .into());
        }
        if is_ipc_sysctl(k) && m.ipc == "host" {
            return Err(DaemonError(format!(
                "OCI runtime create failed: sysctl {k:?} is not allowed in the hosts ipc namespace"
            ))
            .into());
        }
    }
    if let Some(c) = m.ipc.strip_prefix("container:") {
        donor(root, c, "IPC")?;
    }
    if let Some(c) = m.pid.strip_prefix("container:") {
        donor(root, c, "PID")?;
    }
    Ok(())
}

fn set_ns(v: &mut Value, ty: &str, path: Option<String>) {
    let ns = v["linux"]["namespaces"].as_array_mut().expect("namespaces");
    ns.retain(|n| n["type"] != ty);
    if let Some(p) = path {
        ns.push(json!({ "type": ty, "path": p }));
    }
}

fn set_shm(v: &mut Value, source: Option<&str>) {
    let mounts = v["mounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["destination"] != "/dev/shm");
    if let Some(s) = source {
        mounts.push(
            json!({ "destination": "/dev/shm", "type": "bind", "source": s,
            "options": ["rbind", "rprivate"] }),
        );
    }
}

/// A shareable container's /dev/shm: a tmpfs on the host at `<dir>/shm`
/// (as docker's `mounts/shm`), mounted at each start, so that the
/// containers joining its IPC namespace bind the same one (a mount in
/// another mount namespace cannot be bound).
pub fn shm_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("shm")
}

fn is_mountpoint(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Mounts the shareable /dev/shm of the container in `dir` (`size` bytes).
fn mount_shm(dir: &Path, size: i64) -> Result<()> {
    use nix::mount::{mount, MsFlags};
    let p = shm_dir(dir);
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    if is_mountpoint(&p) {
        return Ok(());
    }
    let data = format!("mode=1777,size={size}");
    mount(
        Some("shm"),
        &p,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(data.as_str()),
    )
    .with_context(|| format!("mounting the shareable /dev/shm on {}", p.display()))
}

/// Unmounts it when the container stops or goes (docker drops its content
/// at stop too).
pub fn unmount_shm(dir: &Path) {
    let p = shm_dir(dir);
    while is_mountpoint(&p) {
        if nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH).is_err() {
            log::warn!("unmounting {}", p.display());
            return;
        }
    }
}

/// Writes the modes into the config of the container in `dir`; the
/// sysctls into `linux.sysctl`. Another container's namespaces are joined
/// through its init's pid now and again at each start ([`refresh`]).
pub fn apply(
    dir: &Path,
    v: &mut Value,
    m: &Modes,
    sysctls: &BTreeMap<String, String>,
) -> Result<()> {
    if !sysctls.is_empty() {
        v["linux"]["sysctl"] = json!(sysctls);
    }
    match m.ipc.as_str() {
        "host" => {
            set_ns(v, "ipc", None);
            set_shm(v, Some("/dev/shm"));
        }
        // A namespace of its own without a /dev/shm.
        "none" => set_shm(v, None),
        "shareable" => set_shm(v, Some(&shm_dir(dir).display().to_string())),
        _ => {}
    }
    if m.pid == "host" {
        set_ns(v, "pid", None);
    }
    if m.uts == "host" {
        set_ns(v, "uts", None);
        if let Some(o) = v.as_object_mut() {
            o.remove("hostname");
        }
    }
    // `dir` is `<root>/containers/<id>`.
    let root = dir.parent().and_then(Path::parent).unwrap_or(dir);
    join_donors(root, v, m)
}

fn join_donors(root: &Path, v: &mut Value, m: &Modes) -> Result<()> {
    if let Some(c) = m.ipc.strip_prefix("container:") {
        let (id, pid) = donor(root, c, "IPC")?;
        set_ns(v, "ipc", Some(format!("/proc/{pid}/ns/ipc")));
        let shm = shm_dir(&record::dir_of(root, &id));
        set_shm(v, Some(&shm.display().to_string()));
    }
    if let Some(c) = m.pid.strip_prefix("container:") {
        let (_, pid) = donor(root, c, "PID")?;
        set_ns(v, "pid", Some(format!("/proc/{pid}/ns/pid")));
    }
    Ok(())
}

/// Before each start: a shareable /dev/shm mounted; the donors' current
/// init pids into the config `v` (a donor restarted since create has
/// another pid). `asked`: the container's inspect.json.
pub fn refresh(root: &Path, dir: &Path, asked: &Value, v: &mut Value) -> Result<()> {
    let mode = |k: &str| asked["HostConfig"][k].as_str().unwrap_or("").to_string();
    let m = Modes {
        ipc: mode("IpcMode"),
        pid: mode("PidMode"),
        ..Default::default()
    };
    if m.ipc == "shareable" {
        let size = asked["HostConfig"]["ShmSize"]
            .as_i64()
            .unwrap_or(super::limits::DEFAULT_SHM);
        mount_shm(dir, size)?;
    }
    join_donors(root, v, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_checked_as_docker() {
        let e = |ipc, pid, uts, userns| parse(ipc, pid, uts, userns).unwrap_err().to_string();
        assert_eq!(
            e(None, Some("bogus"), None, None),
            "rdock: --pid: invalid PID mode"
        );
        assert_eq!(
            e(None, None, Some("bogus"), None),
            "rdock: --uts: invalid UTS mode"
        );
        assert_eq!(
            e(None, None, None, Some("bogus")),
            "rdock: --userns: invalid USER mode"
        );
        assert_eq!(
            e(Some("bogus"), None, None, None),
            "Invalid IPC mode: bogus"
        );
        assert!(parse(
            Some("container:x"),
            Some("host"),
            Some("host"),
            Some("host")
        )
        .is_ok());
        assert!(parse(Some("container:"), None, None, None).is_err());
    }

    #[test]
    fn sysctls_whitelisted() {
        let s =
            parse_sysctls(&["net.ipv4.ip_forward=1".into(), "kernel.shmmax=10".into()]).unwrap();
        assert_eq!(s["kernel.shmmax"], "10");
        for bad in ["vm.swappiness=1", "kernel.hostname=x", "foo"] {
            assert_eq!(
                parse_sysctls(&[bad.into()]).unwrap_err().to_string(),
                format!("invalid argument \"{bad}\" for \"--sysctl\" flag: sysctl '{bad}' is not whitelisted")
            );
        }
        let m = Modes {
            ipc: "host".into(),
            ..Default::default()
        };
        let root = Path::new("/nonexistent");
        assert!(check(root, &m, &s, false, false)
            .unwrap_err()
            .to_string()
            .contains("hosts ipc namespace"));
        assert!(check(root, &Modes::default(), &s, true, false)
            .unwrap_err()
            .to_string()
            .contains("host network namespace"));
    }

    #[test]
    fn host_modes_leave_the_namespaces() {
        let mut v = ::runtime::spec_template::default_spec();
        let m = Modes {
            ipc: "host".into(),
            pid: "host".into(),
            uts: "host".into(),
            ..Default::default()
        };
        apply(
            Path::new("/nonexistent/containers/x"),
            &mut v,
            &m,
            &BTreeMap::new(),
        )
        .unwrap();
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert!(!ns.contains(&"ipc") && !ns.contains(&"pid") && !ns.contains(&"uts"));
        assert!(v.get("hostname").is_none());
        let shm = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/dev/shm")
            .unwrap();
        assert_eq!(shm["source"], "/dev/shm");
    }
}
