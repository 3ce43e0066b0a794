//! The container process itself: rlimits, user and groups, environment,
//! finding the executable, closing leaked fds and the final execve.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};

pub fn rlimit_resource(t: PosixRlimitType) -> Resource {
    match t {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

pub fn set_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        setrlimit(rlimit_resource(l.typ()), l.soft(), l.hard()).with_context(|| {
            format!(
                "setting rlimit {:?} to soft={} hard={}",
                l.typ(),
                l.soft(),
                l.hard()
            )
        })?;
    }
    Ok(())
}

/// setgroups, setresgid, setresuid — in that order, while we still may.
pub fn set_user(p: &Process, in_userns: bool) -> Result<()> {
    let u = p.user();
    let gids: Vec<Gid> = u
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    let setgroups_denied = in_userns
        && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !setgroups_denied {
        nix::unistd::setgroups(&gids).context("setting additional groups")?;
    } else if !gids.is_empty() {
        bail!("cannot set additional gids: setgroups is denied in this user namespace");
    }
    let gid = Gid::from_raw(u.gid());
    nix::unistd::setresgid(gid, gid, gid).with_context(|| format!("setting gid to {}", u.gid()))?;
    let uid = Uid::from_raw(u.uid());
    nix::unistd::setresuid(uid, uid, uid).with_context(|| format!("setting uid to {}", u.uid()))?;
    Ok(())
}

/// The environment as given, plus HOME when it is missing (runc sets it from
/// the container's /etc/passwd, or `/`).
pub fn environment(p: &Process) -> Vec<String> {
    let mut env: Vec<String> = p.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.user().uid())));
    }
    env
}

fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
        })
        .next()
        .unwrap_or_else(|| "/".into())
}

/// Finds args[0] the way execvp would, in the container's PATH, so that
/// `create` can fail with "executable file not found" before the container starts.
/// A relative path (`./x.sh`, a relative PATH entry) is looked up from
/// `cwd`, where the process is when it execs.
pub fn find_executable(arg0: &str, env: &[String], cwd: &Path) -> Result<PathBuf> {
    if arg0.contains('/') {
        check_executable(&cwd.join(arg0), Path::new(arg0))
            .with_context(|| format!("exec: {arg0:?}"))?;
        return Ok(PathBuf::from(arg0));
    }
    let path = sysutil::path::path_of_env(env).unwrap_or(sysutil::path::DEFAULT_PATH);
    let mut denied = None;
    for cand in sysutil::path::candidates(arg0, path) {
        match check_executable(&cwd.join(&cand), &cand) {
            Ok(()) => return Ok(cand),
            Err(e) if e.to_string().contains("permission denied") => denied = Some(e),
            Err(_) => {}
        }
    }
    match denied {
        Some(e) => Err(e).with_context(|| format!("exec: {arg0:?}")),
        None => bail!("exec: {arg0:?}: executable file not found in $PATH"),
    }
}

/// Checks `p`; errors name it `shown` (as the process asked for it).
fn check_executable(p: &Path, shown: &Path) -> Result<()> {
    let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            anyhow::anyhow!("stat {}: no such file or directory", shown.display())
        }
        _ => anyhow::anyhow!("stat {}: {e}", shown.display()),
    })?;
    if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
        bail!("{}: permission denied", shown.display());
    }
    Ok(())
}

