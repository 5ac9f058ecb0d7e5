//! How the report writes numbers, times, durations and shares: thousands
//! separators, UTC timestamps, `3 m 15 s`, `28.6%`, and point changes with a
//! real minus sign. Pure functions, so the report is the same on every
//! machine and in every locale.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The minus sign (U+2212) used for negative changes.
pub const MINUS: char = '\u{2212}';

/// `1090` → `1,090`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2026-11-28 00:01:37 UTC`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2026-11-28`.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// A duration for people: `38 ms`, `2.1 s`, `41 s`, `3 m 09 s`,
/// `1 h 02 m 05 s`.
pub fn duration(d: Duration) -> String {
    seconds(d.as_secs_f64())
}

/// [`duration`] from a number of seconds; negative or non-finite values
/// count as zero, which shows as `0 s`.
pub fn seconds(secs: f64) -> String {
    let secs = if secs.is_finite() && secs > 0.0 {
        secs
    } else {
        0.0
    };
    if secs == 0.0 {
        return "0 s".to_owned();
    }
    if secs < 1.0 {
        let ms = (secs * 1000.0).round();
        if ms >= 1000.0 {
            return "1.0 s".to_owned();
        }
        return format!("{ms:.0} ms");
    }
    if secs < 10.0 {
        let tenths = (secs * 10.0).round() / 10.0;
        if tenths < 10.0 {
            return format!("{tenths:.1} s");
        }
    }
    // Whole seconds from here on; the float is positive, finite and far
    // below u64::MAX for any real run.
    let whole = secs.round() as u64;
    let (h, m, s) = (whole / 3600, whole % 3600 / 60, whole % 60);
    if h > 0 {
        format!("{h} h {m:02} m {s:02} s")
    } else if m > 0 {
        format!("{m} m {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// A share given as a fraction (`0.286`) as a percentage with one decimal:
/// `28.6%`.
pub fn percent_of_fraction(fraction: f64) -> String {
    percent(fraction * 100.0)
}

/// A percentage (0–100) with one decimal: `97.4%`.
pub fn percent(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    format!("{}%", strip_negative_zero(format!("{value:.1}")))
}

/// A limit given as a fraction (`0.10`), as short as it can be written:
/// `10%`, `12.5%`.
pub fn limit_of_fraction(fraction: f64) -> String {
    let value = if fraction.is_finite() {
        fraction * 100.0
    } else {
        0.0
    };
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

/// A stage's share of the run: whole percent, `<1%` for a small but
/// non-zero share, `—` when the total is zero.
pub fn stage_share(part: f64, total: f64) -> String {
    if !(total.is_finite() && total > 0.0 && part.is_finite()) {
        return "—".to_owned();
    }
    let share = (part / total * 100.0).max(0.0);
    let rounded = share.round();
    if rounded == 0.0 && share > 0.0 {
        "<1%".to_owned()
    } else {
        format!("{rounded:.0}%")
    }
}

/// A change in percentage points with one decimal and a sign: `+0.1`,
/// `−0.1` (U+2212), `0.0`.
pub fn points(delta: f64) -> String {
    let delta = if delta.is_finite() { delta } else { 0.0 };
    let rounded = (delta * 10.0).round() / 10.0;
    if rounded > 0.0 {
        format!("+{rounded:.1}")
    } else if rounded < 0.0 {
        format!("{MINUS}{:.1}", -rounded)
    } else {
        "0.0".to_owned()
    }
}

fn strip_negative_zero(s: String) -> String {
    if s.starts_with("-0.") && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_090), "1,090");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn timestamps_are_utc() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 0, 1, 37).single();
        let t = t.expect("valid time");
        assert_eq!(timestamp(t), "2026-11-28 00:01:37 UTC");
        assert_eq!(date(t), "2026-11-28");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(seconds(0.0), "0 s");
        assert_eq!(seconds(0.0004), "0 ms");
        assert_eq!(seconds(0.038), "38 ms");
        assert_eq!(seconds(0.9996), "1.0 s");
        assert_eq!(seconds(2.06), "2.1 s");
        assert_eq!(seconds(9.96), "10 s");
        assert_eq!(seconds(41.0), "41 s");
        assert_eq!(seconds(59.6), "1 m 00 s");
        assert_eq!(seconds(195.0), "3 m 15 s");
        assert_eq!(seconds(189.0), "3 m 09 s");
        assert_eq!(seconds(3725.0), "1 h 02 m 05 s");
        assert_eq!(seconds(-3.0), "0 s");
        assert_eq!(seconds(f64::NAN), "0 s");
        assert_eq!(duration(Duration::from_millis(195_000)), "3 m 15 s");
    }

    #[test]
    fn shares_and_limits() {
        assert_eq!(percent_of_fraction(312.0 / 1090.0), "28.6%");
        assert_eq!(percent(97.44), "97.4%");
        assert_eq!(percent(-0.01), "0.0%");
        assert_eq!(limit_of_fraction(0.10), "10%");
        assert_eq!(limit_of_fraction(0.125), "12.5%");
        assert_eq!(stage_share(191.0, 195.0), "98%");
        assert_eq!(stage_share(0.4, 195.0), "<1%");
        assert_eq!(stage_share(0.0, 195.0), "0%");
        assert_eq!(stage_share(1.0, 0.0), "—");
    }

    #[test]
    fn points_use_a_real_minus_sign() {
        assert_eq!(points(0.1), "+0.1");
        assert_eq!(points(-0.1), "\u{2212}0.1");
        assert_eq!(points(0.04), "0.0");
        assert_eq!(points(-0.04), "0.0");
        assert_eq!(points(-12.345), "\u{2212}12.3");
    }
}
