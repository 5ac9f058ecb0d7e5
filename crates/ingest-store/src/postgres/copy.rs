//! PostgreSQL's binary `COPY … FROM STDIN (FORMAT binary)` stream, written
//! by hand (no dependency): a fixed header, then per row a field count and
//! each field as a length-prefixed value in the type's binary send format
//! (big-endian), then a trailer. The repository uses it to load a batch's new
//! tracks straight into `tracks`, which skips the per-row conflict
//! arbitration of `INSERT … ON CONFLICT` and the server's decoding of one
//! array parameter per column.
//!
//! Only the types the `tracks` columns use are encoded: `text`, `bool`,
//! `int8`, `float8` and `timestamptz` (microseconds since 2000-01-01 UTC, the
//! server's integer-datetimes format). The server checks every value as it
//! would a bound parameter (UTF-8, no NUL in text), and any CHECK or NOT NULL
//! constraint refuses the whole COPY.

use chrono::{DateTime, Utc};

/// The 11-byte signature, then the flags field (no OIDs) and the header
/// extension length (none).
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// A field count of -1 ends the stream.
const TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// A field's length of -1 is SQL NULL (and no value bytes follow).
const NULL: [u8; 4] = (-1i32).to_be_bytes();

/// Microseconds from the Unix epoch to the PostgreSQL epoch (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Encoded rows waiting to be sent. Rows are appended one at a time; the
/// bytes can be sent in chunks ([`pending`](Self::pending), then
/// [`clear`](Self::clear)) while rows keep coming, so the server parses the
/// first part while the rest is encoded.
#[derive(Debug)]
pub(crate) struct CopyEncoder {
    buf: Vec<u8>,
    /// Fields each row must have.
    fields: usize,
    /// Fields written to the current row so far.
    written: usize,
}

impl CopyEncoder {
    /// A stream of rows of `fields` columns each, starting with the header.
    pub(crate) fn new(fields: usize, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(HEADER.len()));
        buf.extend_from_slice(HEADER);
        CopyEncoder {
            buf,
            fields,
            written: fields,
        }
    }

    /// Start a row. The previous row must be complete.
    pub(crate) fn row(&mut self) {
        debug_assert_eq!(self.written, self.fields, "previous row is incomplete");
        let count = i16::try_from(self.fields).expect("a COPY row has at most 1,600 columns");
        self.buf.extend_from_slice(&count.to_be_bytes());
        self.written = 0;
    }

    /// The bytes encoded since the last [`clear`](Self::clear) (whole rows
    /// or not: the server reassembles the stream).
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Forget the pending bytes (they were sent), keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }

    /// End the stream with the trailer; send [`pending`](Self::pending)
    /// last.
    pub(crate) fn finish(&mut self) {
        debug_assert_eq!(self.written, self.fields, "last row is incomplete");
        self.buf.extend_from_slice(&TRAILER);
    }

    fn value(&mut self, bytes: &[u8]) {
        // A field is at most 1 GB on the server; a longer one cannot be sent
        // in any format, and a batch's values come from parsed web pages.
        let len = i32::try_from(bytes.len()).expect("a field fits in 1 GB");
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self.written += 1;
    }

    pub(crate) fn null(&mut self) {
        self.buf.extend_from_slice(&NULL);
        self.written += 1;
    }

    pub(crate) fn text(&mut self, value: &str) {
        self.value(value.as_bytes());
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.value(&[u8::from(value)]);
    }

    pub(crate) fn opt_i64(&mut self, value: Option<i64>) {
        match value {
            Some(v) => self.value(&v.to_be_bytes()),
            None => self.null(),
        }
    }

    pub(crate) fn opt_f64(&mut self, value: Option<f64>) {
        match value {
            Some(v) => self.value(&v.to_be_bytes()),
            None => self.null(),
        }
    }

    /// A `timestamptz`, cut to the microsecond the server stores.
    pub(crate) fn time(&mut self, value: DateTime<Utc>) {
        let micros = value.timestamp_micros() - PG_EPOCH_MICROS;
        self.value(&micros.to_be_bytes());
    }

    pub(crate) fn opt_time(&mut self, value: Option<DateTime<Utc>>) {
        match value {
            Some(v) => self.time(v),
            None => self.null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn header_rows_and_trailer_follow_the_format() {
        let mut enc = CopyEncoder::new(7, 0);
        enc.row();
        enc.text("ab");
        enc.null();
        enc.bool(true);
        enc.opt_i64(Some(-2));
        enc.opt_f64(Some(1.5));
        enc.time(
            Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1)
                .single()
                .expect("valid"),
        );
        enc.opt_text(None);
        enc.finish();
        let bytes = enc.pending();

        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0, 0, 0, 1, 1]);
        expected.extend_from_slice(&[0, 0, 0, 8]);
        expected.extend_from_slice(&(-2i64).to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 8]);
        expected.extend_from_slice(&1.5f64.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 8]);
        expected.extend_from_slice(&1_000_000i64.to_be_bytes());
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, &expected[..]);
    }

    #[test]
    fn sending_in_chunks_keeps_the_stream_whole() {
        let mut enc = CopyEncoder::new(1, 0);
        let mut sent = Vec::new();
        for word in ["x", "yy", "zzz"] {
            enc.row();
            enc.text(word);
            sent.extend_from_slice(enc.pending());
            enc.clear();
            assert!(enc.pending().is_empty());
        }
        enc.finish();
        sent.extend_from_slice(enc.pending());

        let mut whole = CopyEncoder::new(1, 0);
        for word in ["x", "yy", "zzz"] {
            whole.row();
            whole.text(word);
        }
        whole.finish();
        assert_eq!(sent, whole.pending());
    }

    #[test]
    fn times_before_2000_are_negative() {
        let mut enc = CopyEncoder::new(1, 0);
        enc.row();
        enc.time(
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59)
                .single()
                .expect("valid"),
        );
        enc.finish();
        let bytes = enc.pending();
        let field = &bytes[HEADER.len() + 2 + 4..HEADER.len() + 2 + 4 + 8];
        assert_eq!(
            i64::from_be_bytes(field.try_into().expect("8 bytes")),
            -1_000_000
        );
    }
}
