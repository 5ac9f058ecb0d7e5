//! Relative "last updated" texts of the catalogue ("3 hours ago",
//! "Yesterday", "last month") turned into approximate timestamps.
//!
//! The site prints only coarse relative texts, so the result is an
//! approximation read against the time the page was fetched: a month counts
//! as 30 days and a year as 365. Unknown text gives `None`; arithmetic is
//! checked, so a huge count gives `None` rather than a panic or a wrapped
//! date.

use chrono::{DateTime, TimeDelta, Utc};

use super::text::collapse_ws;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
/// A month is approximated as 30 days.
const MONTH: u64 = 30 * DAY;
/// A year is approximated as 365 days.
const YEAR: u64 = 365 * DAY;

/// How long ago `text` says, in seconds, or `None` if the text is not a
/// relative time this parser knows.
///
/// Accepted (case-insensitive, whitespace-tolerant, trailing `.` ignored):
/// "just now", "now", "today", "yesterday", "last week|month|year",
/// "N second(s)|minute(s)|hour(s)|day(s)|week(s)|month(s)|year(s) ago" with
/// N a decimal number or "a", "an", "one" (also the short units "sec",
/// "min", "hr", "mo", "yr").
pub fn relative_age_seconds(text: &str) -> Option<u64> {
    let normalised = collapse_ws(text).to_lowercase();
    let normalised = normalised.trim_end_matches('.').trim_end();
    match normalised {
        "just now" | "now" | "today" | "moments ago" | "a moment ago" | "a few seconds ago" => {
            return Some(0);
        }
        "yesterday" => return Some(DAY),
        "last week" => return Some(WEEK),
        "last month" => return Some(MONTH),
        "last year" => return Some(YEAR),
        _ => {}
    }
    let quantity_and_unit = normalised.strip_suffix(" ago")?;
    let mut words = quantity_and_unit.split(' ');
    let quantity = parse_quantity(words.next()?)?;
    let unit = unit_seconds(words.next()?)?;
    if words.next().is_some() {
        return None;
    }
    quantity.checked_mul(unit)
}

/// `text` read against `fetched_at`: the approximate time it names, or
/// `None` when the text is unknown or the result would not be representable.
pub fn parse_relative_time(text: &str, fetched_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(relative_age_seconds(text)?).ok()?;
    let age = TimeDelta::try_seconds(seconds)?;
    fetched_at.checked_sub_signed(age)
}

fn parse_quantity(word: &str) -> Option<u64> {
    match word {
        "a" | "an" | "one" => Some(1),
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()
        }
        _ => None,
    }
}

fn unit_seconds(word: &str) -> Option<u64> {
    let singular = word.strip_suffix('s').unwrap_or(word);
    Some(match singular {
        "second" | "sec" => 1,
        "minute" | "min" => MINUTE,
        "hour" | "hr" => HOUR,
        "day" => DAY,
        "week" | "wk" => WEEK,
        "month" | "mo" => MONTH,
        "year" | "yr" => YEAR,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn fetched() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 12, 6, 12, 0, 0)
            .single()
            .expect("valid test time")
    }

    fn ago(text: &str) -> Option<DateTime<Utc>> {
        parse_relative_time(text, fetched())
    }

    #[test]
    fn every_form_on_the_real_catalogue() {
        let t = fetched();
        assert_eq!(ago("1 minute ago"), Some(t - TimeDelta::minutes(1)));
        assert_eq!(ago("14 minutes ago"), Some(t - TimeDelta::minutes(14)));
        assert_eq!(ago("1 hour ago"), Some(t - TimeDelta::hours(1)));
        assert_eq!(ago("5 hours ago"), Some(t - TimeDelta::hours(5)));
        assert_eq!(ago("3 days ago"), Some(t - TimeDelta::days(3)));
        assert_eq!(ago("Yesterday"), Some(t - TimeDelta::days(1)));
        assert_eq!(ago("last week"), Some(t - TimeDelta::days(7)));
        assert_eq!(ago("2 weeks ago"), Some(t - TimeDelta::days(14)));
        assert_eq!(ago("last month"), Some(t - TimeDelta::days(30)));
        assert_eq!(ago("4 months ago"), Some(t - TimeDelta::days(120)));
        assert_eq!(ago("last year"), Some(t - TimeDelta::days(365)));
        assert_eq!(ago("2 years ago"), Some(t - TimeDelta::days(730)));
    }

    #[test]
    fn articles_short_units_case_and_spacing() {
        let t = fetched();
        assert_eq!(ago("a minute ago"), Some(t - TimeDelta::minutes(1)));
        assert_eq!(ago("an hour ago"), Some(t - TimeDelta::hours(1)));
        assert_eq!(ago("One day ago"), Some(t - TimeDelta::days(1)));
        assert_eq!(
            ago("  10\u{a0}SECONDS   ago. "),
            Some(t - TimeDelta::seconds(10))
        );
        assert_eq!(ago("3 hrs ago"), Some(t - TimeDelta::hours(3)));
        assert_eq!(ago("Just now"), Some(t));
        assert_eq!(ago("TODAY"), Some(t));
        assert_eq!(ago("0 minutes ago"), Some(t));
    }

    #[test]
    fn unknown_text_is_none() {
        for text in [
            "",
            "ago",
            "minutes ago",
            "5 ago",
            "5 fortnights ago",
            "in 5 minutes",
            "5 minutes",
            "-5 minutes ago",
            "+5 minutes ago",
            "5.5 hours ago",
            "5 big hours ago",
            "2025-12-04",
            "tomorrow",
            "\u{e9}\u{e9} ago",
        ] {
            assert_eq!(ago(text), None, "{text:?}");
        }
    }

    #[test]
    fn huge_counts_are_none_not_a_panic() {
        assert_eq!(ago("18446744073709551615 years ago"), None);
        assert_eq!(ago("99999999999999999999999999 seconds ago"), None);
        assert_eq!(ago("9223372036854775807 seconds ago"), None);
        // Representable as a duration but not as a date.
        assert_eq!(ago("1000000000 years ago"), None);
        let far_past = DateTime::<Utc>::MIN_UTC;
        assert_eq!(parse_relative_time("1 second ago", far_past), None);
    }
}
