//! Containers for the `rdock` frontend: a directory per container under
//! `<root>/containers/<id>/` holding rdock's record (`config.json`), the
//! image id in use (`image`), `hostname`, `hosts`, `resolv.conf`, the
//! overlay's `upper/` and `work/`, the log (`<id>-json.log`) and the OCI
//! bundle (`bundle/config.json`, `bundle/rootfs` = overlay of the image's
//! layers, mounted while the container runs).
//!
//! The runtime is driven through its CLI: `RUNTIME --root <root>/runtime/<name>
//! run --bundle B ID` under a watcher (rdock itself in the foreground, a
//! re-executed `rdock` monitor with `-d`) that records the exit.
pub mod attach_socket;
pub mod boot;
pub mod copy;
pub mod devices;
pub mod dnshosts;
pub mod fsview;
pub mod health;
pub mod hostconfig;
pub mod jsonlog;
pub mod limits;
pub mod logdriver;
pub mod monitor;
pub mod mounts;
pub mod names;
pub mod namespaces;
pub mod pause;
pub mod record;
pub mod resources;
pub mod restart;
pub mod rootfs;
pub mod runtime;
pub mod seccomp_default;
pub mod security;
pub mod spec;
pub mod usage;
pub mod user;

use crate::network;
use anyhow::{Context, Result};
use image::store::LocalImage;
use record::{Record, State};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Present in the container's directory when the OOM killer hit its last run.
pub const OOM_MARKER: &str = "oom-killed";

/// What `create` needs besides the image.
pub struct CreateRequest {
    /// What `inspect` shows of the flags (`HostConfig`, `User` as given),
    /// kept in `inspect.json`.
    pub inspect: serde_json::Value,
    pub image_name: String,
    pub name: Option<String>,
    pub run: spec::RunOptions,
    pub runtime: PathBuf,
    pub auto_remove: bool,
    pub interactive: bool,
    pub restart: restart::RestartPolicy,
    pub log_config: logdriver::LogConfig,
    /// `--network` and `-p`, resolved by [`network::plan`].
    pub network: network::Plan,
    /// Leave the rootfs mounted for a start that follows at once (`run`).
    pub keep_mounted: bool,
}

