//! `exec -it` on a terminal: rdock holds the exec's pty itself (the runtime
//! runs it with `--detach --console-socket`), relays it, and on ctrl-p
//! ctrl-q leaves the process running, a small holder keeping its pty open,
//! as docker's exec detaches.
use crate::container::{self, monitor, runtime};
use anyhow::{Context as _, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Stdio;

/// Runs `RUNTIME exec --tty --detach ARGS` and relays its pty; returns the
/// process's exit code, or 1 after a detach (docker's).
pub fn run(runtime_bin: &Path, state_root: &Path, dir: &Path, args: &[String]) -> Result<i32> {
    let dirf = monitor::open_dir(dir)?;
    let sock = monitor::socket_path(&dirf, &format!("exec-{}.sock", std::process::id()));
    let pid_file = dir.join(format!("exec-{}.pid", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).context("binding the exec console socket")?;
    // The process becomes our child once the runtime exits: its status is ours to read.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let mut full: Vec<String> = vec!["exec".into(), "--detach".into()];
    full.push("--console-socket".into());
    full.push(sock.display().to_string());
    full.push("--pid-file".into());
    full.push(pid_file.display().to_string());
    full.extend(args.iter().cloned());
    let argv: Vec<&str> = full.iter().map(String::as_str).collect();
    let out = runtime::command(runtime_bin, state_root, &argv)
        .stdin(Stdio::null())
        .output()
        .context("running the runtime's exec")?;
    let _ = std::fs::remove_file(&sock);
    if !out.status.success() {
        let _ = std::fs::remove_file(&pid_file);
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        return Ok(container::exit_code(out.status).max(1));
    }
    listener.set_nonblocking(true)?;
    let (conn, _) = listener.accept().context("accepting the exec's console")?;
    let master = ::runtime::foreground::recv_master(&conn)?;
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .with_context(|| format!("reading {}", pid_file.display()))?
        .trim()
        .parse()
        .context("parsing the exec's pid")?;
    let _ = std::fs::remove_file(&pid_file);
    relay(master, pid)
}

fn copy_size(master: &OwnedFd) {
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ on one winsize struct on our stack.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

fn relay(master: OwnedFd, pid: i32) -> Result<i32> {
    copy_size(&master);
    let raw = monitor::RawMode::new();
    let mut buf = [0u8; 8192];
    let mut last = 0u8;
    let mut size = (0u16, 0u16);
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    loop {
        if let Ok(WaitStatus::Exited(_, c)) =
            waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG))
        {
            drain(&master, &mut buf);
            return Ok(c);
        } else if let Ok(WaitStatus::Signaled(_, s, _)) =
            waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG))
        {
            drain(&master, &mut buf);
            return Ok(128 + s as i32);
        }
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        let (m_ready, in_ready) = (
            fds[0].revents().is_some_and(|r| !r.is_empty()),
            fds.get(1)
                .is_some_and(|f| f.revents().is_some_and(|r| !r.is_empty())),
        );
        drop(fds);
        // The window size, polled (no handler for SIGWINCH here).
        // SAFETY: TIOCGWINSZ writes one winsize struct on our stack.
        let now = unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            libc::ioctl(0, libc::TIOCGWINSZ, &mut ws);
            (ws.ws_row, ws.ws_col)
        };
        if now != size {
            size = now;
            copy_size(&master);
        }
        if m_ready {
            match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => write_out(&buf[..n]),
                Err(nix::errno::Errno::EINTR) => {}
                // EIO: the process closed its side; its exit follows.
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        if in_ready {
            match nix::unistd::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let data = &buf[..n];
                    let at = if last == 0x10 && data[0] == 0x11 {
                        Some(0)
                    } else {
                        data.windows(2).position(|w| w == [0x10, 0x11])
                    };
                    if let Some(i) = at {
                        let _ = nix::unistd::write(&master, &data[..i]);
                        drop(raw);
                        hold(master)?;
                        eprintln!("read escape sequence");
                        return Ok(1);
                    }
                    last = data[n - 1];
                    let _ = nix::unistd::write(&master, data);
                }
                Err(nix::errno::Errno::EINTR) => {}
                _ => stdin_open = false,
            }
        }
    }
}

fn write_out(data: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(data);
    let _ = out.flush();
}

fn drain(master: &OwnedFd, buf: &mut [u8]) {
    let fl = nix::fcntl::OFlag::O_NONBLOCK;
    let _ = nix::fcntl::fcntl(master.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(fl));
    while let Ok(n) = nix::unistd::read(master.as_raw_fd(), buf) {
        if n == 0 {
            break;
        }
        write_out(&buf[..n]);
    }
}

/// After a detach: a child in its own session keeps the pty master open
/// (read and dropped) until the process closes its side.
fn hold(master: OwnedFd) -> Result<()> {
    // SAFETY: fork in a process whose other threads do no work that the
    // child could inherit half-done; the child only reads a fd and exits.
    match unsafe { nix::unistd::fork() }.context("forking the pty holder")? {
        nix::unistd::ForkResult::Child => {
            // SAFETY: SIG_IGN installs no handler code; our terminal's
            // hangup must not take the process's pty down with us.
            unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
            let _ = nix::unistd::setsid();
            // Blocking reads (the runtime may have handed the master over non-blocking).
            let _ = nix::fcntl::fcntl(
                master.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
            );
            let mut buf = [0u8; 4096];
            loop {
                match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    _ => std::process::exit(0),
                }
            }
        }
        nix::unistd::ForkResult::Parent { .. } => Ok(()),
    }
}