/// Marks every fd from `first` up close-on-exec, so nothing of the host leaks
/// into the container (CVE-2024-21626), whatever opened it.
pub fn cloexec_from(first: u32) -> Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes flags of fds in our own table.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Kernels before 5.11: walk /proc/self/fd.
    for e in std::fs::read_dir("/proc/self/fd").context("listing /proc/self/fd")? {
        let fd: i32 = match e.ok().and_then(|e| e.file_name().to_str()?.parse().ok()) {
            Some(fd) => fd,
            None => continue,
        };
        if fd as u32 >= first {
            // SAFETY: setting FD_CLOEXEC on an fd number is harmless even if it just closed.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Prepared argv/envp for execve, built before the last privileged steps.
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

impl Exec {
    pub fn new(path: &Path, args: &[String], env: &[String]) -> Result<Exec> {
        let c = |s: &[u8]| CString::new(s).context("argument contains a NUL byte");
        Ok(Exec {
            path: c(path.as_os_str().as_bytes())?,
            argv: args
                .iter()
                .map(|a| c(a.as_bytes()))
                .collect::<Result<_>>()?,
            envp: env.iter().map(|e| c(e.as_bytes())).collect::<Result<_>>()?,
        })
    }

    /// Resets what a new program must not inherit from runr, then execs.
    pub fn exec(&self) -> anyhow::Error {
        if let Err(e) = refuse_runtime_interpreter(&self.path) {
            return e;
        }
        reset_signals();
        match nix::unistd::execve(&self.path, &self.argv, &self.envp) {
            Err(e) => anyhow::anyhow!("exec {:?}: {}", self.path, e.desc().to_lowercase()),
            Ok(never) => match never {},
        }
    }
}

/// Default dispositions and an empty mask: Rust ignores SIGPIPE and `run`
/// blocks signals, and neither may leak into the container.
pub fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for s in Signal::iterator() {
        if s != Signal::SIGKILL && s != Signal::SIGSTOP {
            // SAFETY: installing SIG_DFL is always sound.
            let _ = unsafe { sigaction(s, &dfl) };
        }
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}

/// runr is never dumpable: its processes that enter a container (the init
/// until it execs, `exec`'s child) must not be ptrace-able nor their
/// /proc/<pid>/exe and fds openable from inside (CVE-2016-9962,
/// CVE-2019-5736). Set first thing, it is inherited through clone and fork.
/// Rootless only, around the clone of the init (launch.rs).
pub fn set_dumpable(on: bool) {
    // SAFETY: PR_SET_DUMPABLE only changes a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
}

pub fn set_non_dumpable() {
    // SAFETY: PR_SET_DUMPABLE only changes a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

static OWN_EXE: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();

/// (dev, ino) of runr's own binary. Call it on the host side (before joining
/// or building a container) so that the child finds it cached.
pub fn own_exe_id() -> Option<(u64, u64)> {
    *OWN_EXE.get_or_init(|| {
        nix::sys::stat::stat("/proc/self/exe")
            .ok()
            .map(|st| (st.st_dev, st.st_ino))
    })
}

/// CVE-2019-5736: a script `#!/proc/self/exe` (or any interpreter that
/// resolves to runr's binary, through links or nested scripts) would make
/// the kernel run the host's runr inside the container, where the container
/// can grab it through /proc/<pid>/exe and write it once it exits. Refused.
/// A script swapped between this check and the execve makes the kernel run
/// runr from the read-only copy `exe_guard` set up, which cannot be written.
fn refuse_runtime_interpreter(path: &std::ffi::CStr) -> anyhow::Result<()> {
    use std::io::Read;
    let Some(own) = own_exe_id() else {
        return Ok(());
    };
    let mut cur = PathBuf::from(std::ffi::OsStr::from_bytes(path.to_bytes()));
    // The kernel follows at most 4 levels of interpreters (BINPRM_MAX_RECURSION).
    for _ in 0..5 {
        if let Ok(st) = nix::sys::stat::stat(&cur) {
            if (st.st_dev, st.st_ino) == own {
                bail!(
                    "exec {}: the interpreter is the runtime's own binary; refusing (CVE-2019-5736)",
                    path.to_string_lossy()
                );
            }
        }
        let mut buf = [0u8; 256];
        let n = match std::fs::File::open(&cur).and_then(|mut f| f.read(&mut buf)) {
            Ok(n) => n,
            Err(_) => return Ok(()),
        };
        let Some(line) = buf[..n].strip_prefix(b"#!") else {
            return Ok(());
        };
        let line = line.split(|&c| c == b'\n').next().unwrap_or_default();
        let interp: Vec<u8> = line
            .iter()
            .copied()
            .skip_while(|c| *c == b' ' || *c == b'\t')
            .take_while(|c| *c != b' ' && *c != b'\t' && *c != 0)
            .collect();
        if interp.is_empty() {
            return Ok(());
        }
        cur = PathBuf::from(std::ffi::OsStr::from_bytes(&interp));
    }
    Ok(())
}

/// chdir to the process's cwd. With `may_retry` (still privileged), a
/// permission error is not one yet: Ok(false) says to try again as the user.
pub fn enter_cwd(cwd: &Path, may_retry: bool) -> Result<bool> {
    match nix::unistd::chdir(cwd) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM) if may_retry => Ok(false),
        Err(e) => Err(e).with_context(|| format!("chdir to cwd {}", cwd.display())),
    }
}

/// CVE-2024-21626: a cwd such as /proc/self/fd/N reaches a directory runr
/// still holds open, outside the container's root. The kernel then reports
/// the cwd as unreachable from the root: refuse it.
pub fn check_cwd_inside_root(cwd: &Path) -> anyhow::Result<()> {
    let mut buf = [0u8; 4096];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let r = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if r <= 0 || buf[0] != b'/' {
        bail!(
            "cwd {} is outside of the container's root; refusing (CVE-2024-21626)",
            cwd.display()
        );
    }
    Ok(())
}
