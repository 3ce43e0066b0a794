//! `--since` / `--until` values as docker reads them: a Go duration before
//! now (`10m`, `1h30m`, `-1s`; whole seconds), an RFC 3339 date or time
//! (the local zone when none is given: `2026-12-03`, `2026-12-03T09:11`,
//! `2026-12-03T09:11:11.5`, `...Z`, `...+01:00`), or unix seconds with an
//! optional fraction (`1796289069`, `1796289069.5`).
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

/// A parsed point in time, with the text docker would send its daemon
/// (shown in the since-after-until message).
#[derive(Debug, Clone, PartialEq)]
pub struct Timestamp {
    pub nanos: i64,
    pub text: String,
}

pub fn parse(value: &str, now: DateTime<chrono::Utc>) -> Result<Timestamp, String> {
    if value != "0" {
        if let Some(d) = go_duration(value) {
            let secs = (now.timestamp_nanos_opt().unwrap_or(0) - d).div_euclid(1_000_000_000);
            return Ok(Timestamp {
                nanos: secs * 1_000_000_000,
                text: secs.to_string(),
            });
        }
    }
    match parse_time(value) {
        Some(Ok(t)) => {
            let nanos = t.timestamp_nanos_opt().unwrap_or(0);
            Ok(Timestamp {
                nanos,
                text: format!(
                    "{}.{:09}",
                    nanos.div_euclid(1_000_000_000),
                    nanos.rem_euclid(1_000_000_000)
                ),
            })
        }
        Some(Err(e)) => Err(e),
        None => unix(value)
            .map(|nanos| Timestamp {
                nanos,
                text: value.to_string(),
            })
            .ok_or_else(|| format!("failed to parse value as time or duration: {value:?}")),
    }
}

/// Go's time.ParseDuration, in nanoseconds.
fn go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return None;
        }
        let v: f64 = num.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += v * scale;
    }
    let n = total as i64;
    Some(if neg { -n } else { n })
}

/// A date or date-time; None when `value` does not look like one (no
/// `-`), Some(Err) when it does but is not valid.
fn parse_time(value: &str) -> Option<Result<DateTime<chrono::FixedOffset>, String>> {
    let zoned = value.contains(['z', 'Z', '+']) || value.matches('-').count() == 3;
    let parsed = if zoned {
        zoned_time(value)
    } else {
        local_time(value)
    };
    match parsed {
        Some(t) => Some(Ok(t)),
        None if value.contains('-') => Some(Err(format!(
            "parsing time {value:?}: not an RFC 3339 date or time"
        ))),
        None => None,
    }
}

fn local_time(value: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let naive = if value.contains('T') {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"]
            .iter()
            .find_map(|f| {
                // chrono wants minutes: give a bare hour some.
                if *f == "%Y-%m-%dT%H" {
                    NaiveDateTime::parse_from_str(&format!("{value}:00"), "%Y-%m-%dT%H:%M").ok()
                } else {
                    NaiveDateTime::parse_from_str(value, f).ok()
                }
            })?
    } else {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
    };
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.fixed_offset())
}

fn zoned_time(value: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let v = value.replace('z', "Z");
    if let Ok(t) = DateTime::parse_from_rfc3339(&v) {
        return Some(t);
    }
    // Shorter forms: 2006-01-02Z07:00, 2006-01-02T15Z07:00, 2006-01-02T15:04Z07:00.
    let zone_at = v[10..].find(['Z', '+', '-']).map(|i| i + 10)?;
    let (dt, zone) = v.split_at(zone_at);
    let dt = match dt.split_once('T') {
        None => format!("{dt}T00:00:00"),
        Some((d, t)) => match t.matches(':').count() {
            0 => format!("{d}T{t}:00:00"),
            1 => format!("{d}T{t}:00"),
            _ => return None,
        },
    };
    DateTime::parse_from_rfc3339(&format!("{dt}{zone}")).ok()
}

/// `SECONDS[.FRACTION]`, as docker's ParseTimestamps.
fn unix(value: &str) -> Option<i64> {
    let (s, frac) = match value.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (value, None),
    };
    let secs: i64 = s.parse().ok()?;
    let nanos = match frac {
        Some(f) => {
            let n: i64 = f.parse().ok()?;
            let digits = f.len() as i32;
            (n as f64 * 10f64.powi(9 - digits)) as i64
        }
        None => 0,
    };
    Some(secs * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<chrono::Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T09:20:00.5Z")
            .unwrap()
            .to_utc()
    }

    fn secs(v: &str) -> i64 {
        parse(v, now()).unwrap().nanos / 1_000_000_000
    }

    const NOW: i64 = 1_796_289_600;

    #[test]
    fn durations_count_back_from_now_in_whole_seconds() {
        assert_eq!(secs("10m"), NOW - 600);
        assert_eq!(secs("0s"), NOW);
        assert_eq!(secs("-1s"), NOW + 1);
        assert_eq!(secs("1h30m"), NOW - 5400);
        assert_eq!(secs("1.5h"), NOW - 5400);
        assert_eq!(parse("10m", now()).unwrap().text, (NOW - 600).to_string());
    }

    #[test]
    fn unix_seconds_keep_their_fraction() {
        assert_eq!(parse("0", now()).unwrap().nanos, 0);
        let t = parse("1796289069.5", now()).unwrap();
        assert_eq!(t.nanos, 1_796_289_069_500_000_000);
        assert_eq!(t.text, "1796289069.5");
    }

    #[test]
    fn rfc3339_with_and_without_zone() {
        std::env::set_var("TZ", "UTC");
        assert_eq!(secs("2026-12-03T09:11:11Z"), 1_796_289_071);
        assert_eq!(secs("2026-12-03T10:11:11+01:00"), 1_796_289_071);
        assert_eq!(
            parse("2026-12-03T09:11:11.5Z", now()).unwrap().text,
            "1796289071.500000000"
        );
        assert_eq!(secs("2026-12-03T09:11:11"), 1_796_289_071);
        assert_eq!(secs("2026-12-03T09:11"), 1_796_289_060);
        assert_eq!(secs("2026-12-03T09"), 1_796_288_400);
        assert_eq!(secs("2026-12-03"), 1_796_256_000);
        assert_eq!(secs("2026-12-03T09Z"), 1_796_288_400);
    }

    #[test]
    fn bad_values_get_dockers_message() {
        assert_eq!(
            parse("bogus", now()).unwrap_err(),
            "failed to parse value as time or duration: \"bogus\""
        );
        assert_eq!(
            parse("now", now()).unwrap_err(),
            "failed to parse value as time or duration: \"now\""
        );
        assert!(parse("2026-13-45", now()).is_err());
    }
}
