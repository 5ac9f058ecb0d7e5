//! Timestamps as SQLite stores them: TEXT in the fixed-width form
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds), so text order is time
//! order; the schema refuses any other shape.

use chrono::{DateTime, Utc};
use ingest_core::RepositoryError;

use crate::prepare::micros;
use crate::row;

/// A timestamp as stored: UTC, microseconds, fixed width.
pub(crate) fn encode_time(at: DateTime<Utc>) -> String {
    micros(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Read a stored timestamp back.
pub(crate) fn decode_time(col: &str, text: &str) -> Result<DateTime<Utc>, RepositoryError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| row::corrupt(col, format!("{text:?} is not a timestamp: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_sort_as_text() {
        let a = Utc
            .timestamp_opt(1_700_000_000, 5_000)
            .single()
            .expect("valid");
        let b = Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .expect("valid");
        let c = Utc.timestamp_opt(1_800_000_000, 0).single().expect("valid");
        let (ea, eb, ec) = (encode_time(a), encode_time(b), encode_time(c));
        assert_eq!(ea, "2023-11-14T22:13:20.000005Z");
        assert_eq!(eb, "2023-11-14T22:13:20.123456Z");
        assert_eq!(ec.len(), 27);
        assert!(ea < eb && eb < ec);
        assert_eq!(decode_time("x", &eb).expect("parses"), micros(b));
        assert!(decode_time("x", "yesterday").is_err());
    }
}
