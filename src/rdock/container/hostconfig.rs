//! The checked form of `run`/`create`'s container flags (docker's
//! HostConfig): security, resources, read-only root, tmpfs mounts, init.
//! [`HostConfig::from_opts`] gives docker's messages for bad values;
//! [`apply`] writes them into the OCI config built by `spec::build`.
use crate::cli::ContainerOpts;
use crate::container::{devices, dnshosts, limits, mounts, namespaces, resources, security};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A value docker's daemon refuses (not its command line): printed as
/// `rdock: Error response from daemon: MSG.`, exit 125 (127 when MSG says
/// "no such file or directory", as docker's CLI decides).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DaemonError(pub String);

/// An error of docker's client after the flags parsed (`docker: MSG.`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

/// docker's message for a flag value its parser refuses.
pub fn flag_error(value: &str, flag: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!("invalid argument \"{value}\" for \"{flag}\" flag: {why}")
}

/// Where the init binary appears inside the container, as in docker.
pub const INIT_PATH: &str = "/sbin/docker-init";
/// The init bound there: Debian's catatonit.
pub const INIT_BINARY: &str = "/usr/bin/catatonit";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    pub security: security::Security,
    pub resources: resources::Resources,
    pub read_only: bool,
    /// `--tmpfs PATH[:OPTIONS]`: destination and mount options.
    pub tmpfs: Vec<(String, Vec<String>)>,
    /// The host binary bound at [`INIT_PATH`] with `--init`.
    pub init: Option<PathBuf>,
    /// `--stop-signal`, as the runtime's `kill` takes it (`USR1`, `10`).
    pub stop_signal: Option<String>,
    /// `--group-add`: group names or numbers, resolved in the image.
    pub group_add: Vec<String>,
    /// `--mount`.
    pub mounts: Vec<mounts::Mount>,
    /// `--dns*`, `--add-host`.
    pub dns: dnshosts::Dns,
    pub ulimits: Vec<limits::Ulimit>,
    /// `--shm-size` in bytes (None: docker's 64 MiB).
    pub shm_size: Option<i64>,
    /// `--device` as given (their nodes are found at each start).
    pub devices: Vec<devices::Mapping>,
    /// `--ipc`, `--pid`, `--uts`, `--userns`.
    pub modes: namespaces::Modes,
    pub sysctls: BTreeMap<String, String>,
    /// `--stop-timeout` in seconds.
    pub stop_timeout: Option<i64>,
    /// `-l`, `--label-file` (Config.Labels).
    pub labels: BTreeMap<String, String>,
}

impl HostConfig {
    pub fn from_opts(o: &ContainerOpts) -> Result<HostConfig> {
        let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let security = security::parse(&o.cap_add, &o.cap_drop, o.privileged, &o.security_opt)?;
        let resources = resources::parse(
            o.memory.as_deref(),
            o.memory_swap.as_deref(),
            o.cpus.as_deref(),
            o.cpu_shares.as_deref(),
            o.pids_limit.as_deref(),
            host_cpus,
        )?;
        let tmpfs = o
            .tmpfs
            .iter()
            .map(|t| parse_tmpfs(t))
            .collect::<Result<Vec<_>>>()?;
        let init = if o.init {
            let p = PathBuf::from(INIT_BINARY);
            if !p.is_file() {
                bail!(
                    "--init needs an init binary at {INIT_BINARY}: install Debian's \
                     catatonit package (apt-get install catatonit)"
                );
            }
            Some(p)
        } else {
            None
        };
        let stop_signal = o.stop_signal.as_deref().map(parse_signal).transpose()?;
        let mounts = o
            .mount
            .iter()
            .map(|m| mounts::parse(m))
            .collect::<Result<Vec<_>>>()?;
        let dns = dnshosts::parse(&o.dns, &o.dns_search, &o.dns_option, &o.add_host)?;
        let ulimits = limits::parse_ulimits(&o.ulimit)?;
        let shm_size = limits::parse_shm_size(o.shm_size.as_deref())?;
        let devices = o
            .device
            .iter()
            .map(|d| devices::parse(d))
            .collect::<Result<Vec<_>>>()?;
        let sysctls = namespaces::parse_sysctls(&o.sysctl)?;
        let stop_timeout = o
            .stop_timeout
            .as_deref()
            .map(|t| {
                t.parse::<i64>().map_err(|_| {
                    flag_error(
                        t,
                        "--stop-timeout",
                        &format!("strconv.ParseInt: parsing {t:?}: invalid syntax"),
                    )
                })
            })
            .transpose()?;
        let labels = parse_labels(&o.label, &o.label_file)?;
        let modes = namespaces::parse(
            o.ipc.as_deref(),
            o.pid.as_deref(),
            o.uts.as_deref(),
            o.userns.as_deref(),
        )?;
        Ok(HostConfig {
            security,
            resources,
            read_only: o.read_only,
            tmpfs,
            init,
            stop_signal,
            group_add: o.group_add.clone(),
            mounts,
            dns,
            ulimits,
            shm_size,
            devices,
            modes,
            sysctls,
            stop_timeout,
            labels,
        })
    }

