//! The `cgroup` mount inside a container: on v1 a tmpfs with one directory per
//! hierarchy, on v2 the cgroup2 filesystem; the container sees its own cgroup
//! as the root (through its cgroup namespace, or a bind of its cgroup dir).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

use super::fsutil;
use super::mounts::{bind_remount, MountContext, MountOptions};

/// One line of /proc/self/mountinfo, the fields runr uses.
pub struct MountInfo {
    /// The root of the mount within its filesystem ("/" for a full mount).
    pub root: String,
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_opts: String,
}

pub fn mountinfo() -> Vec<MountInfo> {
    let data = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    data.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let root = unescape(pre.split(' ').nth(3)?);
            let mount_point = unescape(pre.split(' ').nth(4)?);
            let mut post = post.split(' ');
            let fstype = post.next()?.to_string();
            let _source = post.next()?;
            let super_opts = post.next().unwrap_or("").to_string();
            Some(MountInfo {
                root,
                mount_point: PathBuf::from(mount_point),
                fstype,
                super_opts,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_unified() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Our own cgroup in each v1 hierarchy, keyed by the hierarchy's controller list.
fn own_v1_cgroups() -> Vec<(String, PathBuf)> {
    sysutil::proc::own_cgroups()
        .into_iter()
        .filter(|(ctrls, _)| !ctrls.is_empty())
        .collect()
}

pub fn mount_cgroup(ctx: &MountContext, dest: &Path, typ: &str, opts: &MountOptions) -> Result<()> {
    let flags = opts.flags - (MsFlags::MS_RDONLY | MsFlags::MS_BIND | MsFlags::MS_REC);
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    let target = fsutil::create_in_root(ctx.root, dest, false)?;
    let what = || format!("mounting cgroup on {}", dest.display());
    if typ == "cgroup2" || is_unified() {
        let t = fsutil::fd_path(&target);
        if ctx.new_cgroupns {
            mount(
                Some("cgroup2"),
                t.as_str(),
                Some("cgroup2"),
                flags,
                None::<&str>,
            )
            .with_context(what)?;
        } else {
            let src = Path::new("/sys/fs/cgroup").join(fsutil::relative(ctx.cgroup_path));
            mount(
                Some(&src),
                t.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .with_context(what)?;
        }
        if ro {
            let fresh = fsutil::open_path(ctx.root, dest)?;
            bind_remount(&fsutil::fd_path(&fresh), flags | MsFlags::MS_RDONLY)
                .with_context(what)?;
        }
        return Ok(());
    }

    // v1: a tmpfs holding one directory per hierarchy.
    let t = fsutil::fd_path(&target);
    mount(
        Some("tmpfs"),
        t.as_str(),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .with_context(what)?;
    let own = own_v1_cgroups();
    // The host's hierarchies are those under /sys/fs/cgroup, first mount of
    // each: a cgroup mount elsewhere (another container's rootfs set up in
    // this mount namespace, a chroot) is not one to mirror.
    let mut seen = std::collections::HashSet::new();
    let host = mountinfo().into_iter().filter(|m| {
        m.fstype == "cgroup"
            && m.mount_point.parent() == Some(Path::new("/sys/fs/cgroup"))
            && seen.insert(m.mount_point.clone())
    });
    for mi in host {
        let Some(name) = mi.mount_point.file_name() else {
            continue;
        };
        let name = name.to_string_lossy().into_owned();
        let controllers: Vec<&str> = mi
            .super_opts
            .split(',')
            .filter(|o| {
                *o != "rw"
                    && *o != "ro"
                    && !o.starts_with("release_agent")
                    && *o != "clone_children"
                    && *o != "noprefix"
            })
            .collect();
        let key = controllers.join(",");
        let sub = dest.join(&name);
        let sub_fd = fsutil::create_in_root(ctx.root, &sub, false)?;
        let sp = fsutil::fd_path(&sub_fd);
        if ctx.new_cgroupns {
            mount(
                Some("cgroup"),
                sp.as_str(),
                Some("cgroup"),
                flags,
                Some(key.as_str()),
            )
            .with_context(|| format!("mounting cgroup {key} on {}", sub.display()))?;
        } else {
            let path = own
                .iter()
                .find(|(c, _)| *c == key)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            let src = mi.mount_point.join(fsutil::relative(&path));
            mount(
                Some(&src),
                sp.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .with_context(|| format!("binding {} on {}", src.display(), sub.display()))?;
        }
        if ro {
            let fresh = fsutil::open_path(ctx.root, &sub)?;
            bind_remount(&fsutil::fd_path(&fresh), flags | MsFlags::MS_RDONLY)
                .with_context(|| format!("making {} read-only", sub.display()))?;
        }
        // A combined hierarchy (cpu,cpuacct) is also reachable by each name.
        if name.contains(',') {
            let dir = fsutil::open_path(ctx.root, dest)?;
            for c in name.split(',') {
                let _ = nix::unistd::symlinkat(
                    name.as_str(),
                    Some(std::os::fd::AsRawFd::as_raw_fd(&dir)),
                    c,
                );
            }
        }
    }
    if ro {
        let fresh = fsutil::open_path(ctx.root, dest)?;
        bind_remount(&fsutil::fd_path(&fresh), flags | MsFlags::MS_RDONLY).with_context(what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_mountinfo_octal() {
        assert_eq!(super::unescape(r"/a\040b"), "/a b");
        assert_eq!(super::unescape("/plain"), "/plain");
    }
}
