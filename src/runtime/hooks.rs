//! OCI hooks: each runs with its args, env and timeout and gets the container
//! state JSON on stdin. Output is kept for the error message, as runc does.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Hook;

pub fn run_all(kind: &str, hooks: &[Hook], state: &serde_json::Value) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state)
            .with_context(|| format!("error running {kind} hook #{i} ({})", h.path().display()))?;
    }
    Ok(())
}

/// poststart and poststop: failures are warnings and the rest still run.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &serde_json::Value) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state) {
            log::warn!(
                "error running {kind} hook #{i} ({}): {e:#}",
                h.path().display()
            );
        }
    }
}

fn run_one(h: &Hook, state: &serde_json::Value) -> Result<()> {
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear()
        .envs(h.env().iter().flatten().filter_map(|e| e.split_once('=')))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", h.path().display()))?;
    let input = serde_json::to_vec(state)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE is ignored).
        let _ = stdin.write_all(&input);
    }
    let timeout = match h.timeout() {
        Some(t) if t <= 0 => bail!("hook timeout must be greater than zero, got {t}"),
        Some(t) => Some(Duration::from_secs(t as u64)),
        None => None,
    };
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {}s", timeout.unwrap_or_default().as_secs());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    };
    bail!("{how}, stdout: {}, stderr: {}", out.trim(), err.trim())
}
