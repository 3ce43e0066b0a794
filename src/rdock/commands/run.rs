//! `rdock run [OPTIONS] IMAGE [COMMAND] [ARG...]`
use super::runio;
use super::Context;
use crate::cli::{ContainerOpts, RunArgs};
use crate::container::health::Config as HealthConfig;
use crate::container::hostconfig::{self, read_env_files, CliError, DaemonError, HostConfig};
use crate::container::logdriver::LogConfig;
use crate::container::restart::{PolicyError, RestartPolicy};
use crate::container::{self, record::Record, spec, CreateRequest};
use crate::progress::Terminal;
use anyhow::{bail, Context as _, Result};
use image::platform::Platform;
use image::pull::{pull, PullOptions};
use image::store::LocalImage;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;

/// `-v SRC:DST[:ro|rw]`
pub fn parse_volume(v: &str) -> Result<spec::Volume> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        // `-v /path`: an anonymous volume (empty source; create names it).
        [d] if d.starts_with('/') => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => bail!("invalid volume specification: '{v}'"),
    };
    if !destination.starts_with('/') || (source.is_empty() && parts.len() > 1) {
        bail!("invalid volume specification: '{v}'");
    }
    let readonly = match mode {
        "" | "rw" => false,
        "ro" => true,
        m => bail!("invalid mode: {m}"),
    };
    Ok(spec::Volume {
        source: source.to_string(),
        destination: destination.to_string(),
        readonly,
    })
}

/// `busybox` → `busybox:latest`, as docker names what it looks for.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// How `--pull` asks for the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PullPolicy {
    Missing,
    Always,
    Never,
}

pub fn parse_pull_policy(s: &str) -> Result<PullPolicy> {
    match s {
        "missing" => Ok(PullPolicy::Missing),
        "always" => Ok(PullPolicy::Always),
        "never" => Ok(PullPolicy::Never),
        _ => {
            bail!("invalid pull option: '{s}': must be one of \"always\", \"missing\" or \"never\"")
        }
    }
}

/// The image for `run`/`create`, following `--pull` and `--platform`: a
/// local image of another platform than the one asked for is pulled again.
pub fn image_for(
    ctx: &Context,
    name: &str,
    policy: PullPolicy,
    platform: Option<Platform>,
) -> Result<LocalImage> {
    let store = Arc::new(ctx.store()?);
    let local = store.resolve(name).ok().filter(|img| match &platform {
        Some(p) => {
            img.config.architecture().to_string() == p.architecture
                && img.config.os().to_string() == p.os
        }
        None => true,
    });
    match (policy, local) {
        (PullPolicy::Never, Some(img)) | (PullPolicy::Missing, Some(img)) => return Ok(img),
        (PullPolicy::Never, None) => bail!("No such image: {}", with_default_tag(name)),
        (PullPolicy::Missing, None) => {
            eprintln!("Unable to find image '{}' locally", with_default_tag(name));
        }
        (PullPolicy::Always, _) => {}
    }
    let opts = PullOptions {
        registry: ctx.registry_options()?,
        platform,
        parallel: 3,
    };
    // docker prints run's pull progress on stderr: stdout is the container's.
    let saved = nix::unistd::dup(1).context("saving stdout")?;
    // SAFETY: dup returned a fresh fd that nothing else owns.
    let saved = unsafe { std::os::fd::OwnedFd::from_raw_fd(saved) };
    nix::unistd::dup2(2, 1).context("pointing stdout at stderr")?;
    let pulled = (|| {
        let rt = ctx.runtime()?;
        let p = rt.block_on(pull(store.clone(), name, &opts, &Terminal::new(false)))?;
        crate::events::image_pulled(&ctx.root, &p.name);
        store.resolve(&p.record.id)
    })();
    nix::unistd::dup2(saved.as_raw_fd(), 1).context("restoring stdout")?;
    pulled
}

