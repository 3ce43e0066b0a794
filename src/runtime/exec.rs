//! runr's side of `exec`: join a running container with a new process.
//! The process enters the init's namespaces (through /proc/<init>/ns), its
//! cgroup, and gets the identity, capabilities and seccomp of its process spec.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context, Result};
use libcgroups::common::CgroupManager;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::exec_init::{self, ExecInit};
use super::namespaces::{self, Join};
use super::state::{write_atomic, ContainerState, Status};
use super::sync::{self, Msg};
use super::{capabilities, cgroup_join, cgroups, foreground, process, seccomp, spawn};
use sysutil::proc::ProcStat;

pub struct ExecRequest<'a> {
    pub state: &'a ContainerState,
    pub process: Process,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub detach: bool,
    pub preserve_fds: u32,
    /// `--cgroup`: sub-cgroups to join, per controller ("" for all).
    pub cgroup_subs: &'a [String],
}

pub fn exec(req: ExecRequest) -> Result<i32> {
    let state = req.state;
    let p = &req.process;
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        bail!("exec: process.args must not be empty");
    }
    let terminal = p.terminal().unwrap_or(false);
    if terminal && req.detach && req.console_socket.is_none() {
        bail!("cannot allocate tty if runr will detach without setting console socket");
    }
    if !terminal && req.console_socket.is_some() {
        bail!("cannot use console socket if runr will not detach or allocate tty");
    }
    // Before joining anything: the child inherits both (see process.rs).
    process::set_non_dumpable();
    process::own_exe_id();
    let joins = open_namespaces(state)?;
    let caps = capabilities::resolve(p.capabilities().as_ref())?;
    let attrs = super::kernel_attrs::KernelAttrs::resolve(p, state.config.linux().as_ref())?;
    let labels = super::lsm::ExecLabels::resolve(&state.config, p)?;
    let seccomp = match state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
    {
        Some(s) => Some(seccomp::compile(s).context("seccomp")?),
        None => None,
    };
    let mask = if req.detach {
        None
    } else {
        Some(foreground::block_signals()?)
    };
    let (own_console, console) = match req.console_socket {
        Some(path) => (None, Some(super::console::connect(path)?)),
        None if terminal => {
            let (a, b) = UnixStream::pair().context("creating console socketpair")?;
            (Some(a), Some(b))
        }
        None => (None, None),
    };
    let mgr = cgroups::manager(&state.cgroup_path, state.systemd_cgroup, &state.id)?;
    let cgroup_dirs = exec_cgroup_dirs(state, req.cgroup_subs)?;
    let (parent_chan, child_chan) = sync::pair()?;
    let in_userns = joins.iter().any(|j| j.typ == LinuxNamespaceType::User);
    let pid_join = joins.iter().find(|j| j.typ == LinuxNamespaceType::Pid);
    let user_first = in_userns && !nix::unistd::geteuid().is_root();

    let cfg = ExecInit {
        process: p,
        joins: &joins,
        in_userns,
        user_joined: user_first,
        chan: child_chan,
        parent_chan: parent_chan.raw(),
        console,
        caps,
        attrs,
        labels,
        seccomp,
        preserve_fds: req.preserve_fds,
    };
    let pid = if user_first {
        // Unprivileged, runr cannot enter the container's pid namespace from
        // the host's user namespace: a helper enters the user namespace first.
        let user = joins.iter().find(|j| j.typ == LinuxNamespaceType::User);
        let enter = || -> Result<()> {
            for j in user.into_iter().chain(pid_join) {
                namespaces::join(j)?;
            }
            Ok(())
        };
        spawn::via_helper(enter, CloneFlags::empty(), move || exec_init::run(cfg))
            .context("starting the exec process")?
    } else {
        fork_into_pidns(pid_join, move || exec_init::run(cfg))?
    };
    let guard = KillOnDrop(Some(pid));

    match &cgroup_dirs {
        Some(dirs) => cgroup_join::join_dirs(dirs, pid)?,
        None if state.cgroup_owned => mgr
            .add_task(Pid::from_raw(pid))
            .context("adding the process to the container's cgroup")?,
        // A rootless container may have no cgroup to join.
        None => {}
    }
    parent_chan.send(&Msg::Go)?;
    loop {
        match parent_chan.try_recv_with_fd()? {
            // The channel closes on a successful execve (it is close-on-exec).
            None => break,
            Some((Msg::SeccompListener, Some(fd))) => {
                super::launch::send_seccomp_listener(state, Status::Running, fd)?;
                parent_chan.send(&Msg::Ack)?;
            }
            Some((Msg::Error(e), _)) => bail!("{e}"),
            Some((m, _)) => bail!("sync: unexpected {m:?}"),
        }
    }
    if let Some(f) = req.pid_file {
        write_atomic(f, pid.to_string().as_bytes()).context("writing pid file")?;
    }
    guard.disarm();
    if req.detach {
        return Ok(0);
    }
    let master = match &own_console {
        Some(sock) => Some(foreground::recv_master(sock)?),
        None => None,
    };
    foreground::wait(
        pid,
        mask.as_ref().expect("signals blocked in the foreground"),
        master,
    )
}

