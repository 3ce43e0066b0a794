//! Seccomp: the OCI `linux.seccomp` profile compiled to a BPF program and
//! loaded with seccomp(2), plus the hand-off of a NOTIFY listener to an agent.
//!
//! Compile before forking ([`compile`]); in the container's init, load as the
//! last step before exec ([`SeccompProgram::load`]) — loading allocates nothing.
//! Where init loads it (as runc does): without noNewPrivileges, before
//! dropping capabilities and changing uid (loading then needs CAP_SYS_ADMIN);
//! with noNewPrivileges, after both, as close to exec as possible. With
//! SCMP_ACT_NOTIFY, `load` returns the listener (close-on-exec); init passes it
//! to the runtime, which gives it to the agent with [`send_listener`].
//! [`parse_profile`] reads a profile from raw JSON with errors that name the
//! bad action, operator, architecture or flag.
//!
//! The code generator is our own rather than seccompiler's: seccompiler builds a
//! filter for one architecture and has no NOTIFY action, while OCI profiles
//! cover x86_64, x86 and x32 at once and may ask for user notification.

mod agent;
mod arch;
mod bpf;
mod filter;
mod profile;
mod support;
mod syscalls;

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag};

pub use agent::send_listener;
pub use profile::parse_profile;
pub use support::{support, Support};

/// Errors of compiling, loading and handing off seccomp filters.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("unknown seccomp action {0:?}")]
    UnknownAction(String),
    #[error("unknown seccomp operator {0:?}")]
    UnknownOperator(String),
    #[error("unknown seccomp architecture {0:?}")]
    UnknownArch(String),
    #[error("unknown seccomp flag {0:?}")]
    UnknownFlag(String),
    #[error("unknown syscall {0:?}")]
    UnknownSyscall(String),
    #[error("seccomp filters are not supported on {0} hosts by this build")]
    UnsupportedHost(&'static str),
    #[error("invalid seccomp profile: {0}")]
    InvalidProfile(String),
    #[error("seccomp rule for {syscall:?}: argument index {index} out of range (0-5)")]
    ArgIndex { syscall: String, index: usize },
    #[error("SCMP_ACT_NOTIFY cannot be used as the default seccomp action")]
    NotifyAsDefault,
    #[error("SCMP_ACT_NOTIFY cannot be used for the {0} syscall")]
    NotifyOn(String),
    #[error("seccomp filter has {0} instructions, more than the kernel's limit of 4096")]
    TooLong(usize),
    #[error(
        "loading seccomp filter: permission denied \
         (set no_new_privs or keep CAP_SYS_ADMIN until the filter is loaded)"
    )]
    LoadPermission,
    #[error("loading seccomp filter with flags {flags:#x}: {errno}")]
    Load { flags: libc::c_ulong, errno: Errno },
    #[error(
        "failed to connect with seccomp agent specified in the seccomp profile: \
         dial unix {}: connect: {}", path.display(), io_text(source)
    )]
    AgentConnect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot send seccomp fd to {path}: {source}")]
    Agent {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Every syscall name of the x86 ABIs (x86_64, i386, x32) this build
/// knows, sorted and unique: what an allowlist profile is written against.
pub fn known_syscalls() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = [syscalls::X86_64, syscalls::I386, syscalls::X32]
        .iter()
        .flat_map(|t| t.iter().map(|(n, _)| *n))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// An I/O error as Go prints it: the errno's text in lower case, without
/// Rust's "(os error N)".
fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

/// A compiled filter and its seccomp(2) flags, ready to load.
pub struct SeccompProgram {
    filter: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    notify: bool,
}

impl std::fmt::Debug for SeccompProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeccompProgram")
            .field("instructions", &self.filter.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("notify", &self.notify)
            .finish()
    }
}

/// Translates an OCI seccomp profile into a loadable program.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    // The syscall tables and ABI dispatch cover x86 hosts only.
    if !cfg!(target_arch = "x86_64") {
        return Err(SeccompError::UnsupportedHost(std::env::consts::ARCH));
    }
    let plan = filter::plan(seccomp)?;
    let program = filter::generate(&plan);
    if program.len() > filter::MAX_INSNS {
        return Err(SeccompError::TooLong(program.len()));
    }
    let mut flags = 0;
    for flag in seccomp.flags().iter().flatten() {
        flags |= filter_flag(*flag);
    }
    if plan.uses_notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC alone cannot be combined with a listener.
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    log::debug!(
        "seccomp: {} instructions for {:?}, flags {flags:#x}",
        program.len(),
        plan.abis
    );
    Ok(SeccompProgram {
        filter: program,
        flags,
        notify: plan.uses_notify,
    })
}

pub(crate) fn filter_flag(flag: LinuxSeccompFilterFlag) -> libc::c_ulong {
    match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        }
    }
}

impl SeccompProgram {
    /// Whether the profile uses SCMP_ACT_NOTIFY, so `load` returns a listener.
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// Number of BPF instructions.
    pub fn len(&self) -> usize {
        self.filter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filter.is_empty()
    }

    /// Installs the filter on the calling thread (all threads with TSYNC).
    ///
    /// Makes exactly one syscall and allocates nothing, so it is safe as the
    /// last step before exec. The caller must have set no_new_privs or hold
    /// CAP_SYS_ADMIN. Returns the notification listener when the profile uses
    /// SCMP_ACT_NOTIFY.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        let prog = libc::sock_fprog {
            len: self.filter.len() as libc::c_ushort,
            filter: self.filter.as_ptr().cast_mut(),
        };
        // SAFETY: prog points into self.filter, which outlives the call; the
        // kernel copies the program before returning.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if ret < 0 {
            return Err(match Errno::last() {
                Errno::EACCES => SeccompError::LoadPermission,
                errno => SeccompError::Load {
                    flags: self.flags,
                    errno,
                },
            });
        }
        if !self.notify {
            return Ok(None);
        }
        // SAFETY: with NEW_LISTENER the kernel returns a fresh fd we now own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
    }
}