/// A bad flag value of `run`/`create`: printed as docker prints flag
/// errors (no daemon prefix, with the help hint), exit 125.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// docker's exit code and message for `run`'s own errors: 125 and
/// `rdock: Error response from daemon: MSG.` with the help hint.
pub fn run(ctx: &Context, a: RunArgs) -> Result<i32> {
    if a.detach && !a.opts.attach.is_empty() {
        if let Err(e) = runio::parse_attach(&a.opts.attach, a.interactive, a.detach) {
            return Ok(report_125(&usage(e), "run"));
        }
        eprintln!("Conflicting options: -a and -d");
        return Ok(1);
    }
    match run_container(ctx, a) {
        Ok(code) => Ok(code),
        Err(e) => Ok(report_125(&e, "run")),
    }
}

/// Prints `e` the way docker's run/create print their failures: 125, or
/// 127 when the message says "no such file or directory" (docker's CLI
/// decides so for everything but a flag error).
pub fn report_125(e: &anyhow::Error, verb: &str) -> i32 {
    let hint = format!("See 'rdock {verb} --help'.");
    let msg = if let Some(u) = e.downcast_ref::<UsageError>() {
        // docker's flag errors end without a period, its other messages with one.
        let stop = if u.0.starts_with("invalid argument ") {
            ""
        } else {
            "."
        };
        eprintln!("{u}{stop}\n{hint}");
        return 125;
    } else if let Some(c) = e.downcast_ref::<CliError>() {
        format!("rdock: {c}")
    } else {
        format!("rdock: Error response from daemon: {e:#}")
    };
    eprintln!("{msg}.\n{hint}");
    if msg.contains("no such file or directory") {
        127
    } else {
        125
    }
}

/// A flag error (docker's client refused the value), unless the check
/// was the daemon's or the client's after parsing.
fn usage(e: anyhow::Error) -> anyhow::Error {
    if e.is::<DaemonError>() || e.is::<CliError>() {
        e
    } else {
        anyhow::Error::new(UsageError(format!("{e:#}")))
    }
}

/// The flags of `run`/`create` checked before anything is pulled or made:
/// the host config and the env files' lines (before `-e`, as docker).
pub fn check_container_opts(
    o: &ContainerOpts,
    env: &[String],
) -> Result<(HostConfig, Vec<String>, PullPolicy, Option<Platform>)> {
    let host = HostConfig::from_opts(o).map_err(usage)?;
    let policy = parse_pull_policy(&o.pull).map_err(usage)?;
    let platform = o.platform.as_deref().map(Platform::parse).transpose()?;
    let mut all_env = read_env_files(&o.env_file).map_err(usage)?;
    all_env.extend(env.iter().cloned());
    Ok((host, all_env, policy, platform))
}

/// `--restart`, checked as docker checks it: the format in the client
/// (`rdock: MSG.`, 125), the policy in the daemon; refused with `--rm`.
pub fn check_restart(a: &RunArgs) -> Result<RestartPolicy> {
    let parsed = RestartPolicy::parse(&a.monitor.restart);
    if let Err(PolicyError::Format(m)) = parsed {
        bail!(UsageError(format!("rdock: {m}")));
    }
    // The client's conflict check looks at the name alone.
    let name = a.monitor.restart.split(':').next().unwrap_or("");
    if a.rm && !["", "no"].contains(&name) {
        bail!(UsageError(
            "rdock: Conflicting options: --restart and --rm".into()
        ));
    }
    parsed.map_err(|e| anyhow::anyhow!(e))
}

/// The health flags: the client's checks (flag values 125 as flag errors,
/// conflicts and negatives as `rdock: MSG.`), then the daemon's.
fn check_health(a: &RunArgs) -> Result<Option<HealthConfig>> {
    let h = HealthConfig::from_flags(&a.health).map_err(|e| {
        UsageError(if e.parse {
            e.message
        } else {
            format!("rdock: {}", e.message)
        })
    })?;
    if let Some(h) = &h {
        h.validate()?;
    }
    Ok(h)
}

