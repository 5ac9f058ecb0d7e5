#![doc = include_str!("../README.md")]

use std::time::{Duration, SystemTime};

/// Capped exponential backoff: the pause before retry number `retry` is
/// `initial × 2^(retry−1)`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The pause before the first retry.
    pub initial: Duration,
    /// The longest pause the doubling may reach.
    pub max: Duration,
}

impl Backoff {
    /// Doubling from `initial`, capped at `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The pause before retry number `retry`, 1-based (1 is the pause
    /// between the first and the second attempt; 0 counts as 1). Saturates
    /// at `max` instead of overflowing, for any `retry`.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1_u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max)
    }
}

/// A `Retry-After` value as the pause it asks for, measured from `now`:
/// delay-seconds (digits only; a number too large for a `u64` saturates,
/// since the server plainly asked for a long pause) or an HTTP-date (one
/// in the past means no pause). Blanks around the value are ignored;
/// anything else (`soon`, `-1`, `+7`, an empty value) is `None`, and the
/// header is to be ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// [`parse_retry_after`] against the system clock, cut to `cap`: the pause
/// a server's `Retry-After` imposes, at most the longest a caller accepts.
pub fn retry_after(value: &str, cap: Duration) -> Option<Duration> {
    parse_retry_after(value, SystemTime::now()).map(|pause| pause.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let pauses: Vec<_> = (1..=5).map(|retry| backoff.delay(retry)).collect();
        assert_eq!(
            pauses,
            [100, 200, 400, 500, 500]
                .map(Duration::from_millis)
                .to_vec()
        );
        assert_eq!(backoff.delay(0), Duration::from_millis(100));
    }

    #[test]
    fn backoff_never_overflows() {
        let backoff = Backoff::new(Duration::from_secs(30), Duration::from_secs(100));
        for retry in [31, 32, 33, 200, u32::MAX] {
            assert_eq!(backoff.delay(retry), Duration::from_secs(100), "{retry}");
        }
        let huge = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        assert_eq!(huge.delay(1), Duration::from_secs(u64::MAX / 2));
        assert_eq!(huge.delay(3), Duration::MAX);
        let zero = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.delay(7), Duration::ZERO);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        for ignored in ["soon", "-1", "+7", "1.5", "", "  "] {
            assert_eq!(parse_retry_after(ignored, now), None, "{ignored:?}");
        }
    }

    #[test]
    fn an_enormous_number_of_seconds_saturates_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH;
        let value = "99999999999999999999999999";
        assert_eq!(
            parse_retry_after(value, now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after(value, Duration::from_secs(60)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("5", Duration::from_secs(60)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after("soon", Duration::from_secs(60)), None);
    }
}
