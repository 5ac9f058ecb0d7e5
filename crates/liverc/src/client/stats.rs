//! Cumulative counters of what the client did, kept in atomics so that
//! [`LiveRcClient::stats`](crate::LiveRcClient::stats) is a cheap snapshot
//! callable from anywhere (a metrics exporter, a run report) at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A snapshot of the client's counters, cumulative since the client was
/// built (shared by all its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    /// HTTP requests sent: every attempt, every redirect hop, robots.txt
    /// fetches included.
    pub requests: u64,
    /// Attempts that were re-sends of an earlier failed attempt (so a fetch
    /// that succeeded on its third attempt adds 2).
    pub retries: u64,
    /// Responses with status 429 Too Many Requests.
    pub responses_429: u64,
    /// Responses with a 5xx status.
    pub server_errors: u64,
    /// Attempts that hit the connect or whole-response timeout.
    pub timeouts: u64,
    /// Responses with status 304 Not Modified.
    pub not_modified: u64,
    /// How long the site was paused because of `Retry-After` headers (after
    /// the `max_retry_after` cap). Overlapping pauses count once: this is
    /// wall time during which no request could start, not a sum over the
    /// requests that waited.
    pub retry_after_wait: Duration,
    /// robots.txt fetches (each also counted in `requests`).
    pub robots_fetches: u64,
    /// Body bytes received (after content decoding), robots.txt included.
    pub bytes_received: u64,
    /// Every answer (each attempt and redirect hop, robots.txt included), by
    /// HTTP status class.
    pub responses: ResponseClasses,
}

/// Answers counted by HTTP status, in the classes an operator tells apart:
/// the ones that need a different reaction each (a 404 is a track gone, a
/// 429 a site asking us to slow down, a 5xx a site in trouble). Transport
/// failures (refused, timed out) are not answers and are not here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseClasses {
    /// 2xx.
    pub success: u64,
    /// 304 Not Modified.
    pub not_modified: u64,
    /// Other 1xx and 3xx (redirects).
    pub redirect: u64,
    /// 404 Not Found.
    pub not_found: u64,
    /// 410 Gone.
    pub gone: u64,
    /// 429 Too Many Requests.
    pub too_many_requests: u64,
    /// Other 4xx.
    pub client_error: u64,
    /// 5xx.
    pub server_error: u64,
}

impl ResponseClasses {
    /// The class labels, in the order of [`ResponseClasses::labelled`]: the
    /// exact status where the class is one status, else `NXX`.
    pub const LABELS: [&'static str; 8] = ["2xx", "304", "3xx", "404", "410", "429", "4xx", "5xx"];

    /// `(label, count)` for every class, in [`ResponseClasses::LABELS`] order.
    pub fn labelled(&self) -> [(&'static str, u64); 8] {
        let counts = [
            self.success,
            self.not_modified,
            self.redirect,
            self.not_found,
            self.gone,
            self.too_many_requests,
            self.client_error,
            self.server_error,
        ];
        std::array::from_fn(|i| (Self::LABELS[i], counts[i]))
    }
}

/// Index of `status`'s class in [`ResponseClasses::LABELS`].
fn class_index(status: u16) -> usize {
    match status {
        200..=299 => 0,
        304 => 1,
        404 => 3,
        410 => 4,
        429 => 5,
        400..=499 => 6,
        500..=599 => 7,
        _ => 2,
    }
}

/// The live atomics behind [`ClientStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) responses_429: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) not_modified: AtomicU64,
    pub(crate) retry_after_wait_micros: AtomicU64,
    pub(crate) robots_fetches: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    /// By [`class_index`].
    responses: [AtomicU64; 8],
}

impl Counters {
    /// Add one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Add `n` to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Count an answer with this HTTP status.
    pub(crate) fn response(&self, status: u16) {
        Self::bump(&self.responses[class_index(status)]);
    }

    /// Record a site-wide pause imposed by `Retry-After`.
    pub(crate) fn add_retry_after_wait(&self, wait: Duration) {
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        self.retry_after_wait_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// A consistent-enough snapshot (each counter read atomically).
    pub(crate) fn snapshot(&self) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            responses_429: self.responses_429.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            retry_after_wait: Duration::from_micros(
                self.retry_after_wait_micros.load(Ordering::Relaxed),
            ),
            robots_fetches: self.robots_fetches.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            responses: {
                let n = |i: usize| self.responses[i].load(Ordering::Relaxed);
                ResponseClasses {
                    success: n(0),
                    not_modified: n(1),
                    redirect: n(2),
                    not_found: n(3),
                    gone: n(4),
                    too_many_requests: n(5),
                    client_error: n(6),
                    server_error: n(7),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_counters() {
        let c = Counters::default();
        Counters::bump(&c.requests);
        Counters::bump(&c.requests);
        Counters::bump(&c.retries);
        Counters::add(&c.bytes_received, 1234);
        c.add_retry_after_wait(Duration::from_millis(1500));
        c.add_retry_after_wait(Duration::from_millis(500));
        let s = c.snapshot();
        assert_eq!(s.requests, 2);
        assert_eq!(s.retries, 1);
        assert_eq!(s.bytes_received, 1234);
        assert_eq!(s.retry_after_wait, Duration::from_secs(2));
        assert_eq!(s.timeouts, 0);
    }

    #[test]
    fn answers_are_counted_by_class() {
        let c = Counters::default();
        for status in [200, 204, 304, 301, 404, 410, 429, 429, 403, 500, 503, 101] {
            c.response(status);
        }
        let r = c.snapshot().responses;
        assert_eq!(
            r.labelled(),
            [
                ("2xx", 2),
                ("304", 1),
                ("3xx", 2),
                ("404", 1),
                ("410", 1),
                ("429", 2),
                ("4xx", 1),
                ("5xx", 2),
            ]
        );
    }
}
