use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::kill::signal;
use crate::runtime::cgroups;
use crate::runtime::cli::{Cli, Delete};
use crate::runtime::hooks;
use crate::runtime::pending;
use crate::runtime::state::{ContainerState, StateDir, Status};

pub fn run(cli: &Cli, d: &Delete) -> Result<()> {
    let dir = match StateDir::open(&cli.root, &d.id) {
        Ok(dir) => dir,
        Err(e) => {
            // A create killed before it committed: remove what its record
            // names. With --force a missing container is not an error (runc).
            if crate::runtime::spec::validate_id(&d.id).is_ok() {
                if let Some(partial) = StateDir::open_uncommitted(&cli.root, &d.id, true)? {
                    pending::clean(partial)?;
                }
            }
            if d.force {
                return Ok(());
            }
            return Err(e);
        }
    };
    let state = dir.load()?;
    match state.status(&dir) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&state)?,
        s if d.force => {
            if s == Status::Paused {
                let _ = cgroups::freeze(&state.cgroup_path, state.systemd_cgroup, &state.id, false);
            }
            kill_and_wait(&state)?
        }
        s => bail!(
            "cannot delete container {} that is not stopped: {}",
            d.id,
            s.as_str()
        ),
    }
    destroy(dir, &state)
}

fn kill_and_wait(state: &ContainerState) -> Result<()> {
    signal(state, libc::SIGKILL, !state.own_pid_ns)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_micros(200);
    while state.init_alive() {
        if Instant::now() > deadline {
            bail!("container init {} did not die after SIGKILL", state.pid);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}

/// Removes what a stopped container still holds, then runs poststop hooks.
pub fn destroy(dir: StateDir, state: &ContainerState) -> Result<()> {
    let cg = if state.cgroup_owned {
        cgroups::remove(&state.cgroup_path, state.systemd_cgroup, &state.id)
    } else {
        Ok(())
    };
    if let Err(e) = crate::runtime::intel_rdt::remove(&state.config, &state.id) {
        log::warn!("{e:#}");
    }
    // Without a mount namespace its mounts are in ours (rootfs.rs).
    let mntns = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Mount)
        });
    if !mntns {
        crate::runtime::rootfs::unmount_under(&state.rootfs);
    }
    if let Some(h) = state
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
    {
        hooks::run_all_warn("poststop", h, &state.oci_state(Status::Stopped));
    }
    dir.remove()?;
    cg
}
