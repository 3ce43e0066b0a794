//! `rdock import [-c CHANGE]... [-m MSG] FILE|URL|- [REPO[:TAG]]`: a tar
//! (plain, gzip or zstd) becomes a one-layer image, through the same
//! unpacker and size limits as a pulled layer; prints its ID as docker does.
use super::Context;
use crate::cli::ImportArgs;
use crate::commands::commit::target_name;
use anyhow::{Context as _, Result};
use image::commit::{import, ImportRequest};

pub fn run(ctx: &Context, a: ImportArgs) -> Result<i32> {
    let names = match a.repository.as_deref().map(target_name).transpose() {
        Ok(n) => n.into_iter().collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    let is_url = a.source.starts_with("http://") || a.source.starts_with("https://");
    // A missing file is the client's error, as docker's.
    let file = if a.source == "-" || is_url {
        None
    } else {
        match std::fs::File::open(&a.source) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("open {}: {}", a.source, sysutil_err(&e));
                return Ok(1);
            }
        }
    };
    let res = (|| -> Result<String> {
        let store = ctx.store()?;
        let comment = if a.message.is_empty() && is_url {
            format!("Imported from {}", a.source)
        } else {
            a.message.clone()
        };
        let req = ImportRequest {
            comment: &comment,
            changes: &a.change,
            names: &names,
        };
        let rec = match file {
            Some(f) => import(&store, std::io::BufReader::new(f), req)?,
            None if is_url => {
                println!("Downloading from {}", a.source);
                let opts = ctx.registry_options()?;
                let path = ctx
                    .runtime()?
                    .block_on(image::commit::download(&store, &a.source, &opts))
                    .with_context(|| format!("downloading {}", a.source))?;
                let f = std::fs::File::open(&path);
                let res = f
                    .with_context(|| format!("opening {}", path.display()))
                    .and_then(|f| import(&store, std::io::BufReader::new(f), req));
                let _ = std::fs::remove_file(&path);
                res?
            }
            None => import(&store, std::io::stdin().lock(), req)?,
        };
        Ok(rec.id)
    })();
    match res {
        Ok(id) => {
            crate::events::image_tagged(&ctx.root, &id, &names);
            crate::events::image(&ctx.root, "import", &id, &id);
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error response from daemon: {e:#}");
            Ok(1)
        }
    }
}

/// "no such file or directory", as Go prints an errno.
fn sysutil_err(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}
