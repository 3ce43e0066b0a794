//! `docgen OUT`: rdock's and runr's man pages and shell completions, made
//! from the clap definitions the binaries parse with (`make install` runs it
//! and installs what it writes). Keeping the generators here keeps them out
//! of the runr binary.
//!
//! ```text
//! OUT/man/man1/rdock.1, rdock-run.1, rdock-container-run.1 ...
//! OUT/man/man8/runr.8, runr-create.8 ...
//! OUT/completions/bash/{rdock,runr}
//! OUT/completions/zsh/{_rdock,_runr}
//! OUT/completions/fish/{rdock,runr}.fish
//! ```
use anyhow::{Context, Result};
use clap::{Command, CommandFactory};
use clap_complete::Shell;
use std::path::Path;

struct Program {
    cmd: Command,
    name: &'static str,
    section: &'static str,
    manual: &'static str,
}

fn main() -> Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .context("usage: docgen OUT_DIR")?;
    let out = Path::new(&out);
    let date = date()?;
    let programs = [
        Program {
            cmd: rdock::cli::Cli::command(),
            name: "rdock",
            section: "1",
            manual: "rdock Manual",
        },
        Program {
            cmd: runr::cli::Cli::command(),
            name: "runr",
            section: "8",
            manual: "runr Manual",
        },
    ];
    for p in programs {
        let dir = out.join("man").join(format!("man{}", p.section));
        create_dir(&dir)?;
        let mut cmd = p.cmd.clone().disable_help_subcommand(true);
        cmd.build();
        man_pages(&cmd, &p, &date, &dir)?;
        for (shell, sub, file) in [
            (Shell::Bash, "bash", p.name.to_string()),
            (Shell::Zsh, "zsh", format!("_{}", p.name)),
            (Shell::Fish, "fish", format!("{}.fish", p.name)),
        ] {
            let dir = out.join("completions").join(sub);
            create_dir(&dir)?;
            let mut buf = Vec::new();
            rdock::commands::completion::script(p.cmd.clone(), p.name, shell, &mut buf);
            write(&dir.join(file), &buf)?;
        }
    }
    Ok(())
}

/// One page for `cmd` and one for each visible subcommand, named as git's
/// and docker's are (`rdock-container-run.1`).
fn man_pages(cmd: &Command, p: &Program, date: &str, dir: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, p, date, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .section(p.section)
        .date(date)
        .source(format!("{} {}", p.name, env!("CARGO_PKG_VERSION")))
        .manual(p.manual);
    let mut buf = Vec::new();
    man.render(&mut buf)?;
    write(&dir.join(man.get_filename()), &buf)
}

/// The pages' date: `SOURCE_DATE_EPOCH` (reproducible builds; the Makefile
/// passes the commit's time), else today. Never empty: clap_mangen leaves
/// an empty date out of `.TH`, which shifts the source into its place.
fn date() -> Result<String> {
    let when = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => {
            let secs: i64 = s
                .trim()
                .parse()
                .context("SOURCE_DATE_EPOCH is not a number")?;
            chrono::DateTime::from_timestamp(secs, 0).context("SOURCE_DATE_EPOCH out of range")?
        }
        Err(_) => chrono::Utc::now(),
    };
    Ok(when.format("%Y-%m-%d").to_string())
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
