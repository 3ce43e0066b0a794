//! `rdock exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD...`
use super::Context;
use crate::rdock::cli::ExecArgs;
use crate::rdock::container::{self, record, record::State, rootfs, runtime, user};
use anyhow::{bail, Result};
use std::process::Stdio;

pub fn run(ctx: &Context, a: ExecArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if r.live_state() != State::Running {
        bail!("Container {} is not running", r.id);
    }
    if container::pause::is_paused(&ctx.root, &r) {
        bail!(
            "Container {} is paused, unpause the container before exec",
            r.id
        );
    }
    let dir = record::dir_of(&ctx.root, &r.id);
    // docker's 127/126 for a command that cannot run, checked in the rootfs.
    let (_, mut env) = container::process_of(&dir)?;
    env.extend(a.env.iter().cloned());
    if let Err((code, msg)) =
        rootfs::check_executable(&rootfs::rootfs_of(&dir), &a.command[0], &env)
    {
        eprintln!("OCI runtime exec failed: exec failed: {msg}: unknown");
        return Ok(code);
    }
    let mut args: Vec<String> = vec!["exec".into()];
    if a.tty {
        args.push("--tty".into());
        args.push("--env".into());
        args.push("TERM=xterm".into());
    }
    if a.detach {
        args.push("--detach".into());
    }
    // The container's environment and `-e`, spelled out as docker does:
    // runc inherits the config's env on exec, crun does not.
    for e in &env {
        args.push("--env".into());
        args.push(e.clone());
    }
    if let Some(u) = &a.user {
        let u = user::resolve(&rootfs::rootfs_of(&dir), u)?;
        args.push("--user".into());
        args.push(format!("{}:{}", u.uid, u.gid));
        for g in u.additional_gids {
            args.push("--additional-gids".into());
            args.push(g.to_string());
        }
    }
    if let Some(w) = &a.workdir {
        args.push("--cwd".into());
        args.push(w.clone());
    }
    args.push(r.id.clone());
    args.extend(a.command.iter().cloned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = runtime::command(&r.runtime, &r.runtime_root, &argv);
    if !(a.interactive || a.tty) {
        cmd.stdin(Stdio::null());
    }
    // SAFETY: SIG_IGN installs no handler code; the runtime forwards signals.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let st = cmd.status()?;
    Ok(container::exit_code(st))
}