/// The cgroup directories the process joins (checked before it starts), or
/// None to leave it to the systemd manager or when there is no cgroup.
fn exec_cgroup_dirs(
    state: &ContainerState,
    args: &[String],
) -> Result<Option<Vec<cgroup_join::JoinDir>>> {
    let subs = cgroup_join::parse_sub_paths(args)?;
    if state.systemd_cgroup || !state.cgroup_owned {
        if !subs.is_empty() {
            bail!("--cgroup needs the container's own cgroupfs cgroup (not systemd, not rootless without one)");
        }
        return Ok(None);
    }
    cgroup_join::exec_dirs(&state.cgroup_path, &subs).map(Some)
}

/// The init's namespaces, opened through /proc and checked to still belong
/// to the init we started (not a reused pid).
fn open_namespaces(state: &ContainerState) -> Result<Vec<Join>> {
    let mut joins = Vec::new();
    let list = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in list {
        let name = match ns.typ() {
            LinuxNamespaceType::Mount => "mnt",
            LinuxNamespaceType::Network => "net",
            t => super::spec::ns_name(t),
        };
        let path = format!("/proc/{}/ns/{name}", state.pid);
        let file = File::open(&path).with_context(|| format!("opening {path}"))?;
        joins.push(Join {
            typ: ns.typ(),
            file,
        });
    }
    if ProcStat::read(state.pid).map(|s| s.start_time) != Some(state.pid_start) {
        bail!("container not running");
    }
    joins.sort_by_key(|j| j.typ != LinuxNamespaceType::User);
    Ok(joins)
}

/// Forks the exec'd process; with a pid namespace, runr enters it just
/// around the fork so the child is born inside it.
fn fork_into_pidns(pid_join: Option<&Join>, child: impl FnOnce()) -> Result<i32> {
    let restore = match pid_join {
        Some(j) => {
            let own = namespaces::own(LinuxNamespaceType::Pid)?;
            namespaces::join(j)?;
            Some(own)
        }
        None => None,
    };
    // SAFETY: fork of a single-threaded process; the child only runs `child`, which execs or exits.
    let r = unsafe { libc::fork() };
    if r == 0 {
        // A panic must never unwind out of the child into runr's own code.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
        // SAFETY: not reached; never return into runr's code as the child.
        unsafe { libc::_exit(1) }
    }
    let err = (r < 0).then(nix::errno::Errno::last);
    if let Some(own) = restore {
        nix::sched::setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
            .context("returning to runr's pid namespace")?;
    }
    match err {
        Some(e) => Err(e).context("fork of the exec process"),
        None => Ok(r),
    }
}

/// Kills and reaps a half-started exec process on error.
struct KillOnDrop(Option<i32>);

impl KillOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}
