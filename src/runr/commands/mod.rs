//! One file per verb; each takes its parsed flags and the global options.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
pub mod spec;
mod start;
mod state;
mod update;

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::cli::{Cli, Command};

/// Runs one command; the return value is runr's exit code.
pub fn dispatch(cli: &Cli, cmd: &Command) -> Result<i32> {
    match cmd {
        Command::Create(c) => create::run(cli, &c.opts).map(|_| 0),
        Command::Start(c) => start::run(cli, &c.id).map(|_| 0),
        Command::State(c) => state::run(cli, &c.id).map(|_| 0),
        Command::Kill(c) => kill::run(cli, c).map(|_| 0),
        Command::Delete(c) => delete::run(cli, c).map(|_| 0),
        Command::Run(c) => run::run(cli, c),
        Command::Exec(c) => exec::run(cli, c),
        Command::List(c) => list::run(cli, c).map(|_| 0),
        Command::Spec(c) => spec::run(c).map(|_| 0),
        Command::Features => features::run().map(|_| 0),
        Command::Ps(c) => ps::run(cli, c).map(|_| 0),
        Command::Pause(c) => pause::pause(cli, &c.id).map(|_| 0),
        Command::Resume(c) => pause::resume(cli, &c.id).map(|_| 0),
        Command::Update(c) => update::run(cli, c).map(|_| 0),
        Command::Events(c) => events::run(cli, c).map(|_| 0),
    }
}

/// The exit code and message for a failed command. As with runc, `exec`
/// reports its own failures with 255, so they can be told from the exit
/// status of the process it ran (which it passes through).
pub fn failure(cmd: &Command, e: &anyhow::Error) -> (i32, String) {
    match cmd {
        Command::Exec(_) => (255, format!("exec failed: {e:#}")),
        _ => (1, format!("{e:#}")),
    }
}

/// Paths given on the command line are relative to the caller's directory,
/// and cleaned lexically (`.` and `..` removed) as Go's filepath.Abs does.
pub fn absolute(p: &Path) -> Result<PathBuf> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .context("getting current directory")?
            .join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}
