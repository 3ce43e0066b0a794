//! Go's `time.Duration` text, as docker's and runc's flags take and print
//! it: "1.5s", "100ms", "1m30s", "-2h".

/// Parses a duration as Go's `time.ParseDuration` does; nanoseconds, or
/// Go's error text (`time: invalid duration "x"`).
pub fn parse(s: &str) -> Result<i64, String> {
    let quoted = format!("{s:?}");
    let invalid = || format!("time: invalid duration {quoted}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let num = &rest[..n];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let tail = &rest[n..];
        let u = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let unit = &tail[..u];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {quoted}")),
        };
        let v: f64 = num.parse().map_err(|_| invalid())?;
        total += v * scale;
        rest = &tail[u..];
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let ns = total.round() as i64;
    Ok(if neg { -ns } else { ns })
}

/// Go's `Duration.String()`: "500ms", "1s", "1m30s", "1h0m0s", "0s".
pub fn format(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    // Below a second: one unit with a fraction.
    let frac = |v: u64, unit: u64, name: &str| {
        let whole = v / unit;
        let rem = v % unit;
        if rem == 0 {
            format!("{sign}{whole}{name}")
        } else {
            let digits = unit.trailing_zeros_decimal();
            let f = format!("{rem:0digits$}");
            format!("{sign}{whole}.{}{name}", f.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return frac(u, 1_000, "µs");
    }
    if u < 1_000_000_000 {
        return frac(u, 1_000_000, "ms");
    }
    let secs = u / 1_000_000_000;
    let sub = u % 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if sub > 0 {
        let f = format!("{sub:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

trait DecimalDigits {
    fn trailing_zeros_decimal(self) -> usize;
}

impl DecimalDigits for u64 {
    /// The number of zeros of a power of ten.
    fn trailing_zeros_decimal(self) -> usize {
        let mut n = self;
        let mut d = 0;
        while n >= 10 {
            n /= 10;
            d += 1;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        assert_eq!(parse("1s"), Ok(1_000_000_000));
        assert_eq!(parse("500ms"), Ok(500_000_000));
        assert_eq!(parse("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse("10us"), Ok(10_000));
        assert_eq!(parse("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("x"), Err("time: invalid duration \"x\"".into()));
        assert_eq!(parse(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(
            parse("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(500_000_000), "500ms");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(30_000_000_000), "30s");
        assert_eq!(format(90_000_000_000), "1m30s");
        assert_eq!(format(3_600_000_000_000), "1h0m0s");
        assert_eq!(format(1_500), "1.5µs");
        assert_eq!(format(10_000_000), "10ms");
        assert_eq!(format(1_250_000), "1.25ms");
        assert_eq!(format(999), "999ns");
    }
}
