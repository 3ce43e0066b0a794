//! What `run` does with its own terminal: `-a` (which of the container's
//! streams are shown), `--sig-proxy`, `--cidfile`, `--detach-keys`, with
//! docker's checks and messages.
use crate::container::hostconfig::{flag_error, CliError};
use anyhow::{bail, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The streams `run` attaches (docker's Config.AttachStdin/out/err).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// `-a` values (case-insensitive); none given: stdout and stderr. `-i`
/// attaches stdin whatever `-a` says, as docker's.
pub fn parse_attach(a: &[String], interactive: bool, detach: bool) -> Result<Streams> {
    let mut s = Streams {
        stdin: interactive,
        stdout: a.is_empty(),
        stderr: a.is_empty(),
    };
    for v in a {
        match v.to_ascii_lowercase().as_str() {
            "stdin" => s.stdin = true,
            "stdout" => s.stdout = true,
            "stderr" => s.stderr = true,
            _ => {
                return Err(flag_error(
                    v,
                    "-a, --attach",
                    "valid streams are STDIN, STDOUT and STDERR",
                ))
            }
        }
    }
    if detach {
        s = Streams {
            stdin: false,
            stdout: false,
            stderr: false,
        };
    }
    Ok(s)
}

/// `--sig-proxy[=BOOL]`.
pub fn parse_sig_proxy(v: &str) -> Result<bool> {
    crate::container::mounts::parse_bool(v).ok_or_else(|| {
        flag_error(
            v,
            "--sig-proxy",
            &format!("strconv.ParseBool: parsing {v:?}: invalid syntax"),
        )
    })
}

/// Our stdout and/or stderr pointed at /dev/null while alive (the streams
/// not attached with `-a`), restored on drop.
pub struct Silence(Vec<(i32, OwnedFd)>);

impl Silence {
    pub fn new(s: &Streams) -> Result<Silence> {
        let mut saved = Vec::new();
        for (fd, shown) in [(1, s.stdout), (2, s.stderr)] {
            if shown {
                continue;
            }
            let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
            let copy = nix::unistd::dup(fd)?;
            // SAFETY: dup returned a fresh fd that nothing else owns.
            saved.push((fd, unsafe { OwnedFd::from_raw_fd(copy) }));
            nix::unistd::dup2(null.as_raw_fd(), fd)?;
        }
        Ok(Silence(saved))
    }
}

impl Drop for Silence {
    fn drop(&mut self) {
        for (fd, saved) in &self.0 {
            let _ = nix::unistd::dup2(saved.as_raw_fd(), *fd);
        }
    }
}

/// `--cidfile`: refused when the file exists, made before the container
/// (its errors are the client's: `rdock: MSG.`), filled with the id once
/// created, removed when the create fails.
#[derive(Debug)]
pub struct CidFile {
    path: Option<PathBuf>,
    written: bool,
}

impl CidFile {
    pub fn create(path: Option<&Path>) -> Result<CidFile> {
        let Some(p) = path else {
            return Ok(CidFile {
                path: None,
                written: false,
            });
        };
        if std::fs::symlink_metadata(p).is_ok() {
            bail!(CliError(format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                p.display()
            )));
        }
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
        {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            bail!(CliError(format!(
                "failed to create the container ID file: open {}: {why}",
                p.display()
            )));
        }
        Ok(CidFile {
            path: Some(p.to_path_buf()),
            written: false,
        })
    }

    /// The full id, no newline, as docker writes it.
    pub fn write(&mut self, id: &str) -> Result<()> {
        if let Some(p) = &self.path {
            std::fs::write(p, id).map_err(|e| {
                CliError(format!("failed to write the container ID to the file: {e}"))
            })?;
            self.written = true;
        }
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if let (Some(p), false) = (&self.path, self.written) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// docker's `--detach-keys`: comma-separated keys, each one character or
/// `ctrl-X` (X a letter or one of `@[\]^_`).
pub fn parse_detach_keys(v: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for k in v.split(',') {
        let b = k.as_bytes();
        if b.len() == 1 {
            out.push(b[0]);
            continue;
        }
        let lower = k.to_ascii_lowercase();
        let code = lower
            .strip_prefix("ctrl-")
            .and_then(|c| match c.as_bytes() {
                [c @ b'a'..=b'z'] => Some(c - b'a' + 1),
                [b'@'] => Some(0),
                [c @ (b'[' | b'\\' | b']' | b'^' | b'_')] => Some(c - b'[' + 27),
                _ => None,
            });
        match code {
            Some(c) => out.push(c),
            None => bail!(CliError(format!("Invalid detach keys ({v}) provided"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_streams() {
        let s = |a: &[&str], i| {
            parse_attach(
                &a.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                i,
                false,
            )
        };
        assert_eq!(
            s(&[], false).unwrap(),
            Streams {
                stdin: false,
                stdout: true,
                stderr: true
            }
        );
        assert_eq!(
            s(&["STDOUT"], true).unwrap(),
            Streams {
                stdin: true,
                stdout: true,
                stderr: false
            }
        );
        assert_eq!(
            s(&["bogus"], false).unwrap_err().to_string(),
            "invalid argument \"bogus\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        );
    }

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), [0x10, 0x11]);
        assert_eq!(parse_detach_keys("ctrl-x,y").unwrap(), [0x18, b'y']);
        assert_eq!(parse_detach_keys("ctrl-@,ctrl-_").unwrap(), [0, 0x1f]);
        assert!(parse_detach_keys("bogus").is_err());
    }

    #[test]
    fn cidfile_is_refused_when_present_and_removed_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cid");
        {
            let _c = CidFile::create(Some(&p)).unwrap();
            assert!(p.exists());
        }
        assert!(!p.exists(), "removed: nothing written");
        let mut c = CidFile::create(Some(&p)).unwrap();
        c.write("abc").unwrap();
        drop(c);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc");
        assert!(CidFile::create(Some(&p))
            .unwrap_err()
            .to_string()
            .starts_with("container ID file found"));
        let e = CidFile::create(Some(&d.path().join("no/cid")))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("/no/cid: no such file or directory"), "{e}");
    }
}
