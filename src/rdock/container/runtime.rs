//! The OCI runtime binary rdock drives through its CLI (runr by default;
//! runc and crun accept the same verbs).
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `--runtime`: a name looked up in PATH or a path; by default runr next to
/// the rdock binary, else runr in PATH.
pub fn locate(choice: Option<&str>) -> Result<PathBuf> {
    if let Some(c) = choice {
        if c.contains('/') {
            let p = PathBuf::from(c);
            return p
                .canonicalize()
                .with_context(|| format!("runtime {c} not found"));
        }
        return in_path(c).with_context(|| format!("runtime {c} not found in PATH"));
    }
    if let Ok(exe) = std::env::current_exe() {
        let sibling = exe.with_file_name("runr");
        if sibling.is_file() {
            return Ok(sibling);
        }
    }
    in_path("runr").context("runtime runr not found next to rdock nor in PATH")
}

fn in_path(name: &str) -> Result<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let also = sysutil::path::candidates(name, "/usr/sbin:/sbin");
    let found = sysutil::path::candidates(name, &path)
        .chain(also)
        .find(|p| p.is_file());
    match found {
        Some(p) => Ok(p),
        None => bail!("{name} not found"),
    }
}

/// The runtime's state root for this runtime under rdock's root.
pub fn state_root(root: &Path, runtime: &Path) -> PathBuf {
    let name = runtime
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "runtime".into());
    root.join("runtime").join(name)
}

/// `RUNTIME --root R ARGS...`
pub fn command(runtime: &Path, state_root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(runtime);
    c.arg("--root").arg(state_root).args(args);
    c
}

/// Runs a short runtime verb, quietly; Ok when it succeeded.
pub fn quiet(runtime: &Path, state_root: &Path, args: &[&str]) -> Result<()> {
    let out = command(runtime, state_root, args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", runtime.display()))?;
    if !out.status.success() {
        bail!(
            "{} {}: {}",
            runtime.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The init's host pid from `runtime state`, if it runs.
pub fn pid(runtime: &Path, state_root: &Path, id: &str) -> Option<i32> {
    let out = command(runtime, state_root, &["state", id])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["pid"].as_i64().map(|p| p as i32).filter(|p| *p > 0)
}

/// Whether the runtime reports the container as `running`: past `created`,
/// so that its seccomp filter is loaded and the command exec'd (a kill
/// before that makes `RUNTIME run` fail rather than report the signal).
pub fn is_running(runtime: &Path, state_root: &Path, id: &str) -> bool {
    command(runtime, state_root, &["state", id])
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .is_some_and(|v| v["status"] == "running")
}
