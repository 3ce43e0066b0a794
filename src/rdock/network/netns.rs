//! A container's network namespace kept alive by a bind mount on a file
//! under rdock's root, so that it outlives the container's processes and
//! netavark can set it up before the runtime joins it and tear it down after.
use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::path::{Path, PathBuf};

/// `<root>/netns/<id>`
pub fn path_of(root: &Path, id: &str) -> PathBuf {
    root.join("netns").join(id)
}

/// Makes a new network namespace and pins it on `path`.
pub fn create(path: &Path) -> Result<()> {
    let dir = path.parent().context("netns path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let target = path.to_path_buf();
    // A thread of its own: unshare(CLONE_NEWNET) moves only the calling
    // thread, which ends right after pinning the namespace.
    let res = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET).context("unshare(CLONE_NEWNET)")?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| {
            format!(
                "bind-mounting the network namespace on {}",
                target.display()
            )
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the network namespace thread panicked"))?;
    if res.is_err() {
        let _ = std::fs::remove_file(path);
    }
    res
}

/// Unpins and removes `path`; nothing to do when it is gone already.
pub fn remove(path: &Path) -> Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e).with_context(|| format!("unmounting {}", path.display())),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
