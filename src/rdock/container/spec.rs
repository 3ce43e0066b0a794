//! From an image config and `run`'s flags to an OCI runtime config, making
//! docker's choices: Entrypoint+Cmd, env order, user lookup, default
//! capabilities, masked and read-only paths.
use crate::container::user;
use anyhow::Result;
use oci_spec::image::ImageConfiguration;
use serde_json::{json, Value};
use std::path::Path;

/// docker's default PATH.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

pub const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A bind mount from `-v`.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub source: String,
    pub destination: String,
    pub readonly: bool,
}

/// What `run` asks for, beyond the image.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub cmd: Vec<String>,
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub hostname: String,
    pub volumes: Vec<Volume>,
    /// A network namespace of its own rather than the host's.
    pub own_network: bool,
    /// That namespace pinned on a file (bridge networks), joined by path.
    pub netns: Option<String>,
    /// Security, resources, read-only root, tmpfs, init (`hostconfig`).
    pub host: crate::container::hostconfig::HostConfig,
}

/// Docker's Entrypoint/Cmd rule: `--entrypoint` replaces the image's
/// entrypoint and drops its Cmd; run's CMD replaces the image's Cmd.
pub fn process_args(config: &ImageConfiguration, o: &RunOptions) -> Vec<String> {
    let c = config.config().as_ref();
    let (entry, img_cmd): (Vec<String>, Vec<String>) = match &o.entrypoint {
        Some(e) if e.is_empty() => (vec![], vec![]),
        Some(e) => (vec![e.clone()], vec![]),
        None => (
            c.and_then(|c| c.entrypoint().clone()).unwrap_or_default(),
            c.and_then(|c| c.cmd().clone()).unwrap_or_default(),
        ),
    };
    let cmd = if o.cmd.is_empty() {
        img_cmd
    } else {
        o.cmd.clone()
    };
    entry.into_iter().chain(cmd).collect()
}

/// Sets KEY=VALUE in `env`, in place when KEY is already there.
fn replace_or_append(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(slot) => *slot = kv.to_string(),
        None => env.push(kv.to_string()),
    }
}

/// PATH, HOSTNAME, TERM (with a tty), then the image's Env, then `-e`;
/// later values of a key replace earlier ones where they stand.
pub fn process_env(config: &ImageConfiguration, o: &RunOptions) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", o.hostname),
    ];
    if o.tty {
        env.push("TERM=xterm".into());
    }
    let image_env = config
        .config()
        .as_ref()
        .and_then(|c| c.env().clone())
        .unwrap_or_default();
    for kv in image_env.iter().chain(&o.env) {
        // `-e KEY` alone takes the value from rdock's environment, as docker does.
        if !kv.contains('=') {
            if let Ok(v) = std::env::var(kv) {
                replace_or_append(&mut env, &format!("{kv}={v}"));
            }
            continue;
        }
        replace_or_append(&mut env, kv);
    }
    env
}