    /// What docker's daemon checks at create: `--mount` sources and
    /// targets, the namespace modes against each other and the containers
    /// joined.
    /// `targets`: the `-v` destinations, for duplicates.
    pub fn check(
        &self,
        root: &Path,
        volume_targets: &[&str],
        host_network: bool,
        hostname_given: bool,
    ) -> Result<()> {
        for m in &self.mounts {
            m.check()?;
        }
        mounts::check_duplicates(
            volume_targets
                .iter()
                .copied()
                .chain(self.mounts.iter().map(|m| m.target.as_str())),
        )?;
        namespaces::check(
            root,
            &self.modes,
            &self.sysctls,
            host_network,
            hostname_given,
        )
    }
}

/// docker's client message for a file of `--env-file`/`--label-file` it
/// cannot read (a flag error: exit 125).
fn open_error(f: &Path, e: std::io::Error) -> anyhow::Error {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    anyhow::anyhow!("rdock: open {}: {why}", f.display())
}

/// Before each start, what docker's daemon does then: the `--device`
/// nodes found on the host, the shareable /dev/shm mounted, the containers
/// whose namespaces are joined looked up again; into the bundle's config.
pub fn refresh(root: &Path, dir: &Path) -> Result<()> {
    let asked: Value = match std::fs::read(dir.join("inspect.json")) {
        Ok(d) => serde_json::from_slice(&d).unwrap_or_default(),
        Err(_) => return Ok(()),
    };
    let p = dir.join("bundle/config.json");
    let data = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    let mut v: Value =
        serde_json::from_slice(&data).with_context(|| format!("parsing {}", p.display()))?;
    let before = v.clone();
    devices::refresh(&asked, &mut v)?;
    namespaces::refresh(root, dir, &asked, &mut v)?;
    if v != before {
        crate::container::record::write_private(&p, &serde_json::to_vec_pretty(&v)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// `-l KEY[=VALUE]` over `--label-file` lines (docker's env-file grammar:
/// a line without `=` takes rdock's environment, dropped when unset).
fn parse_labels(labels: &[String], files: &[PathBuf]) -> Result<BTreeMap<String, String>> {
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| open_error(f, e))?;
        all.extend(parse_env_file(&text, f)?);
    }
    all.extend(labels.iter().cloned());
    Ok(all
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect())
}

/// The seconds `stop`/`restart` wait before SIGKILL: `-t`, else the
/// container's `--stop-timeout` (kept in its `inspect.json`), else 10;
/// a negative value waits for ever.
pub fn stop_secs(dir: &Path, asked: Option<i64>) -> u64 {
    let t = asked.unwrap_or_else(|| {
        std::fs::read(dir.join("inspect.json"))
            .ok()
            .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
            .and_then(|v| v["Config"]["StopTimeout"].as_i64())
            .unwrap_or(10)
    });
    u64::try_from(t).unwrap_or(u64::MAX / 4)
}

/// The parts of `inspect` these flags fill: (HostConfig fields, Config fields).
pub fn inspect(h: &HostConfig) -> (Value, Value) {
    let list = |v: &[String]| if v.is_empty() { json!([]) } else { json!(v) };
    let host = json!({
        "Mounts": if h.mounts.is_empty() { json!(null) }
            else { h.mounts.iter().map(mounts::Mount::inspect).collect() },
        "Dns": list(&h.dns.servers),
        "DnsSearch": list(&h.dns.search),
        "DnsOptions": list(&h.dns.options),
        "ExtraHosts": if h.dns.extra_hosts.is_empty() { json!(null) } else { json!(h.dns.extra_hosts) },
        "Ulimits": limits::inspect(&h.ulimits),
        "Devices": devices::inspect(&h.devices),
        "ShmSize": h.shm_size.unwrap_or(limits::DEFAULT_SHM),
        // docker's daemon default is private.
        "IpcMode": if h.modes.ipc.is_empty() { "private" } else { h.modes.ipc.as_str() },
        "PidMode": h.modes.pid,
        "UTSMode": h.modes.uts,
        "UsernsMode": h.modes.userns,
        "Sysctls": if h.sysctls.is_empty() { json!(null) } else { json!(h.sysctls) },
    });
    let config = json!({
        "Labels": h.labels,
        "StopTimeout": h.stop_timeout,
    });
    (host, config)
}

/// `SIGUSR1`, `usr1` or `10` → `USR1` / `10`; docker's error otherwise.
pub fn parse_signal(s: &str) -> Result<String> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n.to_string());
        }
    } else {
        let up = s.to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        if name.parse::<nix::sys::signal::Signal>().is_ok()
            || format!("SIG{name}")
                .parse::<nix::sys::signal::Signal>()
                .is_ok()
        {
            return Ok(name.to_string());
        }
    }
    bail!("Invalid signal: {s}")
}

/// `--tmpfs /run:rw,size=64m` → ("/run", docker's defaults + the options).
pub fn parse_tmpfs(s: &str) -> Result<(String, Vec<String>)> {
    let (path, opts) = s.split_once(':').unwrap_or((s, ""));
    if !path.starts_with('/') {
        bail!("invalid mount path for tmpfs: \"{path}\": must be absolute");
    }
    let mut o: Vec<String> = ["noexec", "nosuid", "nodev"]
        .iter()
        .map(|x| x.to_string())
        .collect();
    o.extend(
        opts.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string),
    );
    Ok((path.to_string(), o))
}

