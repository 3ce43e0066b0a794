//! `rdock cp [-a] [-L] CONTAINER:SRC DEST|-` and `rdock cp [-a] [-L]
//! SRC|- CONTAINER:DEST`, with docker's rules for trailing `/` and `/.`.
//! A running container is reached through /proc/PID/root (its volumes and
//! tmpfs included), a stopped one through an overlay of its layers and
//! upper dir; paths resolve inside that root (`container::copy`).
use super::Context;
use crate::cli::CpArgs;
use crate::container::copy::{metadata, open_in, tar_in, tar_out};
use crate::container::fsview::{self, Merged};
use crate::container::record::{self, State};
use crate::container::runtime;
use anyhow::{bail, Context as _, Result};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One side of the copy.
enum Side {
    Stream,
    Local(PathBuf),
    Container(String, String),
}

/// docker's split: `NAME:PATH` unless the argument starts with `/` or `.`
/// (a local path with a colon is written `./a:b`), `-` for a tar stream.
fn parse(arg: &str) -> Side {
    if arg == "-" {
        return Side::Stream;
    }
    if !arg.starts_with('/') && !arg.starts_with('.') {
        if let Some((c, p)) = arg.split_once(':') {
            let p = if p.starts_with('/') {
                p.to_string()
            } else {
                format!("/{p}")
            };
            return Side::Container(c.to_string(), p);
        }
    }
    Side::Local(PathBuf::from(arg))
}

/// A root to resolve paths in, and what keeps it reachable.
struct Root {
    fd: OwnedFd,
    _view: Option<Merged>,
}

fn open_dir(p: &Path) -> Result<OwnedFd> {
    Ok(File::open(p)
        .with_context(|| format!("opening {}", p.display()))?
        .into())
}

fn container_root(ctx: &Context, r: &record::Record, write: bool) -> Result<Root> {
    if r.live_state() == State::Running {
        if let Some(pid) = runtime::pid(&r.runtime, &r.runtime_root, &r.id) {
            return Ok(Root {
                fd: open_dir(Path::new(&format!("/proc/{pid}/root")))?,
                _view: None,
            });
        }
    }
    let view = if write {
        fsview::merged_rw(&ctx.root, r)?
    } else {
        fsview::merged(&ctx.root, r)?
    };
    Ok(Root {
        fd: open_dir(&view.path)?,
        _view: Some(view),
    })
}

fn host_root() -> Result<Root> {
    Ok(Root {
        fd: open_dir(Path::new("/"))?,
        _view: None,
    })
}

fn absolute(p: &Path) -> Result<String> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    Ok(p.to_string_lossy().into_owned())
}

/// The source: its node, whether it is a directory, and the name its top
/// entry takes (`.` for `DIR/.`: the content only).
struct Source {
    fd: OwnedFd,
    is_dir: bool,
    base: String,
}

enum SrcError {
    Missing,
    Other(anyhow::Error),
}

fn source(root: BorrowedFd, path: &str, follow: bool) -> Result<Source, SrcError> {
    let content = path.ends_with("/.") || path == ".";
    let trailing = path.ends_with('/') || content;
    let fd = match open_in(root, Path::new(path), follow || trailing) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Err(SrcError::Missing),
        Err(nix::errno::Errno::ENOTDIR) => {
            return Err(SrcError::Other(anyhow::anyhow!("not a directory")))
        }
        Err(e) => return Err(SrcError::Other(anyhow::anyhow!("opening {path}: {e}"))),
    };
    let md = metadata(&fd).map_err(|e| SrcError::Other(e.into()))?;
    if trailing && !md.is_dir() {
        return Err(SrcError::Other(anyhow::anyhow!("not a directory")));
    }
    let base = if content {
        ".".to_string()
    } else {
        Path::new(path.trim_end_matches('/'))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into())
    };
    Ok(Source {
        fd,
        is_dir: md.is_dir(),
        base,
    })
}

/// Where the source lands under docker's rules: the directory to unpack
/// in, and the rename of the top entry when DEST names a new file or dir.
fn destination(
    root: BorrowedFd,
    dest: &str,
    src: &Source,
    missing_parent: impl Fn(&str) -> String,
) -> Result<(String, Option<String>)> {
    let trailing = dest.ends_with('/');
    let trimmed = if dest.len() > 1 {
        dest.trim_end_matches('/')
    } else {
        dest
    };
    match open_in(root, Path::new(dest), true) {
        Ok(fd) => {
            let md = metadata(&fd)?;
            if md.is_dir() {
                return Ok((trimmed.to_string(), None));
            }
            if src.is_dir {
                bail!("cannot copy directory");
            }
            if trailing {
                bail!("not a directory");
            }
        }
        Err(nix::errno::Errno::ENOENT) => {
            if trailing && !src.is_dir {
                bail!("no such directory");
            }
        }
        Err(nix::errno::Errno::ENOTDIR) => bail!("not a directory"),
        Err(e) => bail!("opening {dest}: {e}"),
    }
    let p = Path::new(trimmed);
    let parent = p
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("no destination name")?;
    match open_in(root, Path::new(&parent), true).map(|fd| metadata(&fd)) {
        Ok(Ok(m)) if m.is_dir() => {}
        _ => bail!("{}", missing_parent(&parent)),
    }
    Ok((parent, Some(name)))
}