/// Makes the container's directory, record and bundle; returns the record.
pub fn create(root: &Path, image: &LocalImage, mut req: CreateRequest) -> Result<Record> {
    // Names that become paths are checked before anything exists.
    if let Some(n) = &req.name {
        names::check_container_name(n)?;
    }
    for v in &req.run.volumes {
        if !v.source.is_empty() && !v.source.starts_with('/') {
            names::check_volume_name(&v.source)?;
        }
    }
    let cdir = record::containers_dir(root);
    std::fs::create_dir_all(&cdir).with_context(|| format!("creating {}", cdir.display()))?;
    let _l = record::lock(&root.join("containers.lock"))?;
    let id = record::new_id()?;
    let existing = record::list(root)?;
    let name = match req.name.take() {
        Some(n) => {
            let n = n.trim_start_matches('/').to_string();
            if existing.iter().any(|r| r.name == n) {
                anyhow::bail!(
                    "Conflict. The container name \"/{n}\" is already in use. \
                     You have to remove (or rename) that container to be able to reuse that name."
                );
            }
            n
        }
        None => record::random_name(&id, |c| existing.iter().any(|r| r.name == c)),
    };
    let dir = record::dir_of(root, &id);
    std::fs::create_dir_all(dir.join("bundle"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let res = (|| -> Result<Record> {
        std::fs::write(dir.join("image"), &image.id)?;
        let mut inspect = std::mem::take(&mut req.inspect);
        if inspect["User"].is_null() {
            // Not given: the image's, as docker's Config.User shows it.
            let img_user = image
                .config
                .config()
                .as_ref()
                .and_then(|c| c.user().clone());
            inspect["User"] = serde_json::json!(img_user.unwrap_or_default());
        }
        std::fs::write(dir.join("inspect.json"), serde_json::to_vec(&inspect)?)?;
        if req.run.hostname.is_empty() {
            req.run.hostname = id[..12].to_string();
        }
        std::fs::write(dir.join("hostname"), format!("{}\n", req.run.hostname))?;
        let net = network::attach(root, &id, &req.network)?;
        req.run.own_network = req.network.own_namespace();
        req.run.netns = network::netns_path(&net);
        network::write_etc_files(&dir, &req.run.hostname, &net)?;
        dnshosts::write(root, &dir, &req.run.host.dns, &net)?;
        let mut anon_volumes = Vec::new();
        for v in req.run.volumes.iter_mut() {
            if v.source.is_empty() {
                // Anonymous: a fresh volume named by a random id, marked as such.
                let n = record::new_id()?;
                let vd = root.join("volumes").join(&n);
                std::fs::create_dir_all(vd.join("_data"))
                    .with_context(|| format!("creating volume {}", vd.display()))?;
                std::fs::write(vd.join("anonymous"), b"")?;
                v.source = vd.join("_data").display().to_string();
                anon_volumes.push(n);
            } else if !v.source.starts_with('/') {
                let d = root.join("volumes").join(&v.source).join("_data");
                std::fs::create_dir_all(&d)
                    .with_context(|| format!("creating volume {}", d.display()))?;
                v.source = d.display().to_string();
            } else {
                std::fs::create_dir_all(&v.source)
                    .with_context(|| format!("creating {}", v.source))?;
            }
        }
        let rootfs = rootfs::mount_overlay(&dir, &image.layers)?;
        let built = spec::build(&image.config, &req.run, &rootfs, &dir);
        if !req.keep_mounted || built.is_err() {
            rootfs::unmount(&dir)?;
        }
        let config = built?;
        record::write_private(
            &dir.join("bundle/config.json"),
            &serde_json::to_vec_pretty(&config)?,
        )?;
        let command = config["process"]["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let r = Record {
            id: id.clone(),
            name,
            image: req.image_name.clone(),
            image_id: image.id.clone(),
            command,
            created: record::now(),
            state: State::Created,
            monitor_pid: None,
            monitor_start: None,
            pid: None,
            exit_code: None,
            started: None,
            finished: None,
            runtime_root: runtime::state_root(root, &req.runtime),
            runtime: req.runtime.clone(),
            auto_remove: req.auto_remove,
            anon_volumes,
            tty: req.run.tty,
            interactive: req.interactive,
            stop_signal: req.run.host.stop_signal.clone().or_else(|| {
                let c = image.config.config().as_ref()?;
                hostconfig::parse_signal(c.stop_signal().as_deref()?).ok()
            }),
            restart_policy: req.restart.clone(),
            restart_count: 0,
            manual_stop: false,
            log_config: req.log_config.clone(),
        };
        r.save(root)?;
        crate::events::container(root, &r, "create", &[]);
        Ok(r)
    })();
    if res.is_err() {
        let _ = rootfs::unmount(&dir);
        let _ = network::release(root, &id);
        let _ = std::fs::remove_dir_all(&dir);
    }
    res
}

/// The bundle's config.json.
pub fn bundle_config(dir: &Path) -> Result<serde_json::Value> {
    let p = dir.join("bundle/config.json");
    let data = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_slice(&data).with_context(|| format!("parsing {}", p.display()))
}

/// The bundle's process args and env, for the executable check.
pub fn process_of(v: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let strs = |k: &str| -> Vec<String> {
        v["process"][k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    (strs("args"), strs("env"))
}

/// Which run of the container [`supervise`] starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attempt {
    /// Asked for (`run`, `start`, `restart`).
    First,
    /// By the restart policy: only while the container still waits for it
    /// (not stopped, removed or started anew meanwhile).
    Restart,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunEnd {
    pub code: i32,
    /// The restart policy restarts it: the record says Restarting.
    pub restarting: bool,
}

/// Mounts the rootfs, checks the command exists, runs the container under
/// the monitor loop until it exits ([`monitor::watch`]: in the foreground
/// for `run`, detached for `run -d`/`start`), records the exit (or that
/// the restart policy restarts it), cleans up (`--rm`) and tells attached
/// clients.
pub fn supervise(
    root: &Path,
    id: &str,
    foreground: bool,
    listener: Option<&std::os::unix::net::UnixListener>,
    first: Option<std::os::unix::net::UnixStream>,
    attempt: Attempt,
) -> Result<RunEnd> {
    let dir = record::dir_of(root, id);
    let image = std::fs::read_to_string(dir.join("image"))?;
    let store = image::store::Store::open(root)?;
    let img = store.resolve(image.trim())?;
    let rootfs = rootfs::mount_overlay(&dir, &img.layers)?;
    let config = bundle_config(&dir)?;
    let (args, env) = process_of(&config);
    let cmd = hostconfig::user_command(&args).map_or("", String::as_str);
    let view = rootfs::View::of_config(&rootfs, &config);
    if let Err((code, msg)) = rootfs::check_executable(&view, cmd, &env) {
        let msg = format!(
            "rdock: Error response from daemon: failed to create task for container: \
             OCI runtime create failed: {msg}: unknown.\n"
        );
        if foreground {
            eprint!("{msg}");
        } else if !Record::load(root, id)?.log_config.is_none() {
            let _ = jsonlog::append(&dir.join(format!("{id}-json.log")), "stderr", &msg);
            if let Some(c) = &first {
                // `start -a`, `run -it`: the client shows why.
                use std::io::Write;
                let _ = (&*c).write_all(&monitor::frame(2, msg.as_bytes()));
            }
        }
        let _ = rootfs::unmount(&dir);
        finish(root, id, code, false)?;
        monitor::send_exit(first.into_iter().collect(), code);
        return Ok(RunEnd {
            code,
            restarting: false,
        });
    }
    if let Err(e) = hostconfig::refresh(root, &dir) {
        // A device gone, a container whose namespaces it joins stopped.
        let _ = rootfs::unmount(&dir);
        finish(root, id, 125, false)?;
        return Err(e);
    }
    let name = Record::load(root, id)?.name;
    if let Err(e) = network::up(root, id, &name) {
        let _ = rootfs::unmount(&dir);
        finish(root, id, 125, false)?;
        return Err(e);
    }
    let mut ran_before = false;
    let mut called_off = None;
    let me = std::process::id() as i32;
    let r = Record::update(root, id, |r| {
        if attempt == Attempt::Restart
            && (r.state != State::Restarting || r.manual_stop || !r.monitored_by_me())
        {
            called_off = Some(r.exit_code.unwrap_or(0));
            return;
        }
        ran_before = r.started.is_some();
        r.state = State::Running;
        r.monitor_pid = Some(me);
        r.monitor_start = record::start_time(me);
        r.started = Some(record::now());
        r.finished = None;
        r.exit_code = None;
    })?;
    if let Some(code) = called_off {
        // Stopped or removed while it waited to restart.
        let _ = network::down(root, id);
        let _ = rootfs::unmount(&dir);
        return Ok(RunEnd {
            code,
            restarting: false,
        });
    }
    if ran_before {
        // Leftover runtime state from a previous run of the same id.
        let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", id]);
    }
    let wiring = monitor::Wiring {
        foreground,
        stdin: r.interactive,
        tty: r.tty,
        oom_watch: config["linux"]["resources"]["memory"]["limit"].is_number(),
    };
    let _ = std::fs::remove_file(dir.join(OOM_MARKER));
    crate::events::container(root, &r, "start", &[]);
    let (code, clients) = match monitor::watch(root, &r, &wiring, listener, first) {
        Ok(o) => {
            if o.oom_killed {
                let _ = std::fs::write(dir.join(OOM_MARKER), b"");
            }
            (o.code, o.clients)
        }
        Err(e) => {
            log::error!("running {id}: {e:#}");
            (125, Vec::new())
        }
    };
    delete_runtime_state(&r);
    if let Err(e) = network::down(root, id) {
        log::warn!("tearing down the network of {id}: {e:#}");
    }
    rootfs::unmount(&dir)?;
    crate::events::container_exit(root, id, code);
    let restarting = finish(root, id, code, !foreground)?;
    monitor::send_exit(clients, code);
    Ok(RunEnd { code, restarting })
}

pub fn exit_code(st: std::process::ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// Records the exit of a run: Exited, or Restarting when the restart
/// policy restarts it (`may_restart`: a detached monitor that will).
/// True in that case.
fn finish(root: &Path, id: &str, code: i32, may_restart: bool) -> Result<bool> {
    let r = Record::load(root, id)?;
    if r.auto_remove {
        // No need to record an exit nobody will read.
        remove_stopped(root, &r)?;
        remove_anonymous_volumes(root, &r);
        return Ok(false);
    }
    let mut restarting = false;
    Record::update(root, id, |r| {
        restarting = may_restart
            && r.restart_policy
                .should_restart(code, r.manual_stop, r.restart_count);
        if restarting {
            r.state = State::Restarting;
            r.restart_count += 1;
        } else {
            r.state = State::Exited;
        }
        r.exit_code = Some(code);
        r.finished = Some(record::now());
        r.pid = None;
    })?;
    Ok(restarting)
}

/// Before `start` and `restart`: Created again, with docker's reset of the
/// restart count and of a stop by hand.
pub fn prepare_start(root: &Path, id: &str) -> Result<Record> {
    Record::update(root, id, |r| {
        r.state = State::Created;
        r.restart_count = 0;
        r.manual_stop = false;
    })
}

/// `stop`, `kill`, `rm -f`: a stop by hand (docker's HasBeenManuallyStopped),
/// so the restart policy does not bring it back; one waiting to restart
/// is Exited at once (its monitor sees it and leaves).
pub fn mark_stopped(root: &Path, id: &str) -> Result<Record> {
    Record::update(root, id, |r| {
        r.manual_stop = true;
        if r.state == State::Restarting {
            r.state = State::Exited;
        }
    })
}

/// `RUNTIME delete --force ID` when the runtime still has state for it
/// (runr, runc and crun keep a `<root>/<id>` directory; a foreground
/// `run` cleaned up after itself).
fn delete_runtime_state(r: &Record) {
    if r.runtime_root.join(&r.id).exists() {
        let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", &r.id]);
    }
}

/// `rm -v`: the container's anonymous volumes go too (named ones stay).
pub fn remove_anonymous_volumes(root: &Path, r: &Record) {
    for n in &r.anon_volumes {
        let d = root.join("volumes").join(n);
        if d.join("anonymous").exists() {
            let _ = std::fs::remove_dir_all(&d);
        }
    }
}

/// Starts a detached monitor (rdock re-executed) for the container and
/// waits until it has the container running (or done). With `wait_attach`
/// the monitor waits for a first `attach` client before starting the
/// container, and this returns at once.
pub fn start_detached(root: &Path, id: &str, wait_attach: bool) -> Result<()> {
    let exe = std::env::current_exe().context("finding rdock's own binary")?;
    let mut c = Command::new(exe);
    c.arg("--root").arg(root).arg("container-monitor");
    if wait_attach {
        c.arg("--wait-attach");
    }
    c.arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe; the monitor leaves our session so
    // that the terminal closing does not reach it.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = c.spawn().context("starting the container monitor")?;
    if wait_attach {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = Record::load(root, id);
        match r {
            // Up once the runtime knows the container, so that kill and
            // exec right after find it.
            Ok(r)
                if r.state == State::Running
                    && runtime::is_running(&r.runtime, &r.runtime_root, id) =>
            {
                return Ok(())
            }
            Ok(r) if matches!(r.state, State::Exited | State::Restarting) => return Ok(()),
            Err(_) => return Ok(()), // removed already (--rm)
            _ => {}
        }
        if let Some(st) = child.try_wait()? {
            if !st.success() {
                anyhow::bail!("the container monitor failed ({st})");
            }
        }
        if Instant::now() > deadline {
            anyhow::bail!("container {id} did not start within 30s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The hidden `container-monitor [--wait-attach] ID` verb: serves the attach
/// socket and supervises the container with its output to the json log.
pub fn monitor_main(root: &Path, id: &str, wait_attach: bool) -> Result<i32> {
    let dir = record::dir_of(root, id);
    let listener = monitor::bind_attach(&dir);
    if let Err(e) = &listener {
        log::warn!("{e:#}");
    }
    let listener = listener.ok();
    let first = match (&listener, wait_attach) {
        (Some(l), true) => l.accept().ok().map(|(c, _)| c),
        _ => None,
    };
    let mut first = first;
    let mut attempt = Attempt::First;
    let mut backoff = restart::Backoff::default();
    loop {
        let began = Instant::now();
        match supervise(root, id, false, listener.as_ref(), first.take(), attempt) {
            Ok(end) if end.restarting => {
                if !wait_to_restart(root, id, backoff.next(began.elapsed())) {
                    break;
                }
                attempt = Attempt::Restart;
            }
            Ok(_) => break,
            Err(e) => {
                let p = dir.join(format!("{id}-json.log"));
                let _ = jsonlog::append(&p, "stderr", &format!("{e:#}\n"));
                let _ = Record::update(root, id, |r| {
                    r.state = State::Exited;
                    r.exit_code = Some(125);
                    r.finished = Some(record::now());
                });
                break;
            }
        }
    }
    // attach.sock stays: a restart may have bound a new one already.
    Ok(0)
}

/// Sleeps out a restart delay; false when the container stopped waiting
/// meanwhile (`stop`, `kill`, `rm -f`, or a `start` with a new monitor).
fn wait_to_restart(root: &Path, id: &str, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        match Record::load(root, id) {
            Ok(r) if r.state == State::Restarting && !r.manual_stop && r.monitored_by_me() => {}
            _ => return false,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        // Short naps: a stop while it waits takes effect at once.
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Waits until the container's watcher is gone, up to `timeout`.
pub fn wait_exited(root: &Path, id: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match Record::load(root, id) {
            Ok(r) if r.live_state() == State::Running => {}
            _ => return true,
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to the container's init through the runtime.
pub fn signal(r: &Record, signal: &str) -> Result<()> {
    runtime::quiet(&r.runtime, &r.runtime_root, &["kill", &r.id, signal])?;
    // The runtime's root is `<root>/runtime/<name>` (runtime::state_root).
    if let Some(root) = r.runtime_root.ancestors().nth(2) {
        crate::events::container_kill(root, r, signal);
    }
    Ok(())
}

/// `stop`: SIGTERM, then SIGKILL after `secs`.
pub fn stop(root: &Path, r: &Record, secs: u64) -> Result<()> {
    if !r.is_up() {
        return Ok(());
    }
    let r = &mark_stopped(root, &r.id)?;
    if r.live_state() != State::Running {
        return Ok(());
    }
    let _ = signal(r, r.stop_signal.as_deref().unwrap_or("TERM"));
    pause::thaw(root, r);
    if wait_exited(root, &r.id, Duration::from_secs(secs)) {
        crate::events::container(root, r, "stop", &[]);
        return Ok(());
    }
    let _ = signal(r, "KILL");
    if !wait_exited(root, &r.id, Duration::from_secs(10)) {
        anyhow::bail!("container {} did not stop", r.id);
    }
    crate::events::container(root, r, "stop", &[]);
    Ok(())
}

/// Removes the container: stops it when `force`, else refuses a running one.
pub fn remove(root: &Path, r: &Record, force: bool) -> Result<()> {
    if r.live_state() == State::Restarting {
        if !force {
            anyhow::bail!(
                "You cannot remove a restarting container {}. Stop the container before \
                 attempting removal or force remove",
                r.id
            );
        }
        mark_stopped(root, &r.id)?;
    }
    if r.live_state() == State::Running {
        if !force {
            anyhow::bail!(
                "You cannot remove a running container {}. Stop the container before \
                 attempting removal or force remove",
                r.id
            );
        }
        mark_stopped(root, &r.id)?;
        let _ = signal(r, "KILL");
        pause::thaw(root, r);
        wait_exited(root, &r.id, Duration::from_secs(10));
    }
    remove_stopped(root, r)
}

/// Removes a container known to have stopped: runtime state, mount, directory.
fn remove_stopped(root: &Path, r: &Record) -> Result<()> {
    let dir = record::dir_of(root, &r.id);
    delete_runtime_state(r);
    if let Err(e) = network::release(root, &r.id) {
        log::warn!("releasing the network of {}: {e:#}", r.id);
    }
    rootfs::unmount(&dir)?;
    // Out of sight at once (one rename), deleted in the background: on this
    // kind of disk each unlink costs milliseconds and `run --rm` would wait.
    let trash = record::containers_dir(root).join(format!(".trash-{}", r.id));
    if dir.exists() {
        // Now, while its labels can still be read.
        crate::events::container(root, r, "destroy", &[]);
    }
    match std::fs::rename(&dir, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("removing {}", dir.display())),
    }
    // The trash no longer uses its image: `rmi` right after `rm` must not
    // find it there while the background `rm -rf` runs.
    let _ = std::fs::remove_file(trash.join("image"));
    let spawned = Command::new("rm")
        .arg("-rf")
        .arg(&trash)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if spawned.is_err() {
        std::fs::remove_dir_all(&trash).with_context(|| format!("removing {}", trash.display()))?;
    }
    Ok(())
}

/// Trash left by a removal that did not finish (a crash): deleted now.
pub fn empty_trash(root: &Path) {
    for e in std::fs::read_dir(record::containers_dir(root))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(".trash-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
