//! Sizes written as docker writes them (its go-units package): `%.Ng`
//! of the size in decimal (`1.2kB`, HumanSizeWithPrecision) or binary
//! (`1.121MiB`, BytesSize) units.

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// `size` in decimal units with `precision` significant digits.
pub fn human_size(size: f64, precision: usize) -> String {
    custom(size, precision, 1000.0, &DECIMAL)
}

/// `size` in binary units with 4 significant digits.
pub fn bytes_size(size: f64) -> String {
    custom(size, 4, 1024.0, &BINARY)
}

fn custom(mut size: f64, precision: usize, base: f64, units: &[&str]) -> String {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    format!("{}{}", go_g(size, precision), units[i])
}

/// Go's `%.Pg`: P significant digits, trailing zeros dropped, an exponent
/// when it is below -4 or at least P.
pub fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let p = precision.max(1);
    // The exponent after rounding to P digits (999.95 -> 1.00e+03).
    let sci = format!("{:.*e}", p - 1, v);
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("a numeric exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_go_units() {
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(bytes_size(572.0 * 1024.0), "572KiB");
        assert_eq!(bytes_size(1.121 * 1024.0 * 1024.0), "1.121MiB");
        assert_eq!(bytes_size(64.0 * 1024.0 * 1024.0), "64MiB");
        assert_eq!(bytes_size(25_275_000_000.0), "23.54GiB");
        assert_eq!(human_size(0.0, 3), "0B");
        assert_eq!(human_size(1200.0, 3), "1.2kB");
        assert_eq!(human_size(12_345_678.0, 3), "12.3MB");
        assert_eq!(human_size(3_967_000.0, 4), "3.967MB");
        assert_eq!(human_size(1_984_230.0, 4), "1.984MB");
        assert_eq!(human_size(999.0, 3), "999B");
        // Go prints the rounding overflow with an exponent, and so do we.
        assert_eq!(human_size(999.9, 3), "1e+03B");
    }

    #[test]
    fn go_g_rules() {
        assert_eq!(go_g(100.0, 3), "100");
        assert_eq!(go_g(0.5, 3), "0.5");
        assert_eq!(go_g(0.00001234, 3), "1.23e-05");
        assert_eq!(go_g(1023.99, 4), "1024");
    }
}
