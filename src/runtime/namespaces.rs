//! Which namespaces the container gets: new ones become clone flags, joined
//! ones are opened (and their type checked) before anything is created.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::spec::ns_name;

pub struct Join {
    pub typ: LinuxNamespaceType,
    pub file: File,
}

pub struct Plan {
    /// Namespaces created new, as clone flags (time excluded: see `new_time`).
    pub new: CloneFlags,
    pub new_time: bool,
    /// Namespaces joined by path, user first.
    pub joins: Vec<Join>,
}

impl Plan {
    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        if t == LinuxNamespaceType::Time {
            return self.new_time;
        }
        self.new.contains(flag(t))
    }

    pub fn joins_user(&self) -> bool {
        self.joins.iter().any(|j| j.typ == LinuxNamespaceType::User)
    }

    pub fn in_userns(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWUSER) || self.joins_user()
    }

    /// A mount namespace of the container's own (new or joined): without
    /// one the container is set up in the caller's, as runc does.
    pub fn has_mntns(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWNS)
            || self
                .joins
                .iter()
                .any(|j| j.typ == LinuxNamespaceType::Mount)
    }

    pub fn own_pid_ns(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWPID)
            || self.joins.iter().any(|j| j.typ == LinuxNamespaceType::Pid)
    }
}

pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

pub fn plan(spec: &Spec) -> Result<Plan> {
    let mut p = Plan {
        new: CloneFlags::empty(),
        new_time: false,
        joins: vec![],
    };
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in list {
        match ns.path() {
            None => {
                if ns.typ() == LinuxNamespaceType::Time {
                    p.new_time = true;
                } else {
                    p.new |= flag(ns.typ());
                }
            }
            Some(path) => {
                let file = File::open(path).with_context(|| {
                    format!(
                        "opening {} namespace path {}",
                        ns_name(ns.typ()),
                        path.display()
                    )
                })?;
                check_type(&file, ns.typ(), path)?;
                p.joins.push(Join {
                    typ: ns.typ(),
                    file,
                });
            }
        }
    }
    p.joins.sort_by_key(|j| j.typ != LinuxNamespaceType::User);
    Ok(p)
}

/// ioctl(NS_GET_NSTYPE): a path of the wrong namespace type is an error.
fn check_type(f: &File, want: LinuxNamespaceType, path: &std::path::Path) -> Result<()> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: the ioctl takes no argument and only reads the fd's namespace type.
    let got = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE) };
    if got < 0 {
        bail!("{} is not a namespace file", path.display());
    }
    if got != want as i32 {
        bail!("{} is not a {} namespace", path.display(), ns_name(want));
    }
    Ok(())
}

pub fn join(j: &Join) -> Result<()> {
    setns(j.file.as_fd(), flag(j.typ))
        .with_context(|| format!("joining {} namespace", ns_name(j.typ)))
}

/// This process's own namespace of a type, to come back to after joining.
pub fn own(t: LinuxNamespaceType) -> Result<File> {
    let name = match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time_for_children",
        LinuxNamespaceType::Pid => "pid_for_children",
        other => ns_name(other),
    };
    File::open(format!("/proc/self/ns/{name}"))
        .with_context(|| format!("opening own {name} namespace"))
}
