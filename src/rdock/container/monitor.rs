//! The per-container monitor, the same loop for a foreground `run` and for
//! the detached `container-monitor`: it starts the container with the
//! runtime as its subreaper (so the container's init becomes our child once
//! a detached runtime exits), receives the pty master over
//! `--console-socket` with `-t`, copies the output into the json-file log,
//! to the terminal (foreground) and to `attach` clients
//! ([`super::attach_socket`]), feeds stdin from the terminal or from
//! clients, forwards signals and window size, and returns the init's exit
//! status.
use super::attach_socket::{self as sock, Mode};
use super::jsonlog;
use super::record::{self, Record};
use super::runtime;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use sysutil::child::{reap, Reaped};
use sysutil::tty;

pub use super::attach_socket::{
    bind_attach, connect_attach, frame, open_dir, send_exit, socket_path, EXIT_FRAME,
};
pub use sysutil::tty::RawMode;

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

impl Wiring {
    /// `RUNTIME run -d`, the init becoming our child: with a terminal
    /// (runc accepts --console-socket only when detaching) and to read
    /// the OOM count; else a foreground `RUNTIME run` (one runtime process:
    /// it waits, forwards signals, deletes).
    fn detach(&self) -> bool {
        self.tty || self.oom_watch
    }
}

/// What the loop hands back: the exit status and the clients still attached
/// (told the exit code once the record says it).
pub struct Outcome {
    pub code: i32,
    pub clients: Vec<UnixStream>,
    /// The OOM killer killed a process of the container.
    pub oom_killed: bool,
}

