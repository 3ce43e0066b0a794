//! Bounds on what a registry may send and what a layer may unpack to, so
//! a hostile or broken registry cannot exhaust memory, disk or time.
//!
//! Settings (environment): `RDOCK_MAX_LAYER_SIZE` caps one layer's
//! uncompressed size (bytes, or with a k/m/g/t suffix; default 64g);
//! `RDOCK_MIN_FREE_SPACE` is the free space unpacking leaves on the store's
//! file system (default the smaller of 512m and 5% of it);
//! `RDOCK_PULL_STALL_TIMEOUT` is how long (seconds, default 60) a pull may
//! go without receiving a byte before it gives up, retries included.
use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Manifests and indexes: distribution refuses to store larger ones.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Image configs (a long history makes big ones; real ones stay far below).
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;
/// The body of an error answer read for its message.
pub const MAX_ERROR_BODY: usize = 64 << 10;

const DEFAULT_MAX_LAYER: u64 = 64 << 30;
const DEFAULT_MIN_FREE: u64 = 512 << 20;
const DEFAULT_STALL: Duration = Duration::from_secs(60);

/// `123`, `10k`, `512m`, `2g`, `1t` (binary multiples, as docker's sizes).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    match num.parse::<u64>() {
        Ok(n) if n.checked_shl(shift).is_some_and(|v| v >> shift == n) => Ok(n << shift),
        _ => bail!("invalid size {s:?} (a number of bytes, or with a k, m, g or t suffix)"),
    }
}

fn env_size(var: &str) -> Result<Option<u64>> {
    match std::env::var(var) {
        Ok(v) => parse_size(&v)
            .map(Some)
            .map_err(|e| e.context(format!("in {var}"))),
        Err(_) => Ok(None),
    }
}

/// How far one layer may unpack.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// Uncompressed bytes of one layer.
    pub max_bytes: u64,
    /// Free space to leave on the file system; None: the default share.
    pub min_free: Option<u64>,
}

impl UnpackLimits {
    pub fn from_env() -> Result<UnpackLimits> {
        Ok(UnpackLimits {
            max_bytes: env_size("RDOCK_MAX_LAYER_SIZE")?.unwrap_or(DEFAULT_MAX_LAYER),
            min_free: env_size("RDOCK_MIN_FREE_SPACE")?,
        })
    }

    /// The margin for a file system of `total` bytes.
    pub fn margin(&self, total: u64) -> u64 {
        self.min_free
            .unwrap_or_else(|| DEFAULT_MIN_FREE.min(total / 20))
    }
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: DEFAULT_MAX_LAYER,
            min_free: None,
        }
    }
}

/// The pull's stall deadline.
pub fn stall_timeout() -> Result<Duration> {
    match std::env::var("RDOCK_PULL_STALL_TIMEOUT") {
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
            _ => bail!("invalid RDOCK_PULL_STALL_TIMEOUT {v:?} (seconds)"),
        },
        Err(_) => Ok(DEFAULT_STALL),
    }
}

/// When the pull last received or unpacked a byte, for the stall deadline
/// (one pull per process, so process-wide).
static START: OnceLock<Instant> = OnceLock::new();
static LAST_ACTIVITY_MS: AtomicU64 = AtomicU64::new(0);

fn since_start() -> Duration {
    START.get_or_init(Instant::now).elapsed()
}

/// Notes progress: bytes arrived or were unpacked.
pub fn touch() {
    LAST_ACTIVITY_MS.store(since_start().as_millis() as u64, Ordering::Relaxed);
}

/// Time since the last [`touch`].
pub fn idle() -> Duration {
    since_start().saturating_sub(Duration::from_millis(
        LAST_ACTIVITY_MS.load(Ordering::Relaxed),
    ))
}

/// "21.0GiB": sizes in messages.
pub fn human(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("10k").unwrap(), 10 << 10);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("2gb").unwrap(), 2 << 30);
        assert!(parse_size("x").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999t").is_err());
    }

    #[test]
    fn the_default_margin_is_small_on_small_file_systems() {
        let l = UnpackLimits::default();
        assert_eq!(l.margin(100 << 30), 512 << 20);
        assert_eq!(l.margin(100 << 20), 5 << 20);
        let set = UnpackLimits {
            min_free: Some(1),
            ..l
        };
        assert_eq!(set.margin(100 << 30), 1);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(21 << 30), "21.0GiB");
    }
}
