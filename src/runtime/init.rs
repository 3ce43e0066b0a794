//! The container's init, from clone to execve. Runs in the new namespaces,
//! single-threaded, talking to runr over the sync channel. Reads top to bottom
//! in the order the container is built.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::capabilities::{self, CapSets};
use super::kernel_attrs::KernelAttrs;
use super::lsm::ExecLabels;
use super::namespaces::Plan;
use super::process::{self, Exec};
use super::rootfs::{self, RootfsConfig};
use super::seccomp::SeccompProgram;
use super::sync::{Channel, Msg};
use super::{console, hooks};

/// Everything the init needs, prepared by runr before clone.
pub struct InitConfig<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub plan: &'a Plan,
    /// Idmapped trees prepared by runr, by index in `mounts` (see idmount.rs).
    pub idmapped: &'a [Option<OwnedFd>],
    /// Bind sources opened on the host, by index in `mounts` (user namespace only).
    pub bind_sources: &'a [Option<OwnedFd>],
    pub chan: Channel,
    /// O_PATH fd of `exec.fifo`, reopened for writing to wait for `start`.
    pub fifo: OwnedFd,
    pub console: Option<UnixStream>,
    pub caps: CapSets,
    pub attrs: KernelAttrs,
    pub labels: ExecLabels,
    pub seccomp: Option<SeccompProgram>,
    pub cgroup_path: PathBuf,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// runr's state-dir lock, inherited through clone; closed first thing.
    pub state_lock: std::os::fd::RawFd,
    /// runr's end of the channel, inherited too: closed so that a send after
    /// runr has gone fails instead of vanishing.
    pub parent_chan: std::os::fd::RawFd,
}

/// Never returns: execs the container process or exits with an error.
pub fn run(cfg: InitConfig) -> ! {
    let err = match init(&cfg) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    fail(&cfg.chan, err)
}

/// Reports a failure to runr (or, once runr has gone, to the container's
/// stderr) and exits; 127 when the program could not be found, as shells do.
pub fn fail(chan: &Channel, err: anyhow::Error) -> ! {
    let msg = format!("{err:#}");
    if chan.send(&Msg::Error(msg.clone())).is_err() {
        let _ = writeln!(std::io::stderr(), "runr: {msg}");
    }
    let code = if msg.contains("not found") || msg.contains("no such file") {
        127
    } else {
        1
    };
    // SAFETY: _exit skips atexit handlers and buffered state inherited from runr.
    unsafe { libc::_exit(code) }
}

