//! runr's side of `create`: load the bundle, reserve the id, clone the init
//! into its namespaces, put it in its cgroup, run the runtime hooks, and
//! return once the init waits on exec.fifo. A failure at any step undoes all
//! earlier ones (see `Undo`).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::init::{self, InitConfig};
use super::namespaces::{self, Plan};
use super::pending::Pending;
use super::state::{write_atomic, ContainerState, StateDir, Status};
use super::sync::{self, Channel, Msg};
use super::{
    capabilities, cgroups, hooks, idmap, idmount, rootless, seccomp, spawn, spec, timefmt,
};
use sysutil::proc::ProcStat;

pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
    /// Unprivileged (see rootless.rs): maps through newuidmap where needed, cgroups only if writable.
    pub rootless: bool,
    /// A foreground `run`'s own console socket (used when there is no --console-socket).
    pub console_pair: Option<UnixStream>,
}

pub struct Created {
    pub dir: StateDir,
    pub state: ContainerState,
}

pub fn create(req: CreateRequest) -> Result<Created> {
    spec::validate_id(req.id)?;
    let bundle = spec::load_bundle(req.bundle)?;
    let spec = &bundle.spec;
    let process = spec.process().as_ref().context("process is not set")?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && req.console_socket.is_none() && req.console_pair.is_none() {
        bail!("cannot allocate tty if runr will detach without setting console socket");
    }
    if !terminal && req.console_socket.is_some() {
        bail!("cannot use console socket if runr will not detach or allocate tty");
    }
    // Inherited by the init through clone (see process.rs). Rootless, the
    // init is dumpable until its maps are written (its /proc files are root's
    // otherwise, out of an unprivileged runr's reach); it turns itself
    // non-dumpable then, and runr right after the clone.
    if req.rootless {
        super::process::set_dumpable(true);
    } else {
        super::process::set_non_dumpable();
    }
    super::process::own_exe_id();
    // Prepared before anything exists, so that bad input leaves nothing behind.
    let plan = namespaces::plan(spec)?;
    if !plan.has_mntns() {
        super::rootfs::validate_without_mntns(spec)?;
    }
    idmap::validate_spec(spec)?;
    if req.rootless && !plan.in_userns() {
        bail!("rootless container requires user namespaces (add a linux.namespaces entry of type user, or use `runr spec --rootless`)");
    }
    let caps = capabilities::resolve(process.capabilities().as_ref())?;
    let attrs = super::kernel_attrs::KernelAttrs::resolve(process, spec.linux().as_ref())?;
    let labels = super::lsm::ExecLabels::resolve(spec, process)?;
    super::intel_rdt::validate(spec)?;
    super::net_devices::validate(spec)?;
    cgroups::device_rules(spec)?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => {
            let prog = seccomp::compile(s).context("seccomp")?;
            if prog.uses_notify() && s.listener_path().is_none() {
                bail!("seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
            }
            Some(prog)
        }
        None => None,
    };
    // Detached idmapped trees, made before the init exists (see idmount.rs).
    let idmapped = idmount::prepare(spec, &bundle.dir)?;
    let bind_sources = if plan.in_userns() {
        super::mounts::open_bind_sources(spec, &bundle.dir)
    } else {
        Vec::new()
    };
    let console = match (req.console_socket, req.console_pair) {
        (Some(path), _) => Some(super::console::connect(path)?),
        (None, pair) if terminal => pair,
        _ => None,
    };
    let cgroup_path = cgroups::container_path(spec, req.id, req.systemd_cgroup)?;
    cgroups::precheck(spec, &cgroup_path, req.systemd_cgroup, req.id)?;

    let dir = StateDir::create(req.root, req.id)?;
    let mut undo = Undo {
        dir: Some(dir.path.clone()),
        cgroup: None,
        child: None,
        systemd: req.systemd_cgroup,
        id: req.id.to_string(),
        rdt_group: None,
        shared_mntns_rootfs: (!plan.has_mntns()).then(|| bundle.rootfs.clone()),
    };

    let fifo_path = dir.fifo_path();
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .context("creating exec fifo")?;
    // Not subject to the umask: a non-root container user must be able to open it.
    std::fs::set_permissions(
        &fifo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .context("setting exec fifo mode")?;
    let fifo: OwnedFd = File::options()
        .read(true)
        .custom_flags_path()
        .open(&fifo_path)
        .context("opening exec fifo")?
        .into();
    let mgr = cgroups::for_create(&cgroup_path, req.systemd_cgroup, req.id)?;
    let (parent_chan, child_chan) = sync::pair()?;

    let init_cfg = InitConfig {
        spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        plan: &plan,
        idmapped: &idmapped,
        bind_sources: &bind_sources,
        chan: child_chan,
        fifo,
        console,
        caps,
        attrs,
        labels,
        seccomp,
        cgroup_path: cgroup_path.clone(),
        preserve_fds: req.preserve_fds + listen_fds(),
        no_pivot: req.no_pivot,
        state_lock: dir.lock_fd(),
        parent_chan: parent_chan.raw(),
    };
    // The config (and with it the init's end of the channel, the fifo and the
    // console socket) is moved into the child; the parent's copies close here.
    let pid = clone_init(&plan, spec, move || {
        init::run(init_cfg);
    })?;
    undo.child = Some(pid);
    super::process::set_non_dumpable();
    let pid_start = ProcStat::read(pid)
        .map(|s| s.start_time)
        .context("reading the init's start time")?;
    // Before the first cgroup mkdir: a runr killed from here on leaves a
    // record that `delete` and a later `create` clean up (pending.rs).
    Pending {
        id: req.id.to_string(),
        pid,
        pid_start,
        cgroup_path: cgroup_path.clone(),
        systemd_cgroup: req.systemd_cgroup,
        rdt_group: super::intel_rdt::own_group(spec, req.id),
    }
    .write(&dir.path)?;
    // From the host's /proc, never the container's (CVE-2025-52881).
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
            .context("setting oom_score_adj")?;
    }

    if plan.has_new(LinuxNamespaceType::User) {
        let (uid, gid) = (idmap::uid_mappings(spec), idmap::gid_mappings(spec));
        if req.rootless {
            rootless::write_maps(pid, uid, gid)?;
        } else {
            idmap::write(pid, uid, gid)?;
        }
    }
    undo.cgroup = Some(cgroup_path.clone());
    let cgroup_owned = match cgroups::setup(&mgr, &cgroup_path, spec, pid) {
        Ok(()) => true,
        // An unprivileged user goes without a cgroup it may not write.
        Err(e) if req.rootless => {
            undo.cgroup = None;
            let _ = cgroups::remove(&cgroup_path, req.systemd_cgroup, req.id);
            if rootless::asks_for_resources(spec) {
                log::warn!(
                    "rootless: resource limits not applied, cgroup {} is not writable: {e:#}",
                    cgroup_path.display()
                );
            } else {
                log::debug!("rootless: no cgroup: {e:#}");
            }
            false
        }
        Err(e) => return Err(e),
    };
    undo.rdt_group = super::intel_rdt::apply(spec, req.id, pid)?;
    super::net_devices::move_into(spec, pid)?;
    parent_chan.send(&Msg::Go)?;
    expect(
        &parent_chan,
        &mut undo,
        spec,
        Msg::RuntimeHooks,
        "setting up the rootfs",
    )?;

    let state = ContainerState {
        id: req.id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        pid,
        pid_start,
        created: timefmt::now_rfc3339(),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_path: cgroup_path.clone(),
        systemd_cgroup: req.systemd_cgroup,
        cgroup_owned,
        own_pid_ns: plan.own_pid_ns(),
        config: spec.clone(),
    };
    let oci = state.oci_state(Status::Creating);
    if let Some(h) = spec.hooks() {
        // prestart is deprecated but still run, before createRuntime, as runc does.
        // It gets "created": its 1.0 contract (run at start, after create) is what
        // the runtime-tools conformance suite (hooks_stdin) checks.
        hooks::run_all(
            "prestart",
            h.prestart().as_deref().unwrap_or_default(),
            &state.oci_state(Status::Created),
        )?;
        hooks::run_all(
            "createRuntime",
            h.create_runtime().as_deref().unwrap_or_default(),
            &oci,
        )?;
    }
    parent_chan.send(&Msg::HooksDone(oci.to_string()))?;
    loop {
        match hear(
            &parent_chan,
            &mut undo,
            spec,
            "entering the rootfs and becoming the process",
        )? {
            (Msg::Ready, _) => break,
            (Msg::SeccompListener, Some(fd)) => {
                send_seccomp_listener(&state, Status::Creating, fd)?;
                parent_chan.send(&Msg::Ack)?;
            }
            (Msg::Error(e), _) => bail!("{e}"),
            (m, _) => bail!("sync: unexpected {m:?}"),
        }
    }
    dir.save(&state)?;
    if let Some(p) = req.pid_file {
        write_atomic(p, pid.to_string().as_bytes()).context("writing pid file")?;
    }
    // The init dies with runr until it hears the container is committed;
    // its Ack says it no longer will.
    parent_chan.send(&Msg::Committed)?;
    expect(
        &parent_chan,
        &mut undo,
        spec,
        Msg::Ack,
        "committing the container",
    )?;
    undo.disarm();
    Ok(Created { dir, state })
}

