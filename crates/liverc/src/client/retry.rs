//! Retry arithmetic: the capped exponential backoff with jitter, and
//! `Retry-After` parsing (delay-seconds or HTTP-date). Pure functions, so the
//! numbers are unit-tested without a clock or a network.

use std::time::{Duration, SystemTime};

use super::config::RetryPolicy;

/// The delay before retry number `retry_index` (0 for the first retry),
/// before any `Retry-After` is taken into account.
///
/// `min(max_delay, base_delay * 2^retry_index)`; with jitter on, "equal
/// jitter": half of that plus `unit` (a sample in `[0, 1]`) times the other
/// half, so delays never collapse to zero yet concurrent retries spread out.
pub(crate) fn backoff_delay(policy: &RetryPolicy, retry_index: u32, unit: f64) -> Duration {
    let factor = 2u32.checked_pow(retry_index).unwrap_or(u32::MAX);
    let exp = policy
        .base_delay
        .checked_mul(factor)
        .unwrap_or(policy.max_delay);
    let capped = exp.min(policy.max_delay);
    if policy.jitter {
        let half = capped / 2;
        half + (capped - half).mul_f64(unit.clamp(0.0, 1.0))
    } else {
        capped
    }
}

/// [`backoff_delay`] with a fresh random jitter sample.
pub(crate) fn backoff_delay_random(policy: &RetryPolicy, retry_index: u32) -> Duration {
    let unit = if policy.jitter {
        rand::random::<f64>()
    } else {
        0.0
    };
    backoff_delay(policy, retry_index, unit)
}

/// Parse a `Retry-After` value: non-negative integer seconds, or an
/// HTTP-date (read against `now`; a date in the past means "now", i.e. zero).
/// Anything else is `None` (the header is ignored). The result is not capped;
/// see [`cap`].
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long digit strings saturate rather than being ignored: the
        // server clearly asked for a long pause, and the cap applies anyway.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A server-requested wait cut to the policy's `max_retry_after`.
pub(crate) fn cap(wait: Duration, policy: &RetryPolicy) -> Duration {
    wait.min(policy.max_retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: bool) -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            jitter,
            max_retry_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let p = policy(false);
        let got: Vec<u128> = (0..6)
            .map(|n| backoff_delay(&p, n, 0.7).as_millis())
            .collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn backoff_never_overflows() {
        let p = policy(false);
        assert_eq!(backoff_delay(&p, 31, 0.0), p.max_delay);
        assert_eq!(backoff_delay(&p, 32, 0.0), p.max_delay);
        assert_eq!(backoff_delay(&p, u32::MAX, 0.0), p.max_delay);
        let huge = RetryPolicy {
            base_delay: Duration::from_secs(u64::MAX / 2),
            max_delay: Duration::from_secs(u64::MAX / 2),
            ..p
        };
        assert_eq!(backoff_delay(&huge, 5, 0.0), huge.max_delay);
    }

    #[test]
    fn equal_jitter_stays_between_half_and_full() {
        let p = policy(true);
        assert_eq!(backoff_delay(&p, 1, 0.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(&p, 1, 1.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(&p, 1, 0.5), Duration::from_millis(150));
        // Out-of-range samples are clamped.
        assert_eq!(backoff_delay(&p, 1, 7.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(&p, 1, -1.0), Duration::from_millis(100));
        for n in 0..8 {
            for _ in 0..50 {
                let d = backoff_delay_random(&p, n);
                let full = backoff_delay(&policy(false), n, 0.0);
                assert!(
                    d >= full / 2 && d <= full,
                    "{d:?} outside [{full:?}/2, {full:?}]"
                );
            }
        }
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        // Obsolete RFC 850 and asctime forms are accepted too.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:37 1994", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_past_date_is_zero() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(3600));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        let now = SystemTime::now();
        for garbage in [
            "",
            "  ",
            "-5",
            "1.5",
            "soon",
            "12s",
            "Tomorrow, 99 Foo 2024",
            "0x10",
        ] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn cap_limits_server_waits() {
        let p = policy(false);
        assert_eq!(cap(Duration::from_secs(3600), &p), Duration::from_secs(10));
        assert_eq!(cap(Duration::from_secs(3), &p), Duration::from_secs(3));
    }
}
