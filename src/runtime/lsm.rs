//! AppArmor profile and SELinux labels. Applied when the host has the LSM;
//! when it has not, refused as runc refuses them (runc 1.1.5 here: an
//! apparmorProfile fails the container, a selinuxLabel fails validation, a
//! mountLabel fails the first labelled mount), with a message that says why.

use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

/// What the init writes to its own /proc/thread-self/attr just before execve.
#[derive(Default)]
pub struct ExecLabels {
    apparmor: Option<String>,
    selinux: Option<String>,
}

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

impl ExecLabels {
    /// Checked before fork; nothing is read from the host when no label is set.
    pub fn resolve(spec: &Spec, process: &oci_spec::runtime::Process) -> Result<ExecLabels> {
        let mut l = ExecLabels::default();
        if let Some(p) = process
            .apparmor_profile()
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            if !apparmor_enabled() {
                bail!("process.apparmorProfile {p:?} is set, but AppArmor is not enabled on this host");
            }
            l.apparmor = Some(p.to_string());
        }
        if let Some(s) = process.selinux_label().as_deref().filter(|s| !s.is_empty()) {
            if !selinux_enabled() {
                bail!("process.selinuxLabel is set, but SELinux is disabled or not supported on this host");
            }
            l.selinux = Some(s.to_string());
        }
        if let Some(m) = spec
            .linux()
            .as_ref()
            .and_then(|l| l.mount_label().as_deref())
            .filter(|m| !m.is_empty())
        {
            if !selinux_enabled() {
                bail!("linux.mountLabel {m:?} is set, but SELinux is disabled or not supported on this host");
            }
            bail!("linux.mountLabel {m:?}: SELinux mount labels are not implemented by runr");
        }
        Ok(l)
    }

    /// Takes effect at the next execve, so it is the very last step.
    pub fn apply(&self) -> Result<()> {
        if let Some(p) = &self.apparmor {
            let new = Path::new("/proc/thread-self/attr/apparmor/exec");
            let attr = if new.exists() {
                new
            } else {
                Path::new("/proc/thread-self/attr/exec")
            };
            write_attr(attr, &format!("exec {p}"))
                .with_context(|| format!("applying AppArmor profile {p:?}"))?;
        }
        if let Some(s) = &self.selinux {
            write_attr(Path::new("/proc/thread-self/attr/exec"), s)
                .with_context(|| format!("setting SELinux label {s:?}"))?;
        }
        Ok(())
    }
}

/// Writes an LSM attribute, checked to be on procfs (the container's /proc
/// must not redirect it, CVE-2025-52881).
fn write_attr(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let on_proc = nix::sys::statfs::fstatfs(&f)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
    if !on_proc {
        bail!("{} is not on procfs; refusing to write it", path.display());
    }
    f.write_all(value.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

use std::os::unix::fs::OpenOptionsExt;