/// The init's next message. If it died without one, the error says how and
/// while doing what (an OOM kill names the cgroup and its limit).
fn hear(
    chan: &Channel,
    undo: &mut Undo,
    spec: &Spec,
    step: &str,
) -> Result<(Msg, Option<OwnedFd>)> {
    if let Some(m) = chan.try_recv_with_fd()? {
        return Ok(m);
    }
    let Some(pid) = undo.child else {
        bail!("sync: the container init closed the channel while {step}");
    };
    let status = reap(pid);
    let how = match status {
        Some(WaitStatus::Signaled(_, sig, _)) => format!("was killed by {sig}"),
        Some(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
        _ => "closed the channel".to_string(),
    };
    if matches!(
        status,
        Some(WaitStatus::Signaled(..) | WaitStatus::Exited(..))
    ) {
        // Reaped: its pid may be reused, Undo must not signal it.
        undo.child = None;
    }
    let oom = undo
        .cgroup
        .as_deref()
        .and_then(|cg| cgroups::oom_report(cg, undo.systemd, spec));
    match oom {
        Some(o) => bail!("container init (pid {pid}) {how} while {step}: {o}"),
        None => bail!("container init (pid {pid}) {how} while {step}"),
    }
}

/// Waits until the init sends `want`; its `Error` becomes ours.
fn expect(chan: &Channel, undo: &mut Undo, spec: &Spec, want: Msg, step: &str) -> Result<()> {
    match hear(chan, undo, spec, step)?.0 {
        m if m == want => Ok(()),
        Msg::Error(e) => bail!("{e}"),
        m => bail!("sync: expected {want:?}, got {m:?}"),
    }
}

/// The init's exit status once it has closed the channel (it is exiting),
/// waiting a little for it.
fn reap(pid: i32) -> Option<WaitStatus> {
    for _ in 0..200 {
        match waitpid(
            Pid::from_raw(pid),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::StillAlive) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Ok(s) => return Some(s),
            Err(_) => return None,
        }
    }
    None
}

