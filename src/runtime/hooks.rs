//! OCI hooks: each runs with its args, env and timeout and gets the container
//! state JSON on stdin. Output is kept for the error message, as runc does.

use std::io::{Read, Write};
use std::os::fd::AsFd;
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
    let timeout = match h.timeout() {
        Some(t) if t <= 0 => bail!("hook timeout must be greater than zero, got {t}"),
        Some(t) => Some(Duration::from_secs(t as u64)),
        None => None,
    };
    let input = serde_json::to_vec(state)?;
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", h.path().display()))?;
    let mut io = HookIo::new(&mut child, input)?;
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            io.drain();
            break st;
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {}s", timeout.unwrap_or_default().as_secs());
        }
        io.pump(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let (out, err) = (io.text(0), io.text(1));
    // runc's words (Go's exec error: "exit status 3", "signal: killed").
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) if status.core_dumped() => format!("signal: {} (core dumped)", signal_text(s)),
        (_, Some(s)) => format!("signal: {}", signal_text(s)),
        _ => "failed".into(),
    };
    bail!(
        "error running hook: {how}, stdout: {}, stderr: {}",
        out.trim(),
        err.trim()
    )
}

/// "bad system call" for SIGSYS: the C library's description, lower case.
fn signal_text(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a NUL-terminated string (or
    // NULL) valid until the next call; it is copied at once.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: p is non-null and NUL-terminated (see above).
    let text = unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned();
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => text,
    }
}

/// What a hook may print and still be quoted whole in an error.
const KEPT_OUTPUT: usize = 64 * 1024;

/// The hook's pipes, served together without threads (the init runs hooks
/// too): the state goes to stdin as far as the hook reads it, stdout and
/// stderr are read as they come (a hook writing more than a pipe holds must
/// not block), the first `KEPT_OUTPUT` bytes of each kept.
struct HookIo {
    stdin: Option<std::process::ChildStdin>,
    input: Vec<u8>,
    written: usize,
    outputs: [Option<Box<dyn ReadFd>>; 2],
    kept: [Vec<u8>; 2],
}

trait ReadFd: Read + AsFd {}
impl<T: Read + AsFd> ReadFd for T {}

fn set_nonblocking(fd: std::os::fd::BorrowedFd) -> Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let flags = OFlag::from_bits_retain(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

impl HookIo {
    fn new(child: &mut std::process::Child, input: Vec<u8>) -> Result<HookIo> {
        let stdin = child.stdin.take();
        let out: Option<Box<dyn ReadFd>> = child.stdout.take().map(|o| Box::new(o) as _);
        let err: Option<Box<dyn ReadFd>> = child.stderr.take().map(|e| Box::new(e) as _);
        for fd in stdin
            .iter()
            .map(|f| f.as_fd())
            .chain([&out, &err].into_iter().flatten().map(|f| f.as_fd()))
        {
            set_nonblocking(fd).context("hook pipes")?;
        }
        let mut io = HookIo {
            stdin,
            input,
            written: 0,
            outputs: [out, err],
            kept: [Vec::new(), Vec::new()],
        };
        io.feed();
        Ok(io)
    }

    /// Writes what the pipe takes; a hook that does not read its stdin is
    /// fine (EPIPE ends the input).
    fn feed(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        while self.written < self.input.len() {
            match stdin.write(&self.input[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        self.stdin = None;
    }

    /// Waits up to `wait` for any pipe to be ready, then serves them all.
    fn pump(&mut self, wait: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        {
            let mut fds: Vec<PollFd> = self
                .outputs
                .iter()
                .flatten()
                .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN))
                .collect();
            if let Some(s) = &self.stdin {
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLOUT));
            }
            let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
            let _ = poll(&mut fds, PollTimeout::from(ms));
        }
        self.feed();
        self.read_available();
    }

    /// After the hook exited: what it left in the pipes (not waiting for a
    /// child of the hook that may still hold them).
    fn drain(&mut self) {
        self.stdin = None;
        self.read_available();
    }

    fn read_available(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        for i in 0..2 {
            let Some(f) = self.outputs[i].as_mut() else {
                continue;
            };
            loop {
                match f.read(&mut buf) {
                    Ok(0) => {
                        self.outputs[i] = None;
                        break;
                    }
                    Ok(n) => {
                        let room = KEPT_OUTPUT.saturating_sub(self.kept[i].len());
                        self.kept[i].extend_from_slice(&buf[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }

    fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(&self.kept[i]).into_owned()
    }
}
