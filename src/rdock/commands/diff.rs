//! `rdock diff CONTAINER`: docker's A/C/D lines, read from the overlay's
//! upper dir (a whiteout, char device 0/0, is a deletion).
use super::Context;
use crate::container::{fsview, record};
use ::runtime::fsutil;
use anyhow::{Context as _, Result};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

pub fn run(ctx: &Context, container: &str) -> Result<i32> {
    let r = match record::find(&ctx.root, container) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e:#}");
            return Ok(1);
        }
    };
    let upper = record::dir_of(&ctx.root, &r.id).join("upper");
    // Top layer first: the first one that has the path (or its whiteout) decides.
    let layers: Vec<std::fs::File> = fsview::layers(&ctx.root, &r)?
        .iter()
        .rev()
        .map(|p| std::fs::File::open(p).with_context(|| format!("opening {}", p.display())))
        .collect::<Result<_>>()?;
    let mut changes = Vec::new();
    walk(&upper, "", &layers, &mut changes)?;
    changes.sort_by(|a, b| a.1.cmp(&b.1));
    for (kind, path) in visible(changes) {
        println!("{kind} {path}");
    }
    Ok(0)
}

/// What docker keeps in a container's init layer, out of its diff: mount
/// points and the files rdock binds in.
pub(crate) const INIT_PATHS: &[&str] = &[
    "/.dockerenv",
    "/dev",
    "/dev/console",
    "/dev/pts",
    "/dev/shm",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/proc",
    "/sys",
];

/// The changes less the init paths, and less the directories copied up
/// only to hold those (a `C` with nothing changed under it). Sorted input.
fn visible(changes: Vec<(char, String)>) -> Vec<(char, String)> {
    let kept: Vec<(char, String)> = changes
        .into_iter()
        .filter(|(k, p)| *k == 'D' || !INIT_PATHS.contains(&p.as_str()))
        .collect();
    kept.iter()
        .enumerate()
        .filter(|(i, (k, p))| {
            *k != 'C'
                || !INIT_PATHS.iter().any(|ip| ip.starts_with(&format!("{p}/")))
                || kept[i + 1..]
                    .iter()
                    .any(|(_, q)| q.starts_with(&format!("{p}/")))
        })
        .map(|(_, c)| c.clone())
        .collect()
}

fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// Whether `rel` exists in the image, looked up inside each layer's root.
fn in_image(layers: &[std::fs::File], rel: &str) -> bool {
    for l in layers {
        let fd = match fsutil::openat2(
            l.as_fd(),
            Path::new(rel),
            libc::O_PATH | libc::O_NOFOLLOW,
            fsutil::RESOLVE_IN_ROOT | fsutil::RESOLVE_NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            Err(_) => continue,
        };
        let md = std::fs::metadata(fsutil::fd_path(&fd));
        return !md.is_ok_and(|m| is_whiteout(&m));
    }
    false
}

fn walk(
    dir: &Path,
    rel: &str,
    layers: &[std::fs::File],
    out: &mut Vec<(char, String)>,
) -> Result<()> {
    let rd = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for e in rd {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let path = format!("{rel}/{}", e.file_name().to_string_lossy());
        let md = e.metadata()?;
        if is_whiteout(&md) {
            out.push(('D', path));
            continue;
        }
        let kind = if in_image(layers, &path) { 'C' } else { 'A' };
        out.push((kind, path.clone()));
        if md.is_dir() {
            walk(&e.path(), &path, layers, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn init_paths_and_their_bare_parents_are_hidden() {
        let c = |k: char, p: &str| (k, p.to_string());
        let got = super::visible(vec![
            c('A', "/dev"),
            c('C', "/etc"),
            c('A', "/etc/hostname"),
            c('C', "/root"),
        ]);
        assert_eq!(got, vec![c('C', "/root")]);
        let got = super::visible(vec![
            c('C', "/etc"),
            c('A', "/etc/hosts"),
            c('C', "/etc/passwd"),
        ]);
        assert_eq!(got, vec![c('C', "/etc"), c('C', "/etc/passwd")]);
    }
}