/// Hands the notify listener to the seccomp agent at `listenerPath`, as runc does.
pub fn send_seccomp_listener(state: &ContainerState, status: Status, fd: OwnedFd) -> Result<()> {
    let s = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .context("no seccomp profile")?;
    let path = s
        .listener_path()
        .as_ref()
        .context("seccomp notify needs linux.seccomp.listenerPath")?;
    let meta = s.listener_metadata().clone().unwrap_or_default();
    // runc's wording, without more context: clients match it.
    seccomp::send_listener(path, fd.as_fd(), &state.oci_state(status), &meta, state.pid)
        .map_err(Into::into)
}

/// $LISTEN_FDS (socket activation) fds are passed on like runc does.
fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Clones the init with the new namespaces. Namespaces joined by path are
/// entered first, so the new ones are created on top of them, as runc does.
/// Without a joined user namespace runr enters the others itself just around
/// the clone; with one, a helper process does it (runr could not come back
/// from a user namespace), see `clone_in_joined_userns`.
fn clone_init(plan: &Plan, spec: &Spec, child: impl FnOnce()) -> Result<i32> {
    if plan.joins_user() {
        return clone_in_joined_userns(plan, spec, child);
    }
    let mut restore = Vec::new();
    let mut cwd = None;
    for j in &plan.joins {
        restore.push((j.typ, namespaces::own(j.typ)?));
        if j.typ == LinuxNamespaceType::Mount {
            cwd = Some(File::open(".").context("opening cwd")?);
        }
        namespaces::join(j)?;
    }
    if plan.new_time {
        restore.push((
            LinuxNamespaceType::Time,
            namespaces::own(LinuxNamespaceType::Time)?,
        ));
        unshare_time(spec)?;
    }
    let r = spawn::raw_clone(clone_flags(plan), child);
    for (t, f) in restore.iter().rev() {
        let flag = if *t == LinuxNamespaceType::Time {
            CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)
        } else {
            namespaces::flag(*t)
        };
        nix::sched::setns(f.as_fd(), flag).context("returning to runr's own namespace")?;
    }
    if let Some(c) = cwd {
        nix::unistd::fchdir(c.as_raw_fd()).context("restoring cwd")?;
    }
    r.context("clone of the container init")
}

