//! `rdock exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD...`
use super::Context;
use crate::cli::ExecArgs;
use crate::container::{self, record, record::State, rootfs, runtime, user};
use crate::events;
use anyhow::{bail, Result};
use std::process::Stdio;

pub fn run(ctx: &Context, a: ExecArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if r.live_state() == State::Restarting {
        bail!(
            "Container {} is restarting, wait until the container is running",
            r.id
        );
    }
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
    let config = container::bundle_config(&dir)?;
    let (_, mut env) = container::process_of(&config);
    env.extend(a.env.iter().cloned());
    // Looked up in the container's own view (its mounts, `-w` or its cwd).
    let cwd = a
        .workdir
        .clone()
        .unwrap_or_else(|| config["process"]["cwd"].as_str().unwrap_or("/").to_string());
    let view = match runtime::pid(&r.runtime, &r.runtime_root, &r.id) {
        Some(pid) => rootfs::View::of_process(pid, &cwd),
        None => rootfs::View::of_config(&rootfs::rootfs_of(&dir), &config),
    };
    if let Err((code, msg)) = rootfs::check_executable(&view, &a.command[0], &env) {
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
        // The container's --group-add applies to exec -u too, as in docker.
        let group_add: Vec<String> = std::fs::read(dir.join("inspect.json"))
            .ok()
            .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
            .and_then(|v| serde_json::from_value(v["HostConfig"]["GroupAdd"].clone()).ok())
            .unwrap_or_default();
        let u = user::resolve(&rootfs::rootfs_of(&dir), u, &group_add)?;
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
    // docker's action names: the command, a space, the arguments.
    let what = format!("{} {}", a.command[0], a.command[1..].join(" "));
    let exec_id = [("execID", record::new_id()?)];
    events::container(&ctx.root, &r, &format!("exec_create: {what}"), &exec_id);
    events::container(&ctx.root, &r, &format!("exec_start: {what}"), &exec_id);
    let died = |code: i32| {
        let attrs = [exec_id[0].clone(), ("exitCode", code.to_string())];
        events::container(&ctx.root, &r, "exec_die", &attrs);
        code
    };
    // SAFETY: isatty only queries fd 0.
    if a.tty && a.interactive && !a.detach && unsafe { libc::isatty(0) } == 1 {
        // rdock holds the pty, so that ctrl-p ctrl-q can detach.
        return super::exec_tty::run(&r.runtime, &r.runtime_root, &dir, &args[1..]).map(died);
    }
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
    let code = container::exit_code(st);
    Ok(if a.detach { code } else { died(code) })
}
