//! `rdock export [-o FILE] CONTAINER`: a tar of the container's merged
//! root, running or stopped (its mounts, volumes included, are not in it).
use super::Context;
use crate::cli::ExportArgs;
use crate::container::{fsview, record};
use anyhow::{bail, Context as _, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn run(ctx: &Context, a: ExportArgs) -> Result<i32> {
    if let Err(e) = export(ctx, &a) {
        eprintln!("Error response from daemon: {e:#}");
        return Ok(1);
    }
    Ok(0)
}

fn export(ctx: &Context, a: &ExportArgs) -> Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let r = record::find(&ctx.root, &a.container)?;
    let view = fsview::merged(&ctx.root, &r)?;
    match &a.output {
        Some(path) => {
            // Written beside the target and renamed: no half file on failure.
            let tmp = path.with_extension("rdock-partial");
            let f = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let res = write_tree(&view.path, std::io::BufWriter::new(f));
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        }
        None => write_tree(
            &view.path,
            std::io::BufWriter::new(std::io::stdout().lock()),
        )?,
    }
    Ok(())
}

/// The tree under `top` as a tar, names relative to it (`bin/`, `bin/sh`),
/// symlinks kept as links, owners, modes and times as they are.
pub fn write_tree(top: &Path, out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    append_dir(&mut b, top, Path::new(""))?;
    b.into_inner()?.flush()?;
    Ok(())
}

fn append_dir<W: Write>(b: &mut tar::Builder<W>, dir: &Path, rel: &Path) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (path, name) = (e.path(), rel.join(e.file_name()));
        b.append_path_with_name(&path, &name)
            .with_context(|| format!("archiving {}", path.display()))?;
        if e.file_type()?.is_dir() {
            append_dir(b, &path, &name)?;
        }
    }
    Ok(())
}