fn init(cfg: &InitConfig) -> Result<std::convert::Infallible> {
    let spec = cfg.spec;
    let process = spec.process().as_ref().context("process is not set")?;
    let plan = cfg.plan;
    // SAFETY: the fd is runr's lock, inherited by clone; nothing in the init uses it.
    unsafe { libc::close(cfg.state_lock) };
    // SAFETY: likewise runr's end of the channel, which the init never uses.
    unsafe { libc::close(cfg.parent_chan) };
    // Die with runr until the container is committed (see `commit`). Where
    // the init blocks on the channel instead, runr's death reads as EOF.
    die_with_runr()?;

    cfg.chan.expect(Msg::Go)?;
    // Rootless, runr left the init dumpable to write its maps (launch.rs).
    process::set_non_dumpable();
    // A user namespace joined by path was entered before the clone (launch.rs).
    if plan.in_userns() {
        become_root()?;
        // A change of credentials clears the parent-death signal.
        die_with_runr()?;
    }
    // runr has put us in our cgroup (before Go): only now does a new cgroup
    // namespace get that cgroup as its root (see launch.rs clone_flags).
    if plan.has_new(LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .context("creating cgroup namespace")?;
    }
    nix::unistd::setsid().context("setsid")?;
    nix::sys::stat::umask(Mode::empty());
    nix::unistd::chdir(cfg.bundle)
        .with_context(|| format!("chdir to bundle {}", cfg.bundle.display()))?;
    set_hostname(spec, plan)?;

    // Without a mount namespace (launch.rs refused what needs one) the
    // mounts go into the caller's, under the rootfs, and `delete` removes them.
    let own_mntns = plan.has_mntns();
    rootfs::prepare(&RootfsConfig {
        own_mntns,
        spec,
        rootfs: cfg.rootfs,
        bundle: cfg.bundle,
        cgroup_path: &cfg.cgroup_path,
        new_cgroupns: plan.has_new(LinuxNamespaceType::Cgroup),
        in_userns: plan.in_userns(),
        idmapped: cfg.idmapped,
        bind_sources: cfg.bind_sources,
    })?;
    create_cwd(cfg.rootfs, process.cwd())?;

    // prestart and createRuntime hooks run in runr, then createContainer here.
    cfg.chan.send(&Msg::RuntimeHooks)?;
    let state_json = match cfg.chan.recv()? {
        Msg::HooksDone(s) => s,
        Msg::Error(e) => bail!("{e}"),
        m => bail!("sync: unexpected {m:?}"),
    };
    let mut state: serde_json::Value =
        serde_json::from_str(&state_json).context("parsing state")?;
    if let Some(h) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().as_ref())
    {
        // As runc: createContainer hooks run in the container's root.
        nix::unistd::chdir(cfg.rootfs)
            .with_context(|| format!("chdir to rootfs {}", cfg.rootfs.display()))?;
        hooks::run_all("createContainer", h, &state)?;
    }

    if own_mntns {
        rootfs::enter(cfg.rootfs, cfg.no_pivot)?;
    } else {
        rootfs::chroot(cfg.rootfs)?;
    }
    if process.terminal().unwrap_or(false) {
        let sock = cfg
            .console
            .as_ref()
            .context("terminal requested but no console socket")?;
        let size = process
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16));
        console::setup(sock, size, process.user().uid(), true)?;
    }
    rootfs::finalize(spec)?;

    // oom_score_adj is written by runr from the host's /proc (launch.rs):
    // the container's /proc may be covered (CVE-2025-52881).
    let fin = Finish {
        process,
        in_userns: plan.in_userns(),
        caps: &cfg.caps,
        attrs: &cfg.attrs,
        labels: &cfg.labels,
        seccomp: cfg.seccomp.as_ref(),
        chan: &cfg.chan,
        preserve_fds: cfg.preserve_fds,
    };
    let exec = fin.become_process()?;
    // Cleared by the switch to the container's user.
    die_with_runr()?;
    fin.load_last_filter()?;
    cfg.chan.send(&Msg::Ready)?;
    commit(&cfg.chan)?;

    // Held open (close-on-exec) until the execve: `start` reads to its end,
    // so it returns once the process runs, startContainer hooks done.
    let _started = wait_for_start(&cfg.fifo)?;
    if let Some(h) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref())
    {
        state["status"] = "created".into();
        hooks::run_all("startContainer", h, &state)?;
    }
    fin.exec(&exec)
}

/// The steps both the container's init and `exec` take last: from runr's
/// root to the configured process, in runc's order.
pub struct Finish<'a> {
    pub process: &'a Process,
    pub in_userns: bool,
    pub caps: &'a CapSets,
    pub attrs: &'a KernelAttrs,
    pub labels: &'a ExecLabels,
    pub seccomp: Option<&'a SeccompProgram>,
    pub chan: &'a Channel,
    pub preserve_fds: u32,
}

