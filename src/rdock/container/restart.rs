//! Restart policies (`--restart no|always|on-failure[:N]|unless-stopped`)
//! as docker's restart manager applies them: which exits restart the
//! container, and the delay before each restart (100 ms, doubling up to a
//! minute, back to 100 ms after a run of 10 s or more).
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// docker's `HostConfig.RestartPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    #[serde(rename = "Name")]
    pub name: String,
    /// on-failure's retry limit; 0 is no limit.
    #[serde(rename = "MaximumRetryCount")]
    pub max_retries: u32,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            name: "no".into(),
            max_retries: 0,
        }
    }
}

/// A bad `--restart`: docker checks the format in its client (`rdock: MSG.`,
/// exit 125 from run and create) and the rest in the daemon.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Format(&'static str),
    #[error("{0}")]
    Daemon(String),
}

impl RestartPolicy {
    /// Parses `--restart` with docker's messages; empty is `no`.
    pub fn parse(s: &str) -> Result<RestartPolicy, PolicyError> {
        let parts: Vec<&str> = s.split(':').collect();
        let (name, count) = match parts.as_slice() {
            [n] => (*n, None),
            [n, c] => (*n, Some(*c)),
            _ => return Err(PolicyError::Format("invalid restart policy format")),
        };
        let count: Option<i64> = match count {
            None => None,
            Some(c) => Some(
                c.parse()
                    .map_err(|_| PolicyError::Format("maximum retry count must be an integer"))?,
            ),
        };
        let name = if name.is_empty() { "no" } else { name };
        match name {
            "no" | "always" | "unless-stopped" if count.is_some() => Err(PolicyError::Daemon(
                format!("maximum retry count cannot be used with restart policy '{name}'"),
            )),
            "no" | "always" | "unless-stopped" => Ok(RestartPolicy {
                name: name.into(),
                max_retries: 0,
            }),
            "on-failure" => match count {
                Some(c) if c < 0 => Err(PolicyError::Daemon(
                    "maximum retry count cannot be negative".into(),
                )),
                c => Ok(RestartPolicy {
                    name: name.into(),
                    max_retries: c.unwrap_or(0).min(u32::MAX as i64) as u32,
                }),
            },
            _ => Err(PolicyError::Daemon(format!(
                "invalid restart policy '{name}'"
            ))),
        }
    }

    pub fn is_none(&self) -> bool {
        self.name == "no"
    }

    /// Whether an exit with `code` after `restarts` restarts restarts the
    /// container; a container stopped by `stop`, `kill` or `rm -f`
    /// (`manual_stop`) never does.
    pub fn should_restart(&self, code: i32, manual_stop: bool, restarts: u32) -> bool {
        if manual_stop {
            return false;
        }
        match self.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => code != 0 && (self.max_retries == 0 || restarts < self.max_retries),
            _ => false,
        }
    }

    /// Whether the container comes back after a reboot (`rdock start
    /// --all-restartable`), as after a restart of docker's daemon: `always`
    /// even if it was stopped by hand, `unless-stopped` unless it was, and
    /// `on-failure` when the reboot cut its run short.
    pub fn restarts_at_boot(&self, manual_stop: bool, was_running: bool) -> bool {
        match self.name.as_str() {
            "always" => true,
            "unless-stopped" => !manual_stop,
            "on-failure" => was_running && !manual_stop,
            _ => false,
        }
    }
}

/// The delay before each restart of one monitor's container.
#[derive(Debug, Default)]
pub struct Backoff {
    delay: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long starts the delays over.
const RESET_AFTER: Duration = Duration::from_secs(10);

impl Backoff {
    /// The delay before restarting a container whose run lasted `ran_for`.
    pub fn next(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER || self.delay.is_zero() {
            self.delay = FIRST_DELAY;
        } else {
            self.delay = (self.delay * 2).min(MAX_DELAY);
        }
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<RestartPolicy, PolicyError> {
        RestartPolicy::parse(s)
    }

    #[test]
    fn policies_parse_as_docker_reads_them() {
        assert_eq!(p("").unwrap(), RestartPolicy::default());
        assert_eq!(p("always").unwrap().name, "always");
        assert_eq!(p("on-failure").unwrap().max_retries, 0);
        assert_eq!(p("on-failure:3").unwrap().max_retries, 3);
        assert_eq!(p("unless-stopped").unwrap().name, "unless-stopped");
        let daemon = |m: &str| Err(PolicyError::Daemon(m.into()));
        assert_eq!(p("foo"), daemon("invalid restart policy 'foo'"));
        assert_eq!(p("ALWAYS"), daemon("invalid restart policy 'ALWAYS'"));
        assert_eq!(
            p("on-failure:-1"),
            daemon("maximum retry count cannot be negative")
        );
        assert_eq!(
            p("always:3"),
            daemon("maximum retry count cannot be used with restart policy 'always'")
        );
        let format = |m: &'static str| Err(PolicyError::Format(m));
        assert_eq!(
            p("on-failure:x"),
            format("maximum retry count must be an integer")
        );
        assert_eq!(
            p("on-failure:"),
            format("maximum retry count must be an integer")
        );
        assert_eq!(p("on-failure:2:3"), format("invalid restart policy format"));
    }

    #[test]
    fn exits_restart_per_policy() {
        let on_failure2 = p("on-failure:2").unwrap();
        assert!(on_failure2.should_restart(1, false, 0));
        assert!(on_failure2.should_restart(137, false, 1));
        assert!(!on_failure2.should_restart(1, false, 2));
        assert!(!on_failure2.should_restart(0, false, 0));
        assert!(p("always").unwrap().should_restart(0, false, 100));
        assert!(!p("always").unwrap().should_restart(137, true, 0));
        assert!(!p("no").unwrap().should_restart(1, false, 0));
        assert!(p("always").unwrap().restarts_at_boot(true, false));
        assert!(!p("unless-stopped").unwrap().restarts_at_boot(true, true));
        assert!(p("on-failure").unwrap().restarts_at_boot(false, true));
        assert!(!p("on-failure").unwrap().restarts_at_boot(false, false));
    }

    #[test]
    fn delays_double_from_100ms_and_start_over_after_a_long_run() {
        let mut b = Backoff::default();
        let short = Duration::from_millis(20);
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(b.next(short)), 100);
        assert_eq!(ms(b.next(short)), 200);
        assert_eq!(ms(b.next(short)), 400);
        assert_eq!(ms(b.next(Duration::from_secs(11))), 100);
        for _ in 0..20 {
            b.next(short);
        }
        assert_eq!(b.next(short), MAX_DELAY);
    }
}
