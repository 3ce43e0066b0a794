//! `rdock volume ls|create|rm`: named volumes under `<root>/volumes/NAME/_data`.
use super::Context;
use crate::rdock::cli::VolumeCommand;
use crate::rdock::format::print_table;
use anyhow::{bail, Context as _, Result};

pub fn run(ctx: &Context, c: VolumeCommand) -> Result<i32> {
    let dir = ctx.root.join("volumes");
    match c {
        VolumeCommand::Ls(q) => {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            if q.quiet {
                names.iter().for_each(|n| println!("{n}"));
            } else {
                let rows: Vec<Vec<String>> =
                    names.into_iter().map(|n| vec!["local".into(), n]).collect();
                print_table(&["DRIVER", "VOLUME NAME"], &rows);
            }
        }
        VolumeCommand::Create { name } => {
            if name.contains('/') || name.starts_with('.') {
                bail!("invalid volume name {name}");
            }
            let d = dir.join(&name).join("_data");
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            println!("{name}");
        }
        VolumeCommand::Rm { names } => {
            for n in names {
                let d = dir.join(&n);
                if n.contains('/') || !d.is_dir() {
                    bail!("get {n}: no such volume");
                }
                std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
                println!("{n}");
            }
        }
    }
    Ok(0)
}
