//! `rdock attach CONTAINER`: the client side of the monitor's attach socket
//! (see [`crate::container::monitor`]); also `start -a`.
use super::Context;
use crate::cli::AttachArgs;
use crate::container::{monitor, record, record::State};
use anyhow::{bail, Context as _, Result};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn run(ctx: &Context, a: AttachArgs) -> Result<i32> {
    let r = record::find(&ctx.root, &a.container)?;
    if r.live_state() == State::Restarting {
        bail!("You cannot attach to a restarting container, wait until it is running");
    }
    if r.live_state() != State::Running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let dir = record::dir_of(&ctx.root, &r.id);
    crate::events::container(&ctx.root, &r, "attach", &[]);
    attach(&dir, r.interactive && !a.no_stdin, r.tty)
}

/// Connects (retrying for a monitor that is still binding) and relays until
/// the container exits (its exit code) or the user detaches (0).
pub fn attach(dir: &Path, stdin: bool, tty: bool) -> Result<i32> {
    attach_with_keys(dir, stdin, tty, DEFAULT_DETACH_KEYS.to_vec())
}

/// docker's detach sequence: ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// [`attach`] with another detach sequence (`run --detach-keys`).
pub fn attach_with_keys(dir: &Path, stdin: bool, tty: bool, keys: Vec<u8>) -> Result<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = loop {
        match monitor::connect_attach(dir) {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    conn.write_all(if stdin { b"i" } else { b"o" })
        .context("talking to the container monitor")?;
    // SAFETY: isatty only queries fd 0.
    let on_terminal = tty && unsafe { libc::isatty(0) } == 1;
    let raw = (stdin && on_terminal).then(monitor::RawMode::new);
    if on_terminal {
        if let Ok(r) = monitor::connect_attach(dir) {
            std::thread::spawn(move || forward_window_size(r));
        }
    }
    if stdin {
        let w = conn.try_clone()?;
        std::thread::spawn(move || forward_stdin(w, tty, &keys));
    }
    let code = relay(&mut conn);
    drop(raw);
    code
}

/// stdin to the container; the detach keys (ctrl-p ctrl-q) detach from a tty.
fn forward_stdin(mut w: UnixStream, tty: bool, keys: &[u8]) {
    let mut buf = [0u8; 4096];
    let mut matched = 0;
    let mut stdin = std::io::stdin();
    loop {
        match stdin.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = w.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                let data = &buf[..n];
                if tty {
                    if let Some(i) = detach_at(keys, &mut matched, data) {
                        let _ = w.write_all(&data[..i]);
                        let _ = w.shutdown(Shutdown::Both);
                        return;
                    }
                }
                if w.write_all(data).is_err() {
                    return;
                }
            }
        }
    }
}

/// Our terminal's size to the container's pty, now and whenever it
/// changes (checked every 100 ms: no signal handler in a client thread).
fn forward_window_size(mut conn: UnixStream) {
    if conn.write_all(b"r").is_err() {
        return;
    }
    let mut last = (0, 0);
    loop {
        // SAFETY: TIOCGWINSZ writes one winsize struct on our stack.
        let ws = unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            (libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0).then_some((ws.ws_row, ws.ws_col))
        };
        if let Some(ws) = ws.filter(|w| *w != last && w.0 > 0) {
            let mut msg = ws.0.to_be_bytes().to_vec();
            msg.extend_from_slice(&ws.1.to_be_bytes());
            if conn.write_all(&msg).is_err() {
                return;
            }
            last = ws;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where the detach sequence `keys` starts in `data` once it is complete;
/// `matched`: how many of its keys the earlier reads ended with.
fn detach_at(keys: &[u8], matched: &mut usize, data: &[u8]) -> Option<usize> {
    if keys.is_empty() {
        return None;
    }
    for (i, &b) in data.iter().enumerate() {
        if b == keys[*matched] {
            *matched += 1;
        } else {
            *matched = usize::from(b == keys[0]);
        }
        if *matched == keys.len() {
            return Some((i + 1).saturating_sub(keys.len()));
        }
    }
    None
}

/// Frames from the monitor to stdout/stderr; the exit frame's code at the end.
fn relay(conn: &mut UnixStream) -> Result<i32> {
    let mut head = [0u8; 8];
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    loop {
        if conn.read_exact(&mut head).is_err() {
            return Ok(0); // detached, or the monitor went away
        }
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let mut data = vec![0u8; len];
        conn.read_exact(&mut data)
            .context("reading from the container monitor")?;
        match head[0] {
            1 => {
                let _ = out.write_all(&data);
                let _ = out.flush();
            }
            2 => {
                let _ = err.write_all(&data);
            }
            monitor::EXIT_FRAME => {
                return Ok(String::from_utf8_lossy(&data).trim().parse().unwrap_or(0))
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ctrl_p_ctrl_q_is_found_across_reads() {
        let k = super::DEFAULT_DETACH_KEYS;
        assert_eq!(super::detach_at(k, &mut 0, b"ab\x10\x11"), Some(2));
        assert_eq!(super::detach_at(k, &mut 1, b"\x11x"), Some(0));
        assert_eq!(super::detach_at(k, &mut 0, b"\x10x\x11"), None);
        assert_eq!(super::detach_at(b"\x18y", &mut 0, b"a\x18\x18y"), Some(2));
    }
}