/// Lines of docker's env files: `KEY=VALUE` taken as is, `KEY` alone
/// takes rdock's own value (left out when unset), `#` lines and blank
/// lines skipped.
pub fn read_env_files(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| open_error(f, e))?;
        out.extend(parse_env_file(&text, f)?);
    }
    Ok(out)
}

pub(crate) fn parse_env_file(text: &str, f: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (key, value) = match l.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (l.trim_end(), None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!(
                "{}: line {}: variable '{key}' contains whitespaces",
                f.display(),
                i + 1
            );
        }
        match value {
            Some(v) => out.push(format!("{key}={v}")),
            None => {
                if let Ok(v) = std::env::var(key) {
                    out.push(format!("{key}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// The command the user asked for, past the init when there is one.
pub fn user_command(args: &[String]) -> Option<&String> {
    match args {
        [init, dash, rest @ ..] if init == INIT_PATH && dash == "--" => rest.first(),
        _ => args.first(),
    }
}

/// Writes the host config into the spec `v` from `spec::build` for the
/// container whose directory is `dir`.
pub fn apply(dir: &Path, v: &mut Value, h: &HostConfig) -> Result<()> {
    security::apply(v, &h.security);
    resources::apply(
        &mut v["linux"]["resources"],
        &h.resources,
        resources::swap_accounting(),
    );
    if h.read_only {
        v["root"]["readonly"] = json!(true);
        // The files rdock bind-mounts into /etc are read-only too, as docker's.
        for m in v["mounts"].as_array_mut().expect("spec has mounts") {
            let etc = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];
            if etc.iter().any(|e| m["destination"] == *e) {
                if let Some(o) = m["options"].as_array_mut() {
                    o.push(json!("ro"));
                }
            }
        }
    }
    let mounts = v["mounts"].as_array_mut().expect("spec has mounts");
    for (dest, opts) in &h.tmpfs {
        mounts.retain(|m| m["destination"] != json!(dest));
        mounts.push(json!({
            "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts
        }));
    }
    if let Some(init) = &h.init {
        mounts.push(json!({
            "destination": INIT_PATH, "type": "bind", "source": init,
            "options": ["rbind", "rprivate", "ro"]
        }));
        let args = v["process"]["args"].as_array().cloned().unwrap_or_default();
        let mut with_init = vec![json!(INIT_PATH), json!("--")];
        with_init.extend(args);
        v["process"]["args"] = json!(with_init);
    }
    let mounts = v["mounts"].as_array_mut().expect("spec has mounts");
    for m in &h.mounts {
        if let Some(oci) = m.oci() {
            mounts.retain(|x| x["destination"] != json!(m.target));
            mounts.push(oci);
        }
    }
    if let Some(size) = h.shm_size {
        limits::apply_shm_size(mounts, size);
    }
    limits::apply_ulimits(&mut v["process"], &h.ulimits);
    namespaces::apply(dir, v, &h.modes, &h.sysctls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_in_docker_format() {
        std::env::set_var("RDOCK_TEST_ENVFILE_HOST", "from-host");
        let text =
            "# comment\nA=1\n\n  B=two words\nRDOCK_TEST_ENVFILE_HOST\nRDOCK_TEST_UNSET_XYZ\nC=\n";
        let e = parse_env_file(text, Path::new("f")).unwrap();
        assert_eq!(
            e,
            [
                "A=1",
                "B=two words",
                "RDOCK_TEST_ENVFILE_HOST=from-host",
                "C="
            ]
        );
        assert!(parse_env_file("BAD KEY=1\n", Path::new("f")).is_err());
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("SIGUSR1").unwrap(), "USR1");
        assert_eq!(parse_signal("quit").unwrap(), "QUIT");
        assert_eq!(parse_signal("10").unwrap(), "10");
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn tmpfs_gets_docker_defaults() {
        let (d, o) = parse_tmpfs("/run:size=1m").unwrap();
        assert_eq!(d, "/run");
        assert_eq!(o, ["noexec", "nosuid", "nodev", "size=1m"]);
        assert!(parse_tmpfs("run").is_err());
    }

    #[test]
    fn init_goes_in_front_of_the_command() {
        let mut v = ::runtime::spec_template::default_spec();
        v["process"]["args"] = json!(["sleep", "1"]);
        let h = HostConfig {
            init: Some(PathBuf::from(INIT_BINARY)),
            ..Default::default()
        };
        apply(Path::new("/nonexistent/containers/x"), &mut v, &h).unwrap();
        let args: Vec<String> = serde_json::from_value(v["process"]["args"].clone()).unwrap();
        assert_eq!(args, [INIT_PATH, "--", "sleep", "1"]);
        assert_eq!(user_command(&args).unwrap(), "sleep");
        assert!(v["linux"]["seccomp"]["syscalls"].is_array());
    }
}