fn run_container(ctx: &Context, a: RunArgs) -> Result<i32> {
    let r = create_container(ctx, &a, true)?;
    if !a.detach && !r.restart_policy.is_none() {
        // The monitor restarts the container after we return: a detached
        // one, and we attach to it for the first run, as docker's client.
        container::start_detached(&ctx.root, &r.id, true)?;
        let dir = container::record::dir_of(&ctx.root, &r.id);
        return super::attach::attach(&dir, a.interactive, a.tty);
    }
    if a.detach {
        container::start_detached(&ctx.root, &r.id, false)?;
        println!("{}", r.id);
        return Ok(0);
    }
    // Checked by create_container.
    let streams = runio::parse_attach(&a.opts.attach, a.interactive, false)?;
    let sig_proxy = runio::parse_sig_proxy(&a.opts.sig_proxy)?;
    let keys = match &a.opts.detach_keys {
        Some(k) => runio::parse_detach_keys(k)?,
        None => super::attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    if !streams.stdout && !streams.stderr {
        // Nothing of the container's shown: docker prints its id instead.
        println!("{}", r.id);
    }
    let dir = container::record::dir_of(&ctx.root, &r.id);
    let mut shown = streams;
    if !shown.stderr && !command_found(&dir) {
        // rdock's own message about the command (docker's client prints it
        // whatever `-a` says) goes to our stderr.
        shown.stderr = true;
    }
    // The streams not attached (`-a`) are not shown (the log has them).
    let _silence = runio::Silence::new(&shown)?;
    crate::events::container(&ctx.root, &r, "attach", &[]);
    if a.tty && a.interactive {
        // A monitor of its own and an attach client here, so that
        // ctrl-p ctrl-q can leave the container running, as docker's.
        container::monitor::set_console_size(&dir.join("bundle/config.json"));
        container::start_detached(&ctx.root, &r.id, true)?;
        return super::attach::attach_with_keys(&dir, true, true, keys);
    }
    if !sig_proxy && !a.tty {
        // `--sig-proxy=false`: a monitor of its own and a client that
        // forwards no signal; one that kills rdock leaves the container running.
        container::start_detached(&ctx.root, &r.id, true)?;
        return super::attach::attach(&dir, a.interactive, false);
    }
    // The monitor loop runs here: output logged and shown, signals forwarded.
    container::supervise(
        &ctx.root,
        &r.id,
        true,
        None,
        None,
        container::Attempt::First,
    )
    .map(|end| end.code)
}

/// Whether the container's command will be found (the check the start
/// makes), its rootfs being mounted for the start.
fn command_found(dir: &std::path::Path) -> bool {
    use container::{hostconfig::user_command, rootfs};
    let Ok(config) = container::bundle_config(dir) else {
        return true;
    };
    let (args, env) = container::process_of(&config);
    let view = rootfs::View::of_config(&rootfs::rootfs_of(dir), &config);
    let cmd = user_command(&args).map_or("", String::as_str);
    rootfs::check_executable(&view, cmd, &env).is_ok()
}

/// Pulls the image if needed and creates the container (`run` and `create`);
/// `start_now` leaves its rootfs mounted for the start that follows.
pub fn create_container(ctx: &Context, a: &RunArgs, start_now: bool) -> Result<Record> {
    let (host, env, policy, platform) = check_container_opts(&a.opts, &a.env)?;
    let restart = check_restart(a)?;
    let health = check_health(a)?;
    let log_config = LogConfig::parse(&a.monitor.log_driver, &a.monitor.log_opt)?;
    let streams = runio::parse_attach(&a.opts.attach, a.interactive, a.detach).map_err(usage)?;
    runio::parse_sig_proxy(&a.opts.sig_proxy).map_err(usage)?;
    if let Some(k) = &a.opts.detach_keys {
        runio::parse_detach_keys(k)?;
    }
    let flags = crate::network::Flags {
        networks: &a.network,
        publish: &a.publish,
        publish_all: a.publish_all,
        expose: &a.expose,
        ip: a.ip.as_deref(),
        ip6: a.ip6.as_deref(),
        aliases: &a.network_alias,
    };
    let mut network = crate::network::plan(&ctx.root, &flags).map_err(|e| {
        match e.downcast_ref::<crate::network::ClientError>() {
            // docker's client prints these as `docker: MSG.`
            Some(c) => anyhow::Error::new(UsageError(format!("rdock: {c}"))),
            None => e,
        }
    })?;
    let mut volumes = a
        .volume
        .iter()
        .map(|v| parse_volume(v))
        .collect::<Result<Vec<_>>>()?;
    let mut cidfile = runio::CidFile::create(a.opts.cidfile.as_deref())?;
    let targets: Vec<&str> = volumes.iter().map(|v| v.destination.as_str()).collect();
    host.check(
        &ctx.root,
        &targets,
        matches!(network.mode, crate::network::Mode::Host),
        a.hostname.is_some(),
    )?;
    if start_now {
        // A device missing at the start that follows: refused now, so that
        // `run -d` reports it too (docker's create accepts it, its start fails).
        for d in &host.devices {
            crate::container::devices::gather(d)?;
        }
    }
    // `--mount type=volume`: named or anonymous volumes, as `-v` makes them.
    volumes.extend(
        host.mounts
            .iter()
            .filter(|m| m.kind == "volume")
            .map(|m| spec::Volume {
                source: m.source.clone(),
                destination: m.target.clone(),
                readonly: m.readonly,
            }),
    );
    let hostname = if host.modes.uts == "host" {
        // The host's name, as the container sees it.
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default()
    } else {
        a.hostname.clone().unwrap_or_default()
    };
    let runtime = container::runtime::locate(ctx.runtime.as_deref())?;
    let requested = platform.is_some();
    let image = image_for(ctx, &a.image, policy, platform)?;
    if !requested {
        warn_foreign_platform(&image);
    }
    if let Some(ports) = image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.exposed_ports().clone())
    {
        network.expose_image(&ports);
    }
    let mut inspect = inspect_config(a, &host, &network, &runtime, &restart, &log_config);
    let (hc, config) = hostconfig::inspect(&host);
    for (k, v) in hc.as_object().into_iter().flatten() {
        inspect["HostConfig"][k] = v.clone();
    }
    inspect["HostConfig"]["ContainerIDFile"] = serde_json::json!(a
        .opts
        .cidfile
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default());
    inspect["Config"] = config;
    inspect["Config"]["AttachStdin"] = streams.stdin.into();
    inspect["Config"]["AttachStdout"] = streams.stdout.into();
    inspect["Config"]["AttachStderr"] = streams.stderr.into();
    let image_health = ctx
        .store()?
        .read_blob(&image.id)
        .ok()
        .and_then(|c| HealthConfig::of_image(&c));
    if let Some(h) = HealthConfig::merge(health, image_health) {
        inspect["Healthcheck"] = serde_json::json!(h);
    }
    let req = CreateRequest {
        inspect,
        image_name: a.image.clone(),
        name: a.name.clone(),
        run: spec::RunOptions {
            cmd: a.command.clone(),
            entrypoint: a.entrypoint.clone(),
            env,
            workdir: a.workdir.clone(),
            user: a.user.clone(),
            tty: a.tty,
            hostname,
            volumes,
            own_network: network.own_namespace(),
            netns: None,
            host,
        },
        runtime,
        auto_remove: a.rm,
        interactive: a.interactive,
        restart,
        log_config,
        network,
        keep_mounted: start_now,
    };
    let r = container::create(&ctx.root, &image, req)?;
    cidfile.write(&r.id)?;
    Ok(r)
}

