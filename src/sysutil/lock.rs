//! flock(2) locks, released when the holder is dropped (the fd closes).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;

/// A held flock on an open file.
pub struct Lock(File);

impl Lock {
    /// The locked file (a caller may check it is still the one at its path).
    pub fn file(&self) -> &File {
        &self.0
    }

    /// The file, still locked: the lock goes when the file is closed.
    pub fn into_file(self) -> File {
        self.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shared,
    Exclusive,
}

/// Locks `file`; with `wait` false, None when someone else holds it.
pub fn flock(file: File, kind: Kind, wait: bool) -> std::io::Result<Option<Lock>> {
    let mut op = match kind {
        Kind::Shared => libc::LOCK_SH,
        Kind::Exclusive => libc::LOCK_EX,
    };
    if !wait {
        op |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on an fd we own; no memory is involved.
        match Errno::result(unsafe { libc::flock(file.as_raw_fd(), op) }) {
            Ok(_) => return Ok(Some(Lock(file))),
            Err(Errno::EINTR) => continue,
            Err(Errno::EWOULDBLOCK) if !wait => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens (creating if needed) the lock file at `path` and locks it.
pub fn lock_file(path: &Path, kind: Kind, wait: bool) -> Result<Option<Lock>> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock {}", path.display()))?;
    flock(f, kind, wait).with_context(|| format!("locking {}", path.display()))
}

/// Waits for an exclusive lock on the file at `path`.
pub fn exclusive(path: &Path) -> Result<Lock> {
    lock_file(path, Kind::Exclusive, true).map(|l| l.expect("a waiting lock is always taken"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_not_taken_twice() {
        let p = std::env::temp_dir().join(format!("sysutil-lock-{}", std::process::id()));
        let held = exclusive(&p).unwrap();
        assert!(lock_file(&p, Kind::Exclusive, false).unwrap().is_none());
        drop(held);
        assert!(lock_file(&p, Kind::Shared, false).unwrap().is_some());
        std::fs::remove_file(&p).unwrap();
    }
}
