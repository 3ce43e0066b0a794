//! The per-container monitor, the same loop for a foreground `run` and for
//! the detached `container-monitor`: it starts the container with
//! `RUNTIME run -d` as its subreaper (so the container's init becomes our
//! child once the runtime exits), receives the pty master over
//! `--console-socket` with `-t`, copies the output into the json-file log,
//! to the terminal (foreground) and to `attach` clients, feeds stdin from
//! the terminal or from clients, forwards signals and window size, and
//! returns the init's exit status.
//!
//! `attach` speaks a small protocol on `<dir>/attach.sock`: the client sends
//! one byte, `i` (it will send stdin) or `o` (output only), then raw input;
//! the monitor sends docker's stdcopy frames (stream byte 1 stdout, 2
//! stderr, 0 0 0, u32 big-endian length, data), and a last frame of
//! stream [`EXIT_FRAME`] carrying the exit code in ASCII.
use super::jsonlog;
use super::record::Record;
use super::runtime;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The frame stream that carries the exit code at the end of an attach.
pub const EXIT_FRAME: u8 = 3;

/// Who the monitor works for.
pub struct Wiring {
    /// A foreground `run`: output also to our stdout/stderr, terminal in raw mode.
    pub foreground: bool,
    /// Forward stdin (`-i`; with `-t` also in the foreground).
    pub stdin: bool,
    pub tty: bool,
    /// Tell whether the kernel's OOM killer hit the container (it has a
    /// memory limit): the runtime then runs detached, so that its cgroup
    /// outlives the init and its OOM count can be read.
    pub oom_watch: bool,
}

/// The signals a monitor forwards to the container (SIGWINCH resizes the
/// pty, SIGCHLD wakes the loop).
fn handled_signals() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
    ] {
        s.add(sig);
    }
    s
}

/// A path to `name` in `dir` short enough for a unix socket (108 bytes),
/// through our open fd on the directory; valid for other processes too.
pub fn socket_path(dir: &File, name: &str) -> PathBuf {
    PathBuf::from(format!(
        "/proc/{}/fd/{}/{name}",
        std::process::id(),
        dir.as_raw_fd()
    ))
}

pub fn open_dir(dir: &Path) -> Result<File> {
    File::open(dir).with_context(|| format!("opening {}", dir.display()))
}

/// Binds the attach socket (before the container starts, so that `run -d`
/// followed by `attach` never misses it).
pub fn bind_attach(dir: &Path) -> Result<UnixListener> {
    let d = open_dir(dir)?;
    let p = socket_path(&d, "attach.sock");
    let _ = std::fs::remove_file(&p);
    UnixListener::bind(&p).with_context(|| format!("binding {}", dir.join("attach.sock").display()))
}

/// Connects to a container's attach socket.
pub fn connect_attach(dir: &Path) -> Result<UnixStream> {
    let d = open_dir(dir)?;
    UnixStream::connect(socket_path(&d, "attach.sock"))
        .with_context(|| format!("connecting to {}", dir.join("attach.sock").display()))
}

/// One stdcopy frame.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// The json-file log, a line per entry; partial lines wait for their end.
struct Log {
    file: File,
    partial: [Vec<u8>; 2],
}

const STREAMS: [&str; 2] = ["stdout", "stderr"];

impl Log {
    fn write(&mut self, s: usize, data: &[u8]) {
        self.partial[s].extend_from_slice(data);
        while let Some(i) = self.partial[s].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial[s].drain(..=i).collect();
            let _ = self
                .file
                .write_all(jsonlog::entry(STREAMS[s], &String::from_utf8_lossy(&line)).as_bytes());
        }
    }

    fn flush(&mut self) {
        for (partial, stream) in self.partial.iter_mut().zip(STREAMS) {
            if !partial.is_empty() {
                let line = std::mem::take(partial);
                let _ = self
                    .file
                    .write_all(jsonlog::entry(stream, &String::from_utf8_lossy(&line)).as_bytes());
            }
        }
    }
}

struct Client {
    conn: UnixStream,
    /// None until the mode byte came; Some(true) for a client sending stdin.
    interactive: Option<bool>,
    /// Sends window sizes (mode byte `r`), not input; gets no output.
    resizer: bool,
    reading: bool,
    /// Gone (a failed write or read): dropped after the poll round, so the
    /// indices of that round stay valid.
    dead: bool,
}

/// What the loop hands back: the exit status and the clients still attached
/// (told the exit code once the record says it).
pub struct Outcome {
    pub code: i32,
    pub clients: Vec<UnixStream>,
    /// The OOM killer killed a process of the container.
    pub oom_killed: bool,
}

