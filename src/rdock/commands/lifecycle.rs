//! `rdock stop`, `rdock start`, `rdock kill`.
use super::Context;
use crate::cli::{KillArgs, StartArgs, StopArgs};
use crate::container::{self, hostconfig, record, record::State};
use anyhow::{bail, Result};

pub fn stop(ctx: &Context, a: StopArgs) -> Result<i32> {
    Ok(super::each(&a.containers, |n| {
        let r = record::find(&ctx.root, n)?;
        let secs = hostconfig::stop_secs(&record::dir_of(&ctx.root, &r.id), a.time);
        container::stop(&ctx.root, &r, secs)
    }))
}

pub fn start(ctx: &Context, a: StartArgs) -> Result<i32> {
    if a.all_restartable {
        return start_restartable(ctx);
    }
    if a.attach || a.interactive {
        // docker attaches to one container only.
        let [n] = a.containers.as_slice() else {
            bail!("you cannot start and attach multiple containers at once");
        };
        let r = record::find(&ctx.root, n)?;
        if r.is_up() {
            bail!("container {} is already running", r.id);
        }
        hostconfig::refresh(&ctx.root, &record::dir_of(&ctx.root, &r.id))?;
        container::prepare_start(&ctx.root, &r.id)?;
        crate::events::container(&ctx.root, &r, "attach", &[]);
        container::start_detached(&ctx.root, &r.id, true)?;
        let dir = record::dir_of(&ctx.root, &r.id);
        return super::attach::attach(&dir, a.interactive && r.interactive, r.tty).or_else(|e| {
            eprintln!("Error response from daemon: {e:#}");
            Ok(125)
        });
    }
    Ok(super::each(&a.containers, |n| {
        let r = record::find(&ctx.root, n)?;
        if r.is_up() {
            return Ok(());
        }
        // What docker's daemon refuses at start (a --device gone, a
        // container to join stopped) fails `start` with its message.
        hostconfig::refresh(&ctx.root, &record::dir_of(&ctx.root, &r.id))?;
        container::prepare_start(&ctx.root, &r.id)?;
        container::start_detached(&ctx.root, &r.id, false)
    }))
}

/// `start --all-restartable`, at boot: the names started, docker's way.
fn start_restartable(ctx: &Context) -> Result<i32> {
    let mut code = 0;
    for r in container::boot::restartable(&ctx.root)? {
        match container::boot::start_again(&ctx.root, &r) {
            Ok(()) => println!("{}", r.name),
            Err(e) => {
                eprintln!("Error response from daemon: starting {}: {e:#}", r.name);
                code = 1;
            }
        }
    }
    Ok(code)
}

pub fn kill(ctx: &Context, a: KillArgs) -> Result<i32> {
    Ok(super::each(&a.containers, |n| {
        let r = record::find(&ctx.root, n)?;
        if !r.is_up() {
            bail!(
                "Cannot kill container: {n}: Container {} is not running",
                r.id
            );
        }
        // docker's kill is a stop by hand: no restart follows; one waiting
        // to restart just stays exited.
        let r = container::mark_stopped(&ctx.root, &r.id)?;
        if r.live_state() != State::Running {
            return Ok(());
        }
        let sig = a.signal.trim_start_matches("SIG");
        container::signal(&r, sig)?;
        // docker thaws a paused container it kills, so that KILL takes effect.
        if sig == "KILL" || sig == "9" {
            container::pause::thaw(&ctx.root, &r);
        }
        Ok(())
    }))
}