/// Streams `src` as tar into `dest_dir` of `droot`, renaming its top entry.
fn transfer(
    src: Source,
    droot: BorrowedFd,
    dest_dir: &str,
    rename: Option<String>,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let (mut w, r) = std::os::unix::net::UnixStream::pair()?;
    let base = src.base.clone();
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<()> {
            let mut b = tar::Builder::new(&mut w);
            tar_out(&mut b, src.fd, Path::new(&base))?;
            b.finish()?;
            Ok(())
        });
        let read = tar_in(
            droot,
            Path::new(dest_dir),
            std::io::BufReader::new(r),
            rename.as_deref().map(|to| (src.base.as_str(), to)),
            owner,
        );
        let wrote = writer.join().expect("the tar writer does not panic");
        read.and(wrote)
    })
}

fn owner(archive: bool) -> Option<(u32, u32)> {
    // SAFETY: geteuid/getegid cannot fail.
    (!archive).then(|| unsafe { (libc::geteuid(), libc::getegid()) })
}

pub fn run(ctx: &Context, a: CpArgs) -> Result<i32> {
    match cp(ctx, &a) {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("{e:#}");
            Ok(1)
        }
    }
}

fn find(ctx: &Context, name: &str, path: &str) -> Result<record::Record> {
    record::find(&ctx.root, name)
        .map_err(|_| anyhow::anyhow!("Error: No such container:path: {name}:{path}"))
}

fn cp(ctx: &Context, a: &CpArgs) -> Result<()> {
    match (parse(&a.src), parse(&a.dest)) {
        (Side::Container(..), Side::Container(..)) => {
            bail!("copying between containers is not supported")
        }
        (Side::Container(c, p), dest) => {
            let r = find(ctx, &c, &p)?;
            let root = container_root(ctx, &r, false)?;
            let src = match source(root.fd.as_fd(), &p, a.follow_link) {
                Ok(s) => s,
                Err(SrcError::Missing) => bail!("Error: No such container:path: {c}:{p}"),
                Err(SrcError::Other(e)) => bail!("Error response from daemon: {e:#}"),
            };
            match dest {
                Side::Stream => {
                    let mut b =
                        tar::Builder::new(std::io::BufWriter::new(std::io::stdout().lock()));
                    tar_out(&mut b, src.fd, Path::new(&src.base))?;
                    use std::io::Write;
                    b.into_inner()?.flush()?;
                    Ok(())
                }
                Side::Local(d) => {
                    let host = host_root()?;
                    let mut d = absolute(&d)?;
                    if a.dest.ends_with('/') && !d.ends_with('/') {
                        d.push('/');
                    }
                    let (dir, rename) = destination(host.fd.as_fd(), &d, &src, |p| {
                        format!("stat {p}: no such file or directory")
                    })?;
                    transfer(src, host.fd.as_fd(), &dir, rename, owner(a.archive))
                }
                Side::Container(..) => unreachable!(),
            }
        }
        (src, Side::Container(c, p)) => {
            let r = find(ctx, &c, &p)?;
            let root = container_root(ctx, &r, true)?;
            match src {
                Side::Stream => {
                    match open_in(root.fd.as_fd(), Path::new(&p), true).map(|fd| metadata(&fd)) {
                        Ok(Ok(m)) if m.is_dir() => {}
                        Ok(_) => bail!("destination \"{c}:{p}\" must be a directory"),
                        Err(_) => bail!("Error: No such container:path: {c}:{p}"),
                    }
                    let stdin = std::io::BufReader::new(std::io::stdin().lock());
                    tar_in(
                        root.fd.as_fd(),
                        Path::new(&p),
                        stdin,
                        None,
                        owner(a.archive).map(|_| (0, 0)),
                    )
                }
                Side::Local(s) => {
                    let host = host_root()?;
                    let mut sp = absolute(&s)?;
                    if a.src.ends_with('/') && !sp.ends_with('/') {
                        sp.push('/');
                    }
                    if a.src.ends_with("/.") && !sp.ends_with("/.") {
                        sp.push_str("/.");
                    }
                    let src = match source(host.fd.as_fd(), &sp, a.follow_link) {
                        Ok(s) => s,
                        Err(SrcError::Missing) => bail!("lstat {sp}: no such file or directory"),
                        Err(SrcError::Other(e)) => bail!("{e:#}"),
                    };
                    let (dir, rename) = destination(root.fd.as_fd(), &p, &src, |_| {
                        format!("Error: No such container:path: {c}:{p}")
                    })
                    .map_err(|e| {
                        let m = e.to_string();
                        if m.starts_with("Error") {
                            e
                        } else {
                            anyhow::anyhow!("Error response from daemon: {m}")
                        }
                    })?;
                    // Files made in a container belong to its root unless -a.
                    transfer(
                        src,
                        root.fd.as_fd(),
                        &dir,
                        rename,
                        owner(a.archive).map(|_| (0, 0)),
                    )
                }
                Side::Container(..) => unreachable!(),
            }
        }
        _ => bail!("must specify at least one container source"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_like_docker() {
        assert!(matches!(parse("-"), Side::Stream));
        assert!(matches!(parse("/a:b"), Side::Local(_)));
        assert!(matches!(parse("./a:b"), Side::Local(_)));
        assert!(matches!(parse("file"), Side::Local(_)));
        match parse("web:etc/hosts") {
            Side::Container(c, p) => assert_eq!((c.as_str(), p.as_str()), ("web", "/etc/hosts")),
            _ => panic!("a container path"),
        }
    }
}
