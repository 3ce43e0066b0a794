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
pub mod hostconfig;
pub mod jsonlog;
pub mod record;
pub mod resources;
pub mod rootfs;
pub mod runtime;
pub mod seccomp_default;
pub mod security;
pub mod spec;
pub mod user;

use crate::image::store::LocalImage;
use crate::rdock::network;
use anyhow::{Context, Result};
use record::{Record, State};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `create` needs besides the image.
pub struct CreateRequest {
    pub image_name: String,
    pub name: Option<String>,
    pub run: spec::RunOptions,
    pub runtime: PathBuf,
    pub auto_remove: bool,
    pub interactive: bool,
    /// `--network` and `-p`, resolved by [`network::plan`].
    pub network: network::Plan,
}

/// Makes the container's directory, record and bundle; returns the record.
pub fn create(root: &Path, image: &LocalImage, mut req: CreateRequest) -> Result<Record> {
    let cdir = record::containers_dir(root);
    std::fs::create_dir_all(&cdir).with_context(|| format!("creating {}", cdir.display()))?;
    let _l = record::lock(&root.join("containers.lock"))?;
    let id = record::new_id()?;
    let name = match req.name.take() {
        Some(n) => {
            let n = n.trim_start_matches('/').to_string();
            if record::list(root)?.iter().any(|r| r.name == n) {
                anyhow::bail!(
                    "Conflict. The container name \"/{n}\" is already in use. \
                     You have to remove (or rename) that container to be able to reuse that name."
                );
            }
            n
        }
        None => record::random_name(&id),
    };
    let dir = record::dir_of(root, &id);
    std::fs::create_dir_all(dir.join("bundle"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let res = (|| -> Result<Record> {
        std::fs::write(dir.join("image"), &image.id)?;
        if req.run.hostname.is_empty() {
            req.run.hostname = id[..12].to_string();
        }
        std::fs::write(dir.join("hostname"), format!("{}\n", req.run.hostname))?;
        let net = network::attach(root, &id, &name, &req.network)?;
        req.run.own_network = req.network.own_namespace();
        req.run.netns = network::netns_path(&net);
        network::write_etc_files(&dir, &req.run.hostname, &net)?;
        for v in req.run.volumes.iter_mut() {
            if !v.source.starts_with('/') {
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
        let unmounted = rootfs::unmount(&dir);
        let config = built?;
        unmounted?;
        std::fs::write(
            dir.join("bundle/config.json"),
            serde_json::to_vec_pretty(&config)?,
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
            pid: None,
            exit_code: None,
            started: None,
            finished: None,
            runtime_root: runtime::state_root(root, &req.runtime),
            runtime: req.runtime.clone(),
            auto_remove: req.auto_remove,
            tty: req.run.tty,
            interactive: req.interactive,
            stop_signal: req.run.host.stop_signal.clone().or_else(|| {
                let c = image.config.config().as_ref()?;
                hostconfig::parse_signal(c.stop_signal().as_deref()?).ok()
            }),
        };
        r.save(root)?;
        Ok(r)
    })();
    if res.is_err() {
        let _ = rootfs::unmount(&dir);
        let _ = network::release(root, &id);
        let _ = std::fs::remove_dir_all(&dir);
    }
    res
}

/// The bundle's process args and env, for the executable check.
fn process_of(dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let p = dir.join("bundle/config.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p)?)
        .with_context(|| format!("parsing {}", p.display()))?;
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
    Ok((strs("args"), strs("env")))
}

/// How the runtime's stdio is wired.
pub enum Stdio3 {
    /// Foreground: rdock's own stdio (stdin only when `-i`/`-t`).
    Inherit { stdin: bool },
    /// Detached: stdout/stderr into the json log.
    Log,
}

/// Mounts the rootfs, checks the command exists, runs the runtime until
/// the container exits and records the exit. Returns the exit code.
pub fn supervise(root: &Path, id: &str, io: Stdio3) -> Result<i32> {
    let dir = record::dir_of(root, id);
    let image = std::fs::read_to_string(dir.join("image"))?;
    let store = crate::image::store::Store::open(root)?;
    let img = store.resolve(image.trim())?;
    let rootfs = rootfs::mount_overlay(&dir, &img.layers)?;
    let (args, env) = process_of(&dir)?;
    let cmd = hostconfig::user_command(&args).map_or("", String::as_str);
    if let Err((code, msg)) = rootfs::check_executable(&rootfs, cmd, &env) {
        let msg = format!(
            "rdock: Error response from daemon: failed to create task for container: \
             OCI runtime create failed: {msg}: unknown.\n"
        );
        match io {
            Stdio3::Inherit { .. } => eprint!("{msg}"),
            Stdio3::Log => {
                let _ = jsonlog::append(&dir.join(format!("{id}-json.log")), "stderr", &msg);
            }
        }
        let _ = rootfs::unmount(&dir);
        finish(root, id, code)?;
        return Ok(code);
    }
    let name = Record::load(root, id)?.name;
    if let Err(e) = network::up(root, id, &name) {
        let _ = rootfs::unmount(&dir);
        finish(root, id, 125)?;
        return Err(e);
    }
    let r = Record::update(root, id, |r| {
        r.state = State::Running;
        r.monitor_pid = Some(std::process::id() as i32);
        r.started = Some(record::now());
        r.finished = None;
        r.exit_code = None;
    })?;
    // Leftover runtime state from a previous run of the same id.
    let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", id]);
    let mut cmd = runtime::command(
        &r.runtime,
        &r.runtime_root,
        &[
            "run",
            "--bundle",
            &dir.join("bundle").display().to_string(),
            id,
        ],
    );
    let res = match io {
        Stdio3::Inherit { stdin } => {
            if !stdin {
                cmd.stdin(Stdio::null());
            }
            wait_child(cmd.spawn())
        }
        Stdio3::Log => jsonlog::run_logged(cmd, &dir.join(format!("{id}-json.log")), r.interactive),
    };
    let code = match res {
        Ok(c) => c,
        Err(e) => {
            log::error!("running {id}: {e:#}");
            125
        }
    };
    let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", id]);
    if let Err(e) = network::down(root, id) {
        log::warn!("tearing down the network of {id}: {e:#}");
    }
    rootfs::unmount(&dir)?;
    finish(root, id, code)?;
    Ok(code)
}

fn wait_child(child: std::io::Result<Child>) -> Result<i32> {
    let st = child.context("starting the runtime")?.wait()?;
    Ok(exit_code(st))
}

pub fn exit_code(st: std::process::ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

fn finish(root: &Path, id: &str, code: i32) -> Result<()> {
    let r = Record::update(root, id, |r| {
        r.state = State::Exited;
        r.exit_code = Some(code);
        r.finished = Some(record::now());
        r.pid = None;
    })?;
    if r.auto_remove {
        remove(root, &r, true)?;
    }
    Ok(())
}

/// Starts a detached monitor (rdock re-executed) for the container and
/// waits until it has the container running (or done).
pub fn start_detached(root: &Path, id: &str) -> Result<()> {
    let exe = std::env::current_exe().context("finding rdock's own binary")?;
    let mut c = Command::new(exe);
    c.arg("--root")
        .arg(root)
        .arg("container-monitor")
        .arg(id)
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
            Ok(r) if r.state == State::Exited => return Ok(()),
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
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The hidden `container-monitor ID` verb: a subreaper supervising the
/// runtime with output to the json log.
pub fn monitor_main(root: &Path, id: &str) -> Result<i32> {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let code = supervise(root, id, Stdio3::Log);
    if let Err(e) = &code {
        let p = record::dir_of(root, id).join(format!("{id}-json.log"));
        let _ = jsonlog::append(&p, "stderr", &format!("{e:#}\n"));
    }
    Ok(0)
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
    runtime::quiet(&r.runtime, &r.runtime_root, &["kill", &r.id, signal])
}

/// `stop`: SIGTERM, then SIGKILL after `secs`.
pub fn stop(root: &Path, r: &Record, secs: u64) -> Result<()> {
    if r.live_state() != State::Running {
        return Ok(());
    }
    let _ = signal(r, r.stop_signal.as_deref().unwrap_or("TERM"));
    if wait_exited(root, &r.id, Duration::from_secs(secs)) {
        return Ok(());
    }
    let _ = signal(r, "KILL");
    if !wait_exited(root, &r.id, Duration::from_secs(10)) {
        anyhow::bail!("container {} did not stop", r.id);
    }
    Ok(())
}

/// Removes the container: stops it when `force`, else refuses a running one.
pub fn remove(root: &Path, r: &Record, force: bool) -> Result<()> {
    if r.live_state() == State::Running {
        if !force {
            anyhow::bail!(
                "You cannot remove a running container {}. Stop the container before \
                 attempting removal or force remove",
                r.id
            );
        }
        let _ = signal(r, "KILL");
        wait_exited(root, &r.id, Duration::from_secs(10));
    }
    let dir = record::dir_of(root, &r.id);
    let _ = runtime::quiet(&r.runtime, &r.runtime_root, &["delete", "--force", &r.id]);
    if let Err(e) = network::release(root, &r.id) {
        log::warn!("releasing the network of {}: {e:#}", r.id);
    }
    rootfs::unmount(&dir)?;
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", dir.display())),
    }
}
