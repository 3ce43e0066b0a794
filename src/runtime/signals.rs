//! Signal names and numbers as runc's `kill` accepts them.

use anyhow::{bail, Result};
use nix::sys::signal::Signal;

/// `KILL`, `SIGKILL`, `kill`, `9`: all the same signal.
pub fn parse(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 is allowed, as with runc: it only checks the process exists.
        if n < 0 || n > libc::SIGRTMAX() {
            bail!("invalid signal number {n}");
        }
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        return rt(libc::SIGRTMIN(), rest, s);
    }
    if let Some(rest) = name.strip_prefix("SIGRTMAX") {
        return rt(libc::SIGRTMAX(), rest, s);
    }
    match name.parse::<Signal>() {
        Ok(sig) => Ok(sig as i32),
        Err(_) => bail!("unknown signal {s:?}"),
    }
}

fn rt(base: i32, rest: &str, orig: &str) -> Result<i32> {
    if rest.is_empty() {
        return Ok(base);
    }
    match rest.parse::<i32>() {
        Ok(off) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&(base + off)) => Ok(base + off),
        _ => bail!("unknown signal {orig:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(parse("KILL").unwrap(), 9);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("term").unwrap(), 15);
        assert_eq!(parse("15").unwrap(), 15);
        assert_eq!(parse("SIGRTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse("NOPE").is_err());
        assert_eq!(parse("0").unwrap(), 0);
        assert!(parse("-1").is_err());
    }
}