/// What `inspect` shows of the flags, in docker's shape: its HostConfig
/// (null where docker leaves a flag unset) and Config.User as given.
fn inspect_config(
    a: &RunArgs,
    h: &HostConfig,
    net: &crate::network::Plan,
    runtime: &std::path::Path,
    restart: &RestartPolicy,
    log_config: &LogConfig,
) -> serde_json::Value {
    use serde_json::json;
    let list = |v: &[String]| if v.is_empty() { json!(null) } else { json!(v) };
    // Host directories and named volumes; anonymous ones (`-v /path`) are not binds.
    let binds: Vec<&String> = a.volume.iter().filter(|v| v.contains(':')).collect();
    let mut ports = serde_json::Map::new();
    for p in &net.publish {
        let host_port = if p.host_port == 0 {
            String::new()
        } else {
            p.host_port.to_string()
        };
        ports
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("array")
            .push(json!({ "HostIp": p.host_ip, "HostPort": host_port }));
    }
    let tmpfs: serde_json::Map<String, serde_json::Value> = a
        .opts
        .tmpfs
        .iter()
        .map(|t| {
            let (d, o) = t.split_once(':').unwrap_or((t, ""));
            (d.to_string(), json!(o))
        })
        .collect();
    let r = &h.resources;
    let nano_cpus = r.cpu_quota.map_or(0, |q| {
        q * 1_000_000_000 / crate::container::resources::CPU_PERIOD as i64
    });
    let privileged = a.opts.privileged;
    json!({
        "HostConfig": {
            "Binds": if binds.is_empty() { json!(null) } else { json!(binds) },
            "ContainerIDFile": "",
            "LogConfig": log_config,
            "NetworkMode": a.network.first().cloned().unwrap_or_else(|| "default".into()),
            "PortBindings": ports,
            "RestartPolicy": restart,
            "AutoRemove": a.rm,
            "CapAdd": list(&a.opts.cap_add),
            "CapDrop": list(&a.opts.cap_drop),
            "GroupAdd": list(&a.opts.group_add),
            "Init": if a.opts.init { json!(true) } else { json!(null) },
            "IpcMode": "private",
            "OomScoreAdj": 0,
            "Privileged": privileged,
            "PublishAllPorts": a.publish_all,
            "ReadonlyRootfs": a.opts.read_only,
            "SecurityOpt": list(&a.opts.security_opt),
            "Tmpfs": if tmpfs.is_empty() { json!(null) } else { json!(tmpfs) },
            "ShmSize": 67108864,
            "Runtime": runtime.file_name().map(|n| n.to_string_lossy().to_string()),
            "CpuShares": r.cpu_shares.unwrap_or(0),
            "Memory": r.memory.unwrap_or(0),
            "NanoCpus": nano_cpus,
            // docker's default swap: as much again as the memory.
            "MemorySwap": r.memory_swap.or(r.memory.map(|m| 2 * m)).unwrap_or(0),
            "PidsLimit": r.pids_limit,
            "MaskedPaths": if privileged { json!(null) } else { json!(spec::MASKED) },
            "ReadonlyPaths": if privileged { json!(null) } else { json!(spec::READONLY) },
        },
        "User": a.user,
    })
}

/// docker's warning when the image is not for this host.
fn warn_foreign_platform(img: &LocalImage) {
    let host = Platform::host();
    let arch = img.config.architecture().to_string();
    if arch != host.architecture || img.config.os().to_string() != host.os {
        let mut p = format!("{}/{arch}", img.config.os());
        if let Some(v) = img.config.variant() {
            p.push('/');
            p.push_str(v);
        }
        eprintln!(
            "WARNING: The requested image's platform ({p}) does not match the detected \
             host platform ({host}) and no specific platform was requested"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn volumes_parse_like_docker() {
        let v = super::parse_volume("/h:/c:ro").unwrap();
        assert!(v.readonly);
        assert_eq!((v.source.as_str(), v.destination.as_str()), ("/h", "/c"));
        assert!(!super::parse_volume("data:/c").unwrap().readonly);
        assert!(super::parse_volume("/h").unwrap().source.is_empty());
        assert!(super::parse_volume("h").is_err());
        assert!(super::parse_volume("/h:c").is_err());
    }
}