/// The file counting the OOM kills of `pid`'s memory cgroup: `memory.events`
/// on cgroup v2, `memory.oom_control` on v1 (both have an `oom_kill N` line).
fn oom_counter(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for l in text.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        if ctrl.split(',').any(|c| c == "memory") {
            return Some(PathBuf::from(format!(
                "/sys/fs/cgroup/memory{path}/memory.oom_control"
            )));
        }
    }
    let v2 = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(PathBuf::from(format!("/sys/fs/cgroup{v2}/memory.events")))
}

fn oom_kills(counter: &Path) -> u64 {
    std::fs::read_to_string(counter)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends the exit frame to the clients and closes them.
pub fn send_exit(clients: Vec<UnixStream>, code: i32) {
    for c in clients {
        send_all(&c, &frame(EXIT_FRAME, code.to_string().as_bytes()));
    }
}

/// Writes to an attach client without SIGPIPE: a client that detached or
/// died must not kill the monitor (rdock keeps SIGPIPE's default action).
fn send_all(conn: &UnixStream, mut data: &[u8]) -> bool {
    use nix::sys::socket::{send, MsgFlags};
    while !data.is_empty() {
        match send(conn.as_raw_fd(), data, MsgFlags::MSG_NOSIGNAL) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating a pipe")
}

fn write_all_fd(fd: BorrowedFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => {
                let mut p = [PollFd::new(fd, PollFlags::POLLOUT)];
                let _ = poll(&mut p, PollTimeout::from(1000u16));
            }
            Err(_) => return false,
        }
    }
    true
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl flag change on an fd we hold open.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read and write one winsize struct on our stack.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Applies a window size sent by an attach client: rows and cols, u16 BE.
fn set_winsize(master: RawFd, ws: &[u8]) {
    // SAFETY: TIOCSWINSZ reads one winsize struct from our stack.
    unsafe {
        let mut w: libc::winsize = std::mem::zeroed();
        w.ws_row = u16::from_be_bytes([ws[0], ws[1]]);
        w.ws_col = u16::from_be_bytes([ws[2], ws[3]]);
        libc::ioctl(master, libc::TIOCSWINSZ, &w);
    }
}

/// Writes our terminal's size as the bundle's `process.consoleSize`.
pub fn set_console_size(config: &Path) {
    // SAFETY: TIOCGWINSZ writes one winsize struct on our stack.
    let ws = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) != 0 || ws.ws_row == 0 {
            return;
        }
        ws
    };
    let Ok(data) = std::fs::read(config) else {
        return;
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&data) else {
        return;
    };
    v["process"]["consoleSize"] = serde_json::json!({"height": ws.ws_row, "width": ws.ws_col});
    if let Ok(out) = serde_json::to_vec_pretty(&v) {
        if let Err(e) = sysutil::fs::write_atomic(config, &out, sysutil::fs::Atomic::mode(0o600)) {
            log::warn!("{e:#}");
        }
    }
}

/// Puts the host terminal in raw mode while alive; restores it on drop
/// (errors, panics and returns alike; signals are forwarded, not fatal).
pub struct RawMode(Option<nix::sys::termios::Termios>);

impl Default for RawMode {
    fn default() -> Self {
        Self::new()
    }
}