/// The config.json for a container whose rootfs is `rootfs` and whose
/// `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf` are files in `dir`.
pub fn build(
    config: &ImageConfiguration,
    o: &RunOptions,
    rootfs: &Path,
    dir: &Path,
) -> Result<Value> {
    let mut v = ::runtime::spec_template::default_spec();
    // What docker writes: every runtime of the field accepts it (crun 1.8
    // refuses a minor version newer than its own), and nothing rdock asks
    // for needs a later one.
    v["ociVersion"] = json!("1.0.2-dev");
    let args = process_args(config, o);
    if args.is_empty() {
        anyhow::bail!("No command specified");
    }
    let img = config.config().as_ref();
    let cwd = o
        .workdir
        .clone()
        .or_else(|| img.and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let user_spec = o
        .user
        .clone()
        .or_else(|| img.and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let u = user::resolve(rootfs, &user_spec, &o.host.group_add)?;
    let caps = json!(DEFAULT_CAPS);
    let mut user = json!({ "uid": u.uid, "gid": u.gid });
    if !u.additional_gids.is_empty() {
        user["additionalGids"] = json!(u.additional_gids);
    }
    v["process"] = json!({
        "terminal": o.tty,
        "user": user,
        "args": args,
        "env": process_env(config, o),
        "cwd": cwd,
        "capabilities": { "bounding": caps, "effective": caps, "permitted": caps },
        "noNewPrivileges": false
    });
    v["root"] = json!({ "path": rootfs, "readonly": false });
    v["hostname"] = json!(o.hostname);
    let mounts = v["mounts"].as_array_mut().expect("default spec has mounts");
    for f in ["resolv.conf", "hostname", "hosts"] {
        mounts.push(json!({
            "destination": format!("/etc/{f}"), "type": "bind",
            "source": dir.join(f), "options": ["rbind", "rprivate"]
        }));
    }
    for vol in &o.volumes {
        let mut opts = vec!["rbind", "rprivate"];
        if vol.readonly {
            opts.push("ro");
        }
        mounts.push(json!({
            "destination": vol.destination, "type": "bind",
            "source": vol.source, "options": opts
        }));
    }
    let linux = &mut v["linux"];
    linux["maskedPaths"] = json!(MASKED);
    linux["readonlyPaths"] = json!(READONLY);
    let ns = linux["namespaces"].as_array_mut().expect("namespaces");
    if !o.own_network {
        ns.retain(|n| n["type"] != "network");
    } else if let Some(p) = &o.netns {
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({ "type": "network", "path": p }));
    }
    crate::container::hostconfig::apply(dir, &mut v, &o.host)?;
    // Parents before children, as docker orders them: `--tmpfs /app` must
    // not hide `-v DIR:/app/sub` given before it.
    if let Some(m) = v["mounts"].as_array_mut() {
        m.sort_by_key(|m| {
            let d = m["destination"].as_str().unwrap_or_default();
            d.split('/').filter(|c| !c.is_empty()).count()
        });
    }
    Ok(v)
}

/// `/etc/hosts` as docker writes it.
pub fn hosts_file(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entry: Option<&[&str]>, cmd: Option<&[&str]>, env: &[&str]) -> ImageConfiguration {
        let mut c = json!({ "architecture": "amd64", "os": "linux",
            "rootfs": { "type": "layers", "diff_ids": [] }, "config": { "Env": env } });
        if let Some(e) = entry {
            c["config"]["Entrypoint"] = json!(e);
        }
        if let Some(x) = cmd {
            c["config"]["Cmd"] = json!(x);
        }
        serde_json::from_value(c).unwrap()
    }

    fn opts(cmd: &[&str]) -> RunOptions {
        RunOptions {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            hostname: "abc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn run_command_replaces_image_cmd_but_keeps_entrypoint() {
        let img = image(Some(&["/entry"]), Some(&["a", "b"]), &[]);
        assert_eq!(process_args(&img, &opts(&[])), ["/entry", "a", "b"]);
        assert_eq!(process_args(&img, &opts(&["x"])), ["/entry", "x"]);
    }

    #[test]
    fn entrypoint_flag_clears_image_cmd() {
        let img = image(Some(&["/entry"]), Some(&["a"]), &[]);
        let mut o = opts(&[]);
        o.entrypoint = Some("/bin/true".into());
        assert_eq!(process_args(&img, &o), ["/bin/true"]);
        o.cmd = vec!["x".into()];
        assert_eq!(process_args(&img, &o), ["/bin/true", "x"]);
    }

    #[test]
    fn env_is_path_hostname_term_image_then_flags() {
        let img = image(None, Some(&["sh"]), &["PATH=/img", "A=1", "B=2"]);
        let mut o = opts(&[]);
        o.tty = true;
        o.env = vec!["B=3".into(), "C=4".into()];
        assert_eq!(
            process_env(&img, &o),
            [
                "PATH=/img",
                "HOSTNAME=abc",
                "TERM=xterm",
                "A=1",
                "B=3",
                "C=4"
            ]
        );
    }

    #[test]
    fn env_without_tty_has_no_term_and_default_path() {
        let img = image(None, Some(&["sh"]), &[]);
        let env = process_env(&img, &opts(&[]));
        assert_eq!(env, [format!("PATH={DEFAULT_PATH}"), "HOSTNAME=abc".into()]);
    }

    #[test]
    fn config_has_docker_defaults_and_etc_files() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(None, Some(&["sh"]), &[]);
        let mut o = opts(&[]);
        o.volumes = vec![Volume {
            source: "/h".into(),
            destination: "/c".into(),
            readonly: true,
        }];
        let v = build(&img, &o, &dir.path().join("rootfs"), dir.path()).unwrap();
        let spec: oci_spec::runtime::Spec = serde_json::from_value(v.clone()).unwrap();
        ::runtime::spec::validate(&spec).unwrap();
        assert_eq!(v["hostname"], "abc");
        assert_eq!(
            v["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len(),
            14
        );
        let dests: Vec<&str> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        for d in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/c"] {
            assert!(dests.contains(&d), "{d} missing");
        }
        let depth = |d: &&str| d.matches('/').count();
        assert!(
            dests.windows(2).all(|w| depth(&w[0]) <= depth(&w[1])),
            "parents first: {dests:?}"
        );
        let ns = v["linux"]["namespaces"].as_array().unwrap();
        assert!(
            !ns.iter().any(|n| n["type"] == "network"),
            "host network by default"
        );
        assert_eq!(
            v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO",
            "docker's default seccomp profile"
        );
    }

    #[test]
    fn image_without_command_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(None, None, &[]);
        assert!(build(&img, &opts(&[]), dir.path(), dir.path()).is_err());
    }
}