fn unshare_time(spec: &Spec) -> Result<()> {
    nix::sched::unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
        .context("creating time namespace")?;
    write_time_offsets(spec)
}

/// With a user namespace joined by path, the new namespaces must be owned by
/// it, so they have to be created from inside it: a helper joins the
/// namespaces (user last: as host root it may still enter the others first)
/// and clones the init (see spawn.rs).
fn clone_in_joined_userns(plan: &Plan, spec: &Spec, child: impl FnOnce()) -> Result<i32> {
    let enter = || -> Result<()> {
        for j in plan
            .joins
            .iter()
            .filter(|j| j.typ != LinuxNamespaceType::User)
        {
            namespaces::join(j)?;
        }
        for j in plan
            .joins
            .iter()
            .filter(|j| j.typ == LinuxNamespaceType::User)
        {
            namespaces::join(j)?;
        }
        if plan.new_time {
            unshare_time(spec)?;
        }
        Ok(())
    };
    let mut flags = clone_flags(plan);
    flags.remove(CloneFlags::CLONE_NEWUSER);
    spawn::via_helper(enter, flags, child).context("clone of the container init")
}

/// The new namespaces made by the clone. Not the cgroup namespace: the init
/// unshares it once runr has put it in its cgroup, so that the container's
/// cgroup is its namespace's root (init.rs), as with runc.
fn clone_flags(plan: &Plan) -> CloneFlags {
    let mut flags = plan.new;
    flags.remove(CloneFlags::CLONE_NEWCGROUP);
    flags
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            bail!("unknown clock {clock:?} in timeOffsets");
        }
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", text).context("writing time namespace offsets")
}

/// Undoes a half-made container: kills the init, removes the cgroup and the
/// state dir. Mounts live in the init's mount namespace and die with it.
struct Undo {
    dir: Option<PathBuf>,
    cgroup: Option<PathBuf>,
    child: Option<i32>,
    systemd: bool,
    id: String,
    /// A resctrl group runr made for this container.
    rdt_group: Option<PathBuf>,
    /// Without a mount namespace: the rootfs whose mounts are in ours.
    shared_mntns_rootfs: Option<PathBuf>,
}

impl Undo {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.child = None;
        self.rdt_group = None;
        self.shared_mntns_rootfs = None;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(pid) = self.child {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::__WALL));
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cgroups::remove(cg, self.systemd, &self.id) {
                log::warn!("cleaning up cgroup: {e:#}");
            }
        }
        if let Some(g) = &self.rdt_group {
            let _ = std::fs::remove_dir(g);
        }
        if let Some(r) = &self.shared_mntns_rootfs {
            super::rootfs::unmount_under(r);
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

trait OpenFifo {
    fn custom_flags_path(&mut self) -> &mut Self;
}

impl OpenFifo for std::fs::OpenOptions {
    /// O_PATH: the init only keeps a handle; it opens for writing when it waits.
    fn custom_flags_path(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(self, libc::O_PATH | libc::O_CLOEXEC)
    }
}
