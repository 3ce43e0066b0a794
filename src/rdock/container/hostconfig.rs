//! The checked form of `run`/`create`'s container flags (docker's
//! HostConfig): security, resources, read-only root, tmpfs mounts, init.
//! [`HostConfig::from_opts`] gives docker's messages for bad values;
//! [`apply`] writes them into the OCI config built by `spec::build`.
use crate::cli::ContainerOpts;
use crate::container::{resources, security};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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
        Ok(HostConfig {
            security,
            resources,
            read_only: o.read_only,
            tmpfs,
            init,
            stop_signal,
            group_add: o.group_add.clone(),
        })
    }
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
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("open {}: no such file or directory", f.display()))?;
        out.extend(parse_env_file(&text, f)?);
    }
    Ok(out)
}

fn parse_env_file(text: &str, f: &Path) -> Result<Vec<String>> {
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

/// Writes the host config into the spec `v` from `spec::build`.
pub fn apply(v: &mut Value, h: &HostConfig) {
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
        apply(&mut v, &h);
        let args: Vec<String> = serde_json::from_value(v["process"]["args"].clone()).unwrap();
        assert_eq!(args, [INIT_PATH, "--", "sleep", "1"]);
        assert_eq!(user_command(&args).unwrap(), "sleep");
        assert!(v["linux"]["seccomp"]["syscalls"].is_array());
    }
}
