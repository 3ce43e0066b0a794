//! Views of a container's filesystem from the host, for `diff`, `export`
//! and `cp`: its image layers, its overlay upper dir, and its merged root
//! (the live mount while it runs, else a read-only overlay made for the
//! occasion).
use super::record::{self, Record};
use super::rootfs;
use anyhow::{Context, Result};
use image::store::Store;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The container's image layer directories, bottom first.
pub fn layers(root: &Path, r: &Record) -> Result<Vec<PathBuf>> {
    let dir = record::dir_of(root, &r.id);
    let image = std::fs::read_to_string(dir.join("image"))
        .with_context(|| format!("reading the image of container {}", r.id))?;
    Ok(Store::open(root)?.resolve(image.trim())?.layers)
}

/// The merged root of a container; a temporary mount is undone on drop.
pub struct Merged {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for Merged {
    fn drop(&mut self) {
        if self.temporary {
            if let Err(e) = umount2(&self.path, MntFlags::MNT_DETACH) {
                log::warn!("unmounting {}: {e}", self.path.display());
            }
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Whether `p` is a mount point of its own (its device differs from its parent's).
fn mounted(p: &Path) -> bool {
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// A writable overlay of a stopped container's layers and its own upper
/// dir, for `cp` into it; undone on drop.
pub fn merged_rw(root: &Path, r: &Record) -> Result<Merged> {
    let dir = record::dir_of(root, &r.id);
    let lower: Vec<String> = layers(root, r)?
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    temporary_mount(&dir, r, MsFlags::empty(), &data)
}

fn temporary_mount(dir: &Path, r: &Record, flags: MsFlags, data: &str) -> Result<Merged> {
    let target = dir.join(format!("view.{}", std::process::id()));
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    if let Err(e) = mount(Some("overlay"), &target, Some("overlay"), flags, Some(data)) {
        let _ = std::fs::remove_dir(&target);
        return Err(e)
            .with_context(|| format!("mounting a view of {} on {}", r.id, target.display()));
    }
    Ok(Merged {
        path: target,
        temporary: true,
    })
}

/// The running container's root, or a read-only overlay of its upper dir
/// over its layers (never its own upper/work pair, which a `start` may
/// take at any moment).
pub fn merged(root: &Path, r: &Record) -> Result<Merged> {
    let dir = record::dir_of(root, &r.id);
    let live = rootfs::rootfs_of(&dir);
    if mounted(&live) {
        return Ok(Merged {
            path: live,
            temporary: false,
        });
    }
    let mut lower = vec![dir.join("upper").display().to_string()];
    lower.extend(
        layers(root, r)?
            .iter()
            .rev()
            .map(|p| p.display().to_string()),
    );
    let data = format!("lowerdir={}", lower.join(":"));
    temporary_mount(&dir, r, MsFlags::MS_RDONLY, &data)
}
