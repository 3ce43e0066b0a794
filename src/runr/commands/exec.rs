use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process};

use super::absolute;
use crate::cli::{Cli, Exec};
use runtime::exec::{self, ExecRequest};
use runtime::state::{StateDir, Status};

pub fn run(cli: &Cli, e: &Exec) -> Result<i32> {
    let state = {
        let dir = StateDir::open(&cli.root, &e.id)?;
        let state = dir.load()?;
        match state.status(&dir) {
            Status::Stopped => bail!("cannot exec in a stopped container"),
            Status::Paused if !e.ignore_paused => {
                bail!("cannot exec in a paused container (use --ignore-paused to override)")
            }
            _ => {}
        }
        state
        // The lock is released here: a foreground exec can run for long.
    };
    let process = match &e.process {
        Some(f) => {
            if !e.args.is_empty() {
                log::warn!("--process is given: ignoring the command line arguments");
            }
            let data = std::fs::read(f)
                .with_context(|| format!("reading process file {}", f.display()))?;
            parse_process_file(&data)
                .with_context(|| format!("parsing process file {}", f.display()))?
        }
        None => process_from_flags(state.config.process().clone().unwrap_or_default(), e)?,
    };
    let mut process: Process = process;
    // As runc: the flags override the process's own (checked and applied by lsm.rs).
    if let Some(a) = &e.apparmor {
        process.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &e.process_label {
        process.set_selinux_label(Some(l.clone()));
    }
    let pid_file = e.pid_file.as_deref().map(absolute).transpose()?;
    let console = e.console_socket.as_deref().map(absolute).transpose()?;
    exec::exec(ExecRequest {
        state: &state,
        process,
        console_socket: console.as_deref(),
        pid_file: pid_file.as_deref(),
        detach: e.detach,
        preserve_fds: e.preserve_fds,
        cgroup_subs: &e.cgroup,
    })
}

/// runc's rules: the container's process with the command, env, cwd, user,
/// terminal and capabilities given on the command line.
fn process_from_flags(mut p: Process, e: &Exec) -> Result<Process> {
    if e.args.is_empty() {
        bail!("exec: no command given (use ARGS or --process)");
    }
    p.set_args(Some(e.args.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(e.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &e.cwd {
        p.set_cwd(cwd.clone());
    }
    p.set_terminal(Some(e.tty));
    if let Some(u) = &e.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let user = p.user_mut();
        user.set_uid(
            uid.parse()
                .with_context(|| format!("invalid uid {uid:?}"))?,
        );
        if let Some(g) = gid {
            user.set_gid(g.parse().with_context(|| format!("invalid gid {g:?}"))?);
        }
    }
    if !e.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(e.additional_gids.clone()));
    }
    if e.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !e.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add: Capabilities = e
            .cap
            .iter()
            .map(|c| {
                serde_json::from_value::<Capability>(c.as_str().into())
                    .with_context(|| format!("unknown capability {c:?}"))
            })
            .collect::<Result<_>>()?;
        let merge = |set: &Option<Capabilities>| -> Option<Capabilities> {
            let mut s = set.clone().unwrap_or_default();
            s.extend(add.iter().copied());
            Some(s)
        };
        let has_inheritable = caps.inheritable().as_ref().is_some_and(|i| !i.is_empty());
        let mut next = LinuxCapabilities::default();
        next.set_bounding(merge(caps.bounding()));
        next.set_effective(merge(caps.effective()));
        next.set_permitted(merge(caps.permitted()));
        next.set_inheritable(caps.inheritable().clone());
        // Ambient needs inheritable: only extended when the spec has some.
        next.set_ambient(if has_inheritable {
            merge(caps.ambient())
        } else {
            caps.ambient().clone()
        });
        caps = next;
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

/// A process file as runc reads it: a missing `user` is uid 0, gid 0 (Go's
/// zero value), where oci-spec would refuse it.
fn parse_process_file(data: &[u8]) -> Result<Process> {
    let mut v: serde_json::Value = serde_json::from_slice(data)?;
    if let Some(obj) = v.as_object_mut() {
        obj.entry("user")
            .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
    }
    Ok(serde_json::from_value(v)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn process_file_without_user_is_root() {
        let p = super::parse_process_file(br#"{"args": ["true"], "cwd": "/"}"#).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    }
}
