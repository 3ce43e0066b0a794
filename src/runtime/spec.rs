//! Loading and validating a bundle's `config.json`.
//! Everything that can be refused without touching the system is refused here,
//! before any state, cgroup or process exists.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// The runtime-spec version runr implements (reported by `state`, `spec`, `--version`).
pub const OCI_VERSION: &str = "1.3.0";

/// A loaded bundle: the spec plus the absolute paths it was resolved against.
pub struct Bundle {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub spec: Spec,
}

pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let config = dir.join("config.json");
    let data = std::fs::read(&config).with_context(|| format!("reading {}", config.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&data).with_context(|| format!("parsing {}", config.display()))?;
    // Checked first for a message that names the bad action/operator/arch.
    if let Some(s) = value.get("linux").and_then(|l| l.get("seccomp")) {
        super::seccomp::parse_profile(s).context("config.json: linux.seccomp")?;
    }
    if let Some(c) = value.get("process").and_then(|p| p.get("capabilities")) {
        super::capabilities::validate_names(c).context("config.json")?;
    }
    let spec: Spec =
        serde_json::from_value(value).with_context(|| format!("parsing {}", config.display()))?;
    validate(&spec)?;
    let root = spec
        .root()
        .as_ref()
        .context("config.json: root is not set")?;
    let rootfs = dir.join(root.path());
    let meta = std::fs::metadata(&rootfs)
        .with_context(|| format!("rootfs ({}) does not exist", rootfs.display()))?;
    if !meta.is_dir() {
        bail!("rootfs ({}) is not a directory", rootfs.display());
    }
    Ok(Bundle {
        dir: dir.to_path_buf(),
        rootfs,
        spec,
    })
}

pub fn validate(spec: &Spec) -> Result<()> {
    let version = spec.version();
    if !version.starts_with("1.") {
        bail!("unsupported spec version {version:?}: runr supports runtime-spec 1.x");
    }
    let process = spec
        .process()
        .as_ref()
        .context("config.json: process is not set")?;
    match process.args() {
        Some(args) if !args.is_empty() => {}
        _ => bail!("config.json: process.args must not be empty"),
    }
    if !process.cwd().is_absolute() {
        bail!(
            "config.json: process.cwd {:?} is not an absolute path",
            process.cwd()
        );
    }
    validate_env(process.env().as_deref().unwrap_or_default())
        .context("config.json: process.env")?;
    validate_hooks(spec)?;
    if let Some(linux) = spec.linux() {
        let mut seen = HashSet::new();
        for ns in linux.namespaces().iter().flatten() {
            if !seen.insert(ns.typ()) {
                bail!(
                    "config.json: namespace {} is listed twice",
                    ns_name(ns.typ())
                );
            }
            if let Some(p) = ns.path() {
                if !p.is_absolute() {
                    bail!("config.json: namespace path {p:?} is not absolute");
                }
            }
        }
        let userns = seen.contains(&LinuxNamespaceType::User);
        let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if has_maps && !userns {
            bail!("config.json: uid/gid mappings are set but there is no user namespace");
        }
        if linux.time_offsets().is_some() && !seen.contains(&LinuxNamespaceType::Time) {
            bail!("config.json: timeOffsets are set but there is no time namespace");
        }
        let listed = [
            ("maskedPaths", linux.masked_paths()),
            ("readonlyPaths", linux.readonly_paths()),
        ];
        for (field, paths) in listed {
            for p in paths.iter().flatten() {
                if !super::fsutil::stays_in_root(Path::new(p)) {
                    bail!("config.json: linux.{field}: {p:?} is not an absolute path inside the container");
                }
            }
        }
        if let Some(sysctl) = linux.sysctl() {
            for key in sysctl.keys() {
                validate_sysctl(key, &seen)?;
            }
        }
    }
    for m in spec.mounts().iter().flatten() {
        if !m.destination().is_absolute() {
            bail!(
                "config.json: mount destination {:?} is not absolute",
                m.destination()
            );
        }
    }
    Ok(())
}