impl Finish<'_> {
    fn nnp(&self) -> bool {
        self.process.no_new_privileges().unwrap_or(false)
    }

    /// Kernel attributes (scheduler, I/O priority, personality, memory
    /// policy), rlimits, executable lookup, fds, cwd, umask, no_new_privs,
    /// capabilities and user: everything but the seccomp filter when
    /// no_new_privs is set (see `load_last_filter`).
    pub fn become_process(&self) -> Result<Exec> {
        let p = self.process;
        // While the capabilities they may need (CAP_SYS_NICE) are still held.
        self.attrs.apply()?;
        // AppArmor/SELinux exec labels, taking effect at execve (runc: before the caps drop).
        self.labels.apply()?;
        process::set_rlimits(p.rlimits().as_deref().unwrap_or_default())?;
        let env = process::environment(p);
        let args = p.args().clone().unwrap_or_default();
        let arg0 = args.first().context("process.args is empty")?;
        let exe = process::find_executable(arg0, &env, p.cwd())?;
        let exec = Exec::new(&exe, &args, &env)?;
        process::cloexec_from(3 + self.preserve_fds)?;
        // As runc: the cwd is entered while still privileged (a 0700
        // directory stays usable by a non-root user), and again after the
        // user switch if root may not enter it (root squashed by NFS,
        // unmapped in a user namespace). The CVE check goes before the
        // filter is loaded where it can: the profile may deny getcwd.
        let entered = process::enter_cwd(p.cwd(), true)?;
        if entered {
            process::check_cwd_inside_root(p.cwd())?;
        }
        let umask = p.user().umask().unwrap_or(0o022);
        nix::sys::stat::umask(Mode::from_bits_truncate(umask));
        if self.nnp() {
            nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
        } else {
            // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load
            // it before the capabilities are dropped.
            self.load_seccomp()?;
        }
        capabilities::apply_bounding(self.caps)?;
        nix::sys::prctl::set_keepcaps(true).context("setting keepcaps")?;
        process::set_user(p, self.in_userns)?;
        if !entered {
            process::enter_cwd(p.cwd(), false)?;
            process::check_cwd_inside_root(p.cwd())?;
        }
        nix::sys::prctl::set_keepcaps(false).context("clearing keepcaps")?;
        capabilities::apply_sets(self.caps)?;
        Ok(exec)
    }

    /// With no_new_privs the filter goes in as late as runc puts it: after
    /// every step of `become_process`, still before the start barrier, so
    /// that the listener reaches runr while it waits (and startContainer
    /// hooks run under the filter, as with runc).
    pub fn load_last_filter(&self) -> Result<()> {
        if self.nnp() {
            self.load_seccomp()?;
        }
        Ok(())
    }

    pub fn exec(&self, exec: &Exec) -> Result<std::convert::Infallible> {
        Err(exec.exec())
    }

    fn load_seccomp(&self) -> Result<()> {
        let Some(prog) = self.seccomp else {
            return Ok(());
        };
        if let Some(listener) = prog.load().context("loading seccomp filter")? {
            self.chan
                .send_with_fd(&Msg::SeccompListener, Some(listener.as_raw_fd()))?;
            self.chan.expect(Msg::Ack)?;
        }
        Ok(())
    }
}

/// SIGKILL when runr (the parent) exits: a create killed half-way must not
/// leave an init waiting on exec.fifo where no state.json names it.
fn die_with_runr() -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("setting the parent-death signal")
}

/// Waits until runr has written state.json, then stops dying with it, so
/// that the created container outlives `runr create` and waits for `start`
/// however long that takes.
fn commit(chan: &Channel) -> Result<()> {
    chan.expect(Msg::Committed)?;
    nix::sys::prctl::set_pdeathsig(None).context("clearing the parent-death signal")?;
    chan.send(&Msg::Ack)
}

/// In a new user namespace, become its root so that what we create is owned by it.
fn become_root() -> Result<()> {
    let root_g = nix::unistd::Gid::from_raw(0);
    let root_u = nix::unistd::Uid::from_raw(0);
    nix::unistd::setresgid(root_g, root_g, root_g).context("setgid 0 in the user namespace")?;
    nix::unistd::setresuid(root_u, root_u, root_u).context("setuid 0 in the user namespace")?;
    Ok(())
}

fn set_hostname(spec: &Spec, plan: &Plan) -> Result<()> {
    let own_uts = plan.has_new(LinuxNamespaceType::Uts)
        || plan.joins.iter().any(|j| j.typ == LinuxNamespaceType::Uts);
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        if !own_uts {
            bail!("unable to set hostname without a private UTS namespace");
        }
        nix::unistd::sethostname(h).with_context(|| format!("setting hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        if !own_uts {
            bail!("unable to set domainname without a private UTS namespace");
        }
        // SAFETY: the pointer and length describe a live byte slice.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } < 0 {
            return Err(nix::errno::Errno::last())
                .with_context(|| format!("setting domainname {d:?}"));
        }
    }
    Ok(())
}

/// runc creates a missing cwd in the rootfs.
fn create_cwd(rootfs: &Path, cwd: &Path) -> Result<()> {
    let root =
        File::open(rootfs).with_context(|| format!("opening rootfs {}", rootfs.display()))?;
    super::fsutil::create_in_root(std::os::fd::AsFd::as_fd(&root), cwd, false)
        .with_context(|| format!("creating cwd {}", cwd.display()))?;
    Ok(())
}

/// Blocks until `runr start` opens the fifo, then tells it we are going.
fn wait_for_start(fifo: &OwnedFd) -> Result<File> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .context("opening exec fifo")?;
    f.write_all(b"0").context("writing exec fifo")?;
    Ok(f)
}