/// Starts the container (its rootfs mounted, the record Running) and
/// watches it until it exits. `listener`: the attach socket, if served.
/// `first`: a client accepted before the start (`start -a`).
pub fn watch(
    root: &Path,
    r: &Record,
    wiring: &Wiring,
    listener: Option<&UnixListener>,
    first: Option<UnixStream>,
) -> Result<Outcome> {
    let dir = record::dir_of(root, &r.id);
    sysutil::child::become_subreaper()?;
    let rotation = match r.log_config.is_none() {
        true => None,
        false => Some(r.log_config.rotation()?),
    };
    let log = jsonlog::Writer::open(&r.log_path(root), rotation)?;
    let mut out = Output::new(log, wiring.foreground, first);
    let mut launch = Launch::spawn(&dir, r, wiring)?;
    let sigfd = block_forwarded_signals()?;
    let status = launch.wait_runtime()?;
    if !status.success() {
        // Show what the runtime said, then give up.
        out.drain(1, &launch.err_r);
        out.log.flush();
        bail!("the runtime failed to start the container ({status})");
    }
    let started = launch.started()?;
    let health = super::health::Checker::start(root, r, started.pid);
    let oom = wiring.oom_watch.then(|| oom_counter(started.pid)).flatten();
    let raw = match (&started.master, wiring.foreground) {
        (Some(m), true) => {
            tty::copy_winsize(0, m.as_raw_fd());
            // SAFETY: isatty on fd 0 only queries it.
            (unsafe { libc::isatty(0) } == 1).then(RawMode::new)
        }
        _ => None,
    };
    let mut session = Session {
        pid: started.pid,
        foreground: wiring.foreground,
        fg_stdin: wiring.foreground && wiring.tty && wiring.stdin,
        sources: started.sources,
        master: started.master,
        stdin_w: started.stdin_w,
        listener,
        out,
        buf: vec![0u8; 32 * 1024],
    };
    let code = session.run(&sigfd)?;
    drop(health);
    session.out.log.flush();
    drop(raw);
    Ok(Outcome {
        code,
        clients: session.out.clients.into_iter().map(|c| c.conn).collect(),
        oom_killed: oom.is_some_and(|c| oom_kills(&c) > 0),
    })
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

/// Blocks the handled signals and returns a signalfd for them. Called only
/// once the runtime is spawned: a blocked mask would reach the container
/// through runtimes that do not reset it (runc); the loop reaps before it
/// polls, so a SIGCHLD before this is not missed.
fn block_forwarded_signals() -> Result<SignalFd> {
    let mask = handled_signals();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .context("creating signalfd")
}

/// The runtime started for one run of the container, and our ends of the
/// container's stdio.
struct Launch {
    child: Child,
    detach: bool,
    tty: bool,
    pid_file: PathBuf,
    /// The `--console-socket` listener (with `-t`).
    console: Option<Console>,
    /// The runtime's (and, without a tty, the container's) stderr.
    err_r: OwnedFd,
    out_r: Option<OwnedFd>,
    stdin_w: Option<OwnedFd>,
}

/// A run under way: the process whose exit is the container's (the init
/// when detached, else the runtime) and the container's stdio.
struct Started {
    pid: i32,
    /// [stdout, stderr]: a pipe each, or the pty master and the runtime's stderr.
    sources: [Option<OwnedFd>; 2],
    master: Option<OwnedFd>,
    stdin_w: Option<OwnedFd>,
}

impl Launch {
    /// `RUNTIME run [-d --pid-file F] [--console-socket S] --bundle B ID`
    /// with the container's stdio on pipes (or a pty with `-t`).
    fn spawn(dir: &Path, r: &Record, wiring: &Wiring) -> Result<Launch> {
        let pid_file = dir.join("init.pid");
        let bundle = dir.join("bundle").display().to_string();
        let pid_arg = pid_file.display().to_string();
        let detach = wiring.detach();
        let mut args = vec!["run", "--bundle", &bundle];
        if detach {
            args.extend(["-d", "--pid-file", &pid_arg]);
        }
        if wiring.tty && wiring.foreground {
            // The size from the start: the container may ask before any SIGWINCH.
            set_console_size(&dir.join("bundle/config.json"));
        }
        let console = if wiring.tty {
            Some(bind_console(dir)?)
        } else {
            None
        };
        let console_arg = console.as_ref().map(|c| c.path.display().to_string());
        if let Some(c) = &console_arg {
            args.extend(["--console-socket", c]);
        }
        args.push(&r.id);
        let mut cmd = runtime::command(&r.runtime, &r.runtime_root, &args);
        let (err_r, err_w) = pipe()?;
        cmd.stderr(Stdio::from(err_w));
        let (mut out_r, mut stdin_w) = (None, None);
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
        // The runtime (and a container of a runtime that does not reset
        // the mask, runc) must not inherit the signals blocked by an earlier
        // run of this monitor (a restart).
        let mask = handled_signals();
        // SAFETY: sigprocmask is async-signal-safe; the set is built before the fork.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().context("starting the runtime")?;
        // `cmd` goes here, closing our copies of the container's pipe ends.
        Ok(Launch {
            child,
            detach,
            tty: wiring.tty,
            pid_file,
            console,
            err_r,
            out_r,
            stdin_w,
        })
    }

    /// A detached runtime's exit status (it has started the container or
    /// failed); success at once for a foreground one, which exits with the
    /// container.
    fn wait_runtime(&mut self) -> Result<ExitStatus> {
        let status = if self.detach {
            self.child.wait().context("waiting for the runtime")?
        } else {
            std::os::unix::process::ExitStatusExt::from_raw(0)
        };
        if let Some(c) = &self.console {
            let _ = std::fs::remove_file(&c.path);
        }
        Ok(status)
    }

    /// The run once the runtime reported success: the pty master received,
    /// the pid to wait for read.
    fn started(self) -> Result<Started> {
        let mut sources: [Option<OwnedFd>; 2] = [self.out_r, Some(self.err_r)];
        let mut master = None;
        if let Some(c) = &self.console {
            c.listener.set_nonblocking(true)?;
            let (conn, _) = c
                .listener
                .accept()
                .context("accepting the runtime's console connection")?;
            let m = ::runtime::foreground::recv_master(&conn)?;
            sources[0] = Some(m.try_clone()?);
            master = Some(m);
        }
        debug_assert!(self.tty == master.is_some());
        let pid = if self.detach {
            read_pid(&self.pid_file)?
        } else {
            self.child.id() as i32
        };
        Ok(Started {
            pid,
            sources,
            master,
            stdin_w: self.stdin_w,
        })
    }
}

/// The `--console-socket` listener, its path (through `/proc/self/fd`), and
/// the open directory that keeps that path valid.
struct Console {
    listener: UnixListener,
    path: PathBuf,
    _dir: std::fs::File,
}

fn bind_console(dir: &Path) -> Result<Console> {
    let dirf = open_dir(dir)?;
    let path = socket_path(&dirf, "console.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("binding the console socket in {}", dir.display()))?;
    Ok(Console {
        listener,
        path,
        _dir: dirf,
    })
}

fn read_pid(pid_file: &Path) -> Result<i32> {
    std::fs::read_to_string(pid_file)
        .with_context(|| format!("reading {}", pid_file.display()))?
        .trim()
        .parse()
        .with_context(|| format!("parsing the init's pid in {}", pid_file.display()))
}

/// An `attach` client of the monitor.
struct Client {
    conn: UnixStream,
    mode: Mode,
    /// Still sending (its input has not ended).
    reading: bool,
    /// Gone (a failed write or read): dropped after the poll round, so the
    /// indices of that round stay valid.
    dead: bool,
}

impl Client {
    fn new(conn: UnixStream) -> Client {
        Client {
            conn,
            mode: Mode::Unknown,
            reading: true,
            dead: false,
        }
    }
}

/// Where the container's output goes: the log, our terminal in the
/// foreground, the attach clients.
struct Output {
    log: jsonlog::Writer,
    foreground: bool,
    clients: Vec<Client>,
}

impl Output {
    fn new(log: jsonlog::Writer, foreground: bool, first: Option<UnixStream>) -> Output {
        Output {
            log,
            foreground,
            clients: first.into_iter().map(Client::new).collect(),
        }
    }

    /// Output of stream `s` (0 stdout, 1 stderr).
    fn emit(&mut self, s: usize, data: &[u8]) {
        self.log.write(s, data);
        if self.foreground {
            let fd = if s == 0 { 1 } else { 2 };
            // SAFETY: our own stdout/stderr stay open for the process's life.
            write_all_fd(unsafe { BorrowedFd::borrow_raw(fd) }, data);
        }
        let f = frame(s as u8 + 1, data);
        for c in self.clients.iter_mut() {
            if !c.dead && c.mode != Mode::Resizer {
                c.dead = !sock::send_all(&c.conn, &f);
            }
        }
    }

    /// Everything still readable from `fd` as stream `s`.
    fn drain(&mut self, s: usize, fd: &OwnedFd) {
        let mut buf = [0u8; 16 * 1024];
        set_nonblocking(fd.as_raw_fd());
        while let Ok(n) = nix::unistd::read(fd.as_raw_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            self.emit(s, &buf[..n]);
        }
    }
}

/// What became ready in one poll round.
#[derive(Clone, Copy)]
enum Ready {
    Signal,
    Output(usize),
    Stdin,
    Listener,
    Client(usize),
}

/// One run being watched: reap, poll, dispatch, until the init exits.
struct Session<'l> {
    pid: i32,
    foreground: bool,
    /// Our own stdin goes to the pty (foreground `-it`) until it ends.
    fg_stdin: bool,
    sources: [Option<OwnedFd>; 2],
    master: Option<OwnedFd>,
    /// The container's stdin pipe when attach clients feed it (`-i`, no tty).
    stdin_w: Option<OwnedFd>,
    listener: Option<&'l UnixListener>,
    out: Output,
    buf: Vec<u8>,
}

impl Session<'_> {
    /// Loops until the container's process exits; its exit status.
    fn run(&mut self, sigfd: &SignalFd) -> Result<i32> {
        loop {
            // Reap first: an exit before we got here is not missed.
            if let Some(code) = self.exited()? {
                for s in 0..self.sources.len() {
                    if let Some(fd) = self.sources[s].take() {
                        self.out.drain(s, &fd);
                    }
                }
                return Ok(code);
            }
            for r in self.wait_ready(sigfd)? {
                self.dispatch(r, sigfd);
            }
            self.out.clients.retain(|c| !c.dead);
        }
    }

    /// Some(status) once the container's process is gone.
    fn exited(&self) -> Result<Option<i32>> {
        Ok(match reap(self.pid)? {
            Reaped::Exited(code) => Some(code),
            Reaped::Alive => None,
            // Not our child after all (no subreaper in effect): poll its existence.
            Reaped::NoChildren => kill(Pid::from_raw(self.pid), None).is_err().then_some(255),
        })
    }

    /// Polls the signalfd, the outputs, our stdin, the listener and the
    /// clients; what is ready.
    fn wait_ready(&self, sigfd: &SignalFd) -> Result<Vec<Ready>> {
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN)];
        let mut what = vec![Ready::Signal];
        for (s, src) in self.sources.iter().enumerate() {
            if let Some(fd) = src {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                what.push(Ready::Output(s));
            }
        }
        if self.fg_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            what.push(Ready::Stdin);
        }
        if let Some(l) = &self.listener {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            what.push(Ready::Listener);
        }
        for (i, c) in self.out.clients.iter().enumerate() {
            if c.reading {
                fds.push(PollFd::new(c.conn.as_fd(), PollFlags::POLLIN));
                what.push(Ready::Client(i));
            }
        }
        // A timeout too, in case the init is not our child (no SIGCHLD then).
        match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        Ok(fds
            .iter()
            .zip(what)
            .filter(|(f, _)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, w)| w)
            .collect())
    }

    fn dispatch(&mut self, r: Ready, sigfd: &SignalFd) {
        match r {
            Ready::Signal => self.forward_signals(sigfd),
            Ready::Output(s) => self.copy_output(s),
            Ready::Stdin => self.copy_stdin(),
            Ready::Listener => self.accept_client(),
            Ready::Client(i) => self.serve_client(i),
        }
    }

    /// Signals sent to us go to the container; SIGWINCH resizes the pty.
    fn forward_signals(&mut self, sigfd: &SignalFd) {
        while let Ok(Some(si)) = sigfd.read_signal() {
            let sig = si.ssi_signo as i32;
            if sig == libc::SIGCHLD {
                continue;
            }
            if sig == libc::SIGWINCH {
                if let (Some(m), true) = (&self.master, self.foreground) {
                    tty::copy_winsize(0, m.as_raw_fd());
                }
                continue;
            }
            if let Ok(s) = Signal::try_from(sig) {
                let _ = kill(Pid::from_raw(self.pid), s);
            }
        }
    }

    fn copy_output(&mut self, s: usize) {
        let Some(fd) = &self.sources[s] else {
            return;
        };
        match nix::unistd::read(fd.as_raw_fd(), &mut self.buf) {
            Ok(n) if n > 0 => self.out.emit(s, &self.buf[..n]),
            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
            // EOF, or EIO once the pty's last slave closed.
            _ => self.sources[s] = None,
        }
    }

    /// Foreground `-it`: our terminal's input to the pty.
    fn copy_stdin(&mut self) {
        match nix::unistd::read(0, &mut self.buf) {
            Ok(n) if n > 0 => {
                if let Some(m) = &self.master {
                    write_all_fd(m.as_fd(), &self.buf[..n]);
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            _ => self.fg_stdin = false,
        }
    }

    fn accept_client(&mut self) {
        if let Some(Ok((conn, _))) = self.listener.as_ref().map(|l| l.accept()) {
            self.out.clients.push(Client::new(conn));
        }
    }

    /// A client's mode byte, input or window sizes.
    fn serve_client(&mut self, i: usize) {
        let c = &mut self.out.clients[i];
        if c.dead {
            return;
        }
        let n = match c.conn.read(&mut self.buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return,
            Err(_) => {
                c.dead = true;
                return;
            }
        };
        if n == 0 {
            // The client's stdin ended: so does the container's (no tty).
            if c.mode == Mode::Interactive {
                self.stdin_w = None;
            }
            c.reading = false;
            return;
        }
        let mut data = &self.buf[..n];
        if c.mode == Mode::Unknown {
            c.mode = Mode::from_byte(data[0]);
            data = &data[1..];
        }
        match c.mode {
            Mode::Resizer => {
                // The last complete size counts.
                if let (Some(m), Some((rows, cols))) = (&self.master, sock::last_winsize(data)) {
                    tty::set_winsize(m.as_raw_fd(), rows, cols);
                }
            }
            Mode::Interactive if !data.is_empty() => {
                let to = self.master.as_ref().or(self.stdin_w.as_ref());
                if let Some(w) = to {
                    write_all_fd(w.as_fd(), data);
                }
            }
            _ => {}
        }
    }
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

/// Writes our terminal's size as the bundle's `process.consoleSize`.
pub fn set_console_size(config: &Path) {
    let Some((rows, cols)) = tty::winsize(0) else {
        return;
    };
    let Ok(data) = std::fs::read(config) else {
        return;
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&data) else {
        return;
    };
    v["process"]["consoleSize"] = serde_json::json!({"height": rows, "width": cols});
    if let Ok(out) = serde_json::to_vec_pretty(&v) {
        if let Err(e) = sysutil::fs::write_atomic(config, &out, sysutil::fs::Atomic::mode(0o600)) {
            log::warn!("{e:#}");
        }
    }
}