impl RawMode {
    pub fn new() -> RawMode {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode(saved)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin().as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

/// Starts the container (its rootfs mounted, the record Running) and
/// watches it until it exits. `listener`: the attach socket, if served.
/// `first`: a client accepted before the start (`start -a`).
pub fn watch(
    root: &Path,
    r: &Record,
    wiring: &Wiring,
    listener: Option<UnixListener>,
    first: Option<UnixStream>,
) -> Result<Outcome> {
    let dir = &super::record::dir_of(root, &r.id);
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let log_path = dir.join(format!("{}-json.log", r.id));
    let mut log = Log {
        file: OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?,
        partial: [Vec::new(), Vec::new()],
    };
    let dirf = open_dir(dir)?;
    let pid_file = dir.join("init.pid");
    let bundle = dir.join("bundle").display().to_string();
    let pid_arg = pid_file.display().to_string();
    // With a terminal, `run -d` (runc accepts --console-socket only when
    // detaching) and the init becomes our child; without, a foreground
    // `run` (one runtime process: it waits, forwards signals, deletes).
    let detach = wiring.tty || wiring.oom_watch;
    let mut args = vec!["run", "--bundle", &bundle];
    if detach {
        args.extend(["-d", "--pid-file", &pid_arg]);
    }
    let console_path = socket_path(&dirf, "console.sock");
    let console_arg = console_path.display().to_string();
    if wiring.tty && wiring.foreground {
        // The size from the start: the container may ask before any SIGWINCH.
        set_console_size(&dir.join("bundle/config.json"));
    }
    let console = if wiring.tty {
        let _ = std::fs::remove_file(&console_path);
        let l = UnixListener::bind(&console_path)
            .with_context(|| format!("binding the console socket in {}", dir.display()))?;
        args.extend(["--console-socket", &console_arg]);
        Some(l)
    } else {
        None
    };
    args.push(&r.id);
    let mut cmd = runtime::command(&r.runtime, &r.runtime_root, &args);
    // Sources of output: [stdout, stderr]; the runtime's own errors come on stderr.
    let (err_r, err_w) = pipe()?;
    cmd.stderr(Stdio::from(err_w));
    let mut out_r = None;
    let mut stdin_w: Option<OwnedFd> = None;
    if wiring.tty {
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
    } else {
        let (o_r, o_w) = pipe()?;
        cmd.stdout(Stdio::from(o_w));
        out_r = Some(o_r);
        if wiring.stdin && wiring.foreground {
            cmd.stdin(Stdio::inherit());
        } else if wiring.stdin {
            let (i_r, i_w) = pipe()?;
            cmd.stdin(Stdio::from(i_r));
            stdin_w = Some(i_w);
        } else {
            cmd.stdin(Stdio::null());
        }
    }
    let mut child = cmd.spawn().context("starting the runtime")?;
    // Blocked only now: a blocked mask would reach the container through
    // runtimes that do not reset it (runc), and the loop reaps before it polls.
    let mask = handled_signals();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .context("creating signalfd")?;
    drop(cmd); // closes our copies of the container's pipe ends
    let status = if detach {
        child.wait().context("waiting for the runtime")?
    } else {
        // Exits with the container; the loop below waits for it.
        std::os::unix::process::ExitStatusExt::from_raw(0)
    };
    let _ = std::fs::remove_file(&console_path);
    let mut sources: [Option<OwnedFd>; 2] = [None, Some(err_r)];
    let mut master: Option<OwnedFd> = None;
    if wiring.tty {
        if let (true, Some(l)) = (status.success(), &console) {
            l.set_nonblocking(true)?;
            let (conn, _) = l
                .accept()
                .context("accepting the runtime's console connection")?;
            let m = ::runtime::foreground::recv_master(&conn)?;
            sources[0] = Some(m.try_clone()?);
            master = Some(m);
        }
    } else {
        sources[0] = out_r;
    }
    let fg_out = wiring.foreground;
    let emit = |s: usize, data: &[u8], log: &mut Log, clients: &mut Vec<Client>| {
        log.write(s, data);
        if fg_out {
            let fd = if s == 0 { 1 } else { 2 };
            // SAFETY: our own stdout/stderr stay open for the process's life.
            write_all_fd(unsafe { BorrowedFd::borrow_raw(fd) }, data);
        }
        let f = frame(s as u8 + 1, data);
        for c in clients.iter_mut().filter(|c| !c.dead && !c.resizer) {
            c.dead = !send_all(&c.conn, &f);
        }
    };
    let mut clients: Vec<Client> = first
        .into_iter()
        .map(|conn| Client {
            conn,
            interactive: None,
            resizer: false,
            reading: true,
            dead: false,
        })
        .collect();
    let mut buf = vec![0u8; 32 * 1024];
    if !status.success() {
        // Show what the runtime said, then give up.
        if let Some(e) = &sources[1] {
            set_nonblocking(e.as_raw_fd());
            while let Ok(n) = nix::unistd::read(e.as_raw_fd(), &mut buf) {
                if n == 0 {
                    break;
                }
                emit(1, &buf[..n], &mut log, &mut clients);
            }
        }
        log.flush();
        bail!("the runtime failed to start the container ({status})");
    }
    // The process whose exit is the container's: the init (tty) or the runtime.
    let pid: i32 = if detach {
        std::fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?
            .trim()
            .parse()
            .context("parsing the init's pid")?
    } else {
        child.id() as i32
    };
    let oom = wiring.oom_watch.then(|| oom_counter(pid)).flatten();
    let raw = match (&master, wiring.foreground) {
        (Some(m), true) => {
            copy_winsize(0, m.as_raw_fd());
            // SAFETY: isatty on fd 0 only queries it.
            (unsafe { libc::isatty(0) } == 1).then(RawMode::new)
        }
        _ => None,
    };
    let mut fg_stdin = wiring.foreground && wiring.tty && wiring.stdin;
    let code = loop {
        if let Some(code) = reap(pid)? {
            for (s, src) in sources.iter().enumerate() {
                if let Some(fd) = src {
                    set_nonblocking(fd.as_raw_fd());
                    while let Ok(n) = nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                        if n == 0 {
                            break;
                        }
                        emit(s, &buf[..n], &mut log, &mut clients);
                    }
                }
            }
            break code;
        }
        // Poll set: signalfd, the two sources, our stdin, the listener, the clients.
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN)];
        let mut kinds = vec![Kind::Signal];
        for (s, src) in sources.iter().enumerate() {
            if let Some(fd) = src {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                kinds.push(Kind::Source(s));
            }
        }
        if fg_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            kinds.push(Kind::Stdin);
        }
        if let Some(l) = &listener {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            kinds.push(Kind::Listener);
        }
        for (i, c) in clients.iter().enumerate() {
            if c.reading {
                fds.push(PollFd::new(c.conn.as_fd(), PollFlags::POLLIN));
                kinds.push(Kind::Client(i));
            }
        }
        // A timeout too, in case the init is not our child (no SIGCHLD then).
        match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        let ready: Vec<Kind> = fds
            .iter()
            .zip(kinds)
            .filter(|(f, _)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, k)| k)
            .collect();
        drop(fds);
        for k in ready {
            match k {
                Kind::Signal => {
                    while let Ok(Some(si)) = sigfd.read_signal() {
                        let sig = si.ssi_signo as i32;
                        if sig == libc::SIGCHLD {
                            continue;
                        }
                        if sig == libc::SIGWINCH {
                            if let (Some(m), true) = (&master, wiring.foreground) {
                                copy_winsize(0, m.as_raw_fd());
                            }
                            continue;
                        }
                        if let Ok(s) = Signal::try_from(sig) {
                            let _ = kill(Pid::from_raw(pid), s);
                        }
                    }
                }
                Kind::Source(s) => {
                    let fd = sources[s].as_ref().expect("polled").as_raw_fd();
                    match nix::unistd::read(fd, &mut buf) {
                        Ok(n) if n > 0 => emit(s, &buf[..n], &mut log, &mut clients),
                        Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                        // EOF, or EIO once the pty's last slave closed.
                        _ => sources[s] = None,
                    }
                }
                Kind::Stdin => match nix::unistd::read(0, &mut buf) {
                    Ok(n) if n > 0 => {
                        if let Some(m) = &master {
                            write_all_fd(m.as_fd(), &buf[..n]);
                        }
                    }
                    Err(nix::errno::Errno::EINTR) => {}
                    _ => fg_stdin = false,
                },
                Kind::Listener => {
                    if let Some(Ok((conn, _))) = listener.as_ref().map(|l| l.accept()) {
                        clients.push(Client {
                            conn,
                            interactive: None,
                            resizer: false,
                            reading: true,
                            dead: false,
                        });
                    }
                }
                Kind::Client(i) if clients[i].dead => {}
                Kind::Client(i) => {
                    let c = &mut clients[i];
                    match c.conn.read(&mut buf) {
                        Ok(n) if n > 0 => {
                            let mut data = &buf[..n];
                            if c.interactive.is_none() {
                                if data[0] == b'r' {
                                    // A resize channel: no output for it.
                                    c.resizer = true;
                                }
                                c.interactive = Some(data[0] == b'i');
                                data = &data[1..];
                            }
                            if c.resizer {
                                // Window sizes, 4 bytes each (rows, cols): the last one counts.
                                if let (Some(m), Some(ws)) = (&master, data.rchunks_exact(4).next())
                                {
                                    set_winsize(m.as_raw_fd(), ws);
                                }
                            } else if c.interactive == Some(true) && !data.is_empty() {
                                if let Some(m) = &master {
                                    write_all_fd(m.as_fd(), data);
                                } else if let Some(w) = &stdin_w {
                                    write_all_fd(w.as_fd(), data);
                                }
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Ok(_) => {
                            // The client's stdin ended: so does the container's (no tty).
                            if c.interactive == Some(true) {
                                stdin_w = None;
                            }
                            c.reading = false;
                        }
                        Err(_) => c.dead = true,
                    }
                }
            }
        }
        clients.retain(|c| !c.dead);
    };
    log.flush();
    drop(raw);
    Ok(Outcome {
        code,
        clients: clients.into_iter().map(|c| c.conn).collect(),
        oom_killed: oom.is_some_and(|c| oom_kills(&c) > 0),
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Signal,
    Source(usize),
    Stdin,
    Listener,
    Client(usize),
}

/// Reaps children; Some(status) once `pid` (the container's init) is gone.
fn reap(pid: i32) -> Result<Option<i32>> {
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return Ok(Some(128 + sig as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            // Not our child after all (no subreaper in effect): poll its existence.
            Err(nix::errno::Errno::ECHILD) => {
                return Ok(kill(Pid::from_raw(pid), None).is_err().then_some(255))
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container's init"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_follow_docker_stdcopy() {
        let f = super::frame(2, b"hi");
        assert_eq!(f, vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}
