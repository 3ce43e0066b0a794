//! The exec'd process between fork and execve: join the container's
//! namespaces (user first, mount last), take the terminal, then the same last
//! steps as the container's init.

use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::capabilities::CapSets;
use super::init::Finish;
use super::kernel_attrs::KernelAttrs;
use super::lsm::ExecLabels;
use super::namespaces::{self, Join};
use super::seccomp::SeccompProgram;
use super::sync::{Channel, Msg};

pub struct ExecInit<'a> {
    pub process: &'a Process,
    pub joins: &'a [Join],
    pub in_userns: bool,
    /// The user (and pid) namespace were entered before the fork (rootless, exec.rs).
    pub user_joined: bool,
    pub chan: Channel,
    pub parent_chan: std::os::fd::RawFd,
    pub console: Option<UnixStream>,
    pub caps: CapSets,
    pub attrs: KernelAttrs,
    pub labels: ExecLabels,
    pub seccomp: Option<SeccompProgram>,
    pub preserve_fds: u32,
}

pub fn run(cfg: ExecInit) -> ! {
    let err = match exec_init(&cfg) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    super::init::fail(&cfg.chan, err)
}

fn exec_init(cfg: &ExecInit) -> Result<std::convert::Infallible> {
    // SAFETY: runr's end of the channel was inherited by fork; the child never uses it.
    unsafe { libc::close(cfg.parent_chan) };
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("setting pdeathsig")?;
    cfg.chan.expect(Msg::Go)?;
    // pid was entered by runr around the fork; mount goes last, as it changes our root.
    let order = |t: LinuxNamespaceType| match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 2,
        _ => 1,
    };
    let mut joins: Vec<&Join> = cfg
        .joins
        .iter()
        .filter(|j| j.typ != LinuxNamespaceType::Pid)
        .filter(|j| !(cfg.user_joined && j.typ == LinuxNamespaceType::User))
        .collect();
    joins.sort_by_key(|j| order(j.typ));
    if cfg.user_joined {
        become_root()?;
    }
    for j in joins {
        namespaces::join(j)?;
        if j.typ == LinuxNamespaceType::User {
            become_root()?;
        }
    }
    // setns(mnt) left us at the container's root; nothing of the host's cwd remains.
    nix::unistd::chdir("/").context("chdir to the container's root")?;
    let p = cfg.process;
    if let Some(sock) = &cfg.console {
        nix::unistd::setsid().context("setsid")?;
        let size = p
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16));
        super::console::setup(sock, size, p.user().uid(), false)?;
    }
    let fin = Finish {
        process: p,
        in_userns: cfg.in_userns,
        caps: &cfg.caps,
        attrs: &cfg.attrs,
        labels: &cfg.labels,
        seccomp: cfg.seccomp.as_ref(),
        chan: &cfg.chan,
        preserve_fds: cfg.preserve_fds,
    };
    let exec = fin.become_process()?;
    nix::sys::prctl::set_pdeathsig(None).context("clearing pdeathsig")?;
    fin.load_last_filter()?;
    fin.exec(&exec)
}

fn become_root() -> Result<()> {
    let root_g = nix::unistd::Gid::from_raw(0);
    let root_u = nix::unistd::Uid::from_raw(0);
    nix::unistd::setresgid(root_g, root_g, root_g).context("setgid 0 in the user namespace")?;
    nix::unistd::setresuid(root_u, root_u, root_u).context("setuid 0 in the user namespace")
}