/// Every entry is NAME=VALUE with a non-empty name, as runc requires.
pub fn validate_env(env: &[String]) -> Result<()> {
    for pair in env {
        let Some((name, _)) = pair.split_once('=') else {
            bail!("invalid environment variable {pair:?}: no '='");
        };
        if name.is_empty() {
            bail!("invalid environment variable {pair:?}: the name is empty");
        }
    }
    Ok(())
}

/// Hook paths must be absolute (runtime-spec): a relative one would be
/// looked up in runr's own $PATH.
fn validate_hooks(spec: &Spec) -> Result<()> {
    let Some(h) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)] // prestart is deprecated in the spec but still run
    let lists = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, hooks) in lists {
        for (i, hook) in hooks.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                bail!(
                    "config.json: hooks.{kind}[{i}].path {:?} is not an absolute path",
                    hook.path()
                );
            }
        }
    }
    Ok(())
}

/// The sysctls of the IPC namespace (besides `fs.mqueue.*`), as runc's list.
pub const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Namespaced sysctls only, as runc allows: changing a host-wide one from a container is refused.
fn validate_sysctl(key: &str, ns: &HashSet<LinuxNamespaceType>) -> Result<()> {
    if key.contains("..") || key.starts_with('/') || key.starts_with('.') {
        bail!("sysctl {key:?} is not a valid sysctl name");
    }
    let ok = if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        ns.contains(&LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        ns.contains(&LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        ns.contains(&LinuxNamespaceType::Uts)
    } else {
        false
    };
    if !ok {
        bail!("sysctl {key:?} is not in a separate kernel namespace");
    }
    Ok(())
}

pub fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// Container ids as runc accepts them: `[A-Za-z0-9_+.-]+`, never `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'-'));
    if id.is_empty() || !ok_chars || id == "." || id == ".." || id.len() > 1024 {
        bail!("invalid container id format: {id:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_like_runc() {
        for ok in ["a", "abc-1", "x_y+z.1", "A.b"] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "../x", "a/b", "a b", "a\0", "ü"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn spec_json(extra: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
               "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}}{extra}}}"#
        )
    }

    #[test]
    fn env_entries_need_a_name_and_an_equals_sign() {
        let v = |e: &[&str]| validate_env(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(v(&["A=1", "B=", "C=x=y"]).is_ok());
        assert!(format!("{:#}", v(&["PATH"]).unwrap_err()).contains("\"PATH\": no '='"));
        assert!(v(&["=x"]).is_err());
    }

    #[test]
    fn rejects_major_version_two() {
        let s = spec_json("").replace("1.0.2", "2.0.0");
        let spec: Spec = serde_json::from_str(&s).unwrap();
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("2.0.0"), "{err}");
    }

    #[test]
    fn ignores_unknown_properties() {
        let s = spec_json(r#","futureField":{"x":1}"#);
        let spec: Spec = serde_json::from_str(&s).unwrap();
        validate(&spec).unwrap();
    }

    #[test]
    fn rejects_duplicate_namespaces() {
        let s = spec_json(r#","linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}"#);
        let spec: Spec = serde_json::from_str(&s).unwrap();
        assert!(validate(&spec).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn unknown_namespace_type_is_a_parse_error() {
        let s = spec_json(r#","linux":{"namespaces":[{"type":"bogus"}]}"#);
        let err = serde_json::from_str::<Spec>(&s).unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn masked_paths_must_stay_in_root() {
        for (p, ok) in [
            ("/proc/kcore", true),
            ("/a/../b", true),
            ("../../etc", false),
            ("/a/../../etc", false),
            ("etc", false),
        ] {
            assert_eq!(crate::fsutil::stays_in_root(Path::new(p)), ok, "{p}");
        }
    }

    #[test]
    fn host_sysctls_are_refused() {
        let ns: HashSet<_> = [LinuxNamespaceType::Network].into();
        validate_sysctl("net.ipv4.ip_forward", &ns).unwrap();
        assert!(validate_sysctl("kernel.panic", &ns).is_err());
        assert!(validate_sysctl("kernel.shmmax", &ns).is_err());
    }
}
