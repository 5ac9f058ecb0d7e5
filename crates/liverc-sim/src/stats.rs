//! What the simulator saw: requests by path class and status, the most
//! requests in flight at once, the shortest gap between request starts,
//! faults served by kind. Admin (`/__sim/*`) requests are counted apart and
//! never in the crawl figures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::Fault;

/// Which kind of crawl path a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathClass {
    /// `/`.
    Catalogue,
    /// `/t/{slug}/`.
    Dashboard,
    /// `/robots.txt` (and `/t/{slug}/robots.txt`).
    Robots,
    /// Anything else outside `/__sim/` (answered 404).
    Other,
}

/// Requests of one path class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassStats {
    /// Requests started.
    pub total: u64,
    /// Requests finished, by HTTP status. A request whose client went away
    /// before it was answered counts as 499.
    pub by_status: BTreeMap<u16, u64>,
}

impl ClassStats {
    /// Requests answered with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// Faults served, by kind (JSON keys are the fault names: `"500"`, `"hang"`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// HTTP 500 served.
    #[serde(rename = "500")]
    pub internal_server_error: u64,
    /// HTTP 503 served.
    #[serde(rename = "503")]
    pub service_unavailable: u64,
    /// HTTP 429 served.
    #[serde(rename = "429")]
    pub too_many_requests: u64,
    /// One-off 404 served for an existing track.
    #[serde(rename = "404")]
    pub not_found: u64,
    /// Hangs started.
    pub hang: u64,
    /// Truncated bodies started.
    pub truncate: u64,
    /// Malformed pages served.
    pub malformed: u64,
}

impl FaultCounts {
    /// Count of one kind.
    pub fn get(&self, fault: Fault) -> u64 {
        match fault {
            Fault::InternalServerError => self.internal_server_error,
            Fault::ServiceUnavailable => self.service_unavailable,
            Fault::TooManyRequests => self.too_many_requests,
            Fault::NotFound => self.not_found,
            Fault::Hang => self.hang,
            Fault::Truncate => self.truncate,
            Fault::Malformed => self.malformed,
        }
    }

    fn slot(&mut self, fault: Fault) -> &mut u64 {
        match fault {
            Fault::InternalServerError => &mut self.internal_server_error,
            Fault::ServiceUnavailable => &mut self.service_unavailable,
            Fault::TooManyRequests => &mut self.too_many_requests,
            Fault::NotFound => &mut self.not_found,
            Fault::Hang => &mut self.hang,
            Fault::Truncate => &mut self.truncate,
            Fault::Malformed => &mut self.malformed,
        }
    }

    /// All faults served.
    pub fn total(&self) -> u64 {
        Fault::ALL.into_iter().map(|f| self.get(f)).sum()
    }

    /// 500 + 503 + 429: the answers a polite client retries.
    pub fn retryable_statuses(&self) -> u64 {
        self.internal_server_error + self.service_unavailable + self.too_many_requests
    }
}

/// A snapshot of what the simulator saw since it started or since the last
/// reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// Crawl requests started (every class below; admin requests excluded).
    pub total: u64,
    /// `/` requests.
    pub catalogue: ClassStats,
    /// `/t/{slug}/` requests.
    pub dashboard: ClassStats,
    /// robots.txt requests.
    pub robots: ClassStats,
    /// Other crawl requests.
    pub other: ClassStats,
    /// Crawl requests being answered right now.
    pub in_flight: u64,
    /// The most crawl requests ever answered at once.
    pub max_in_flight: u64,
    /// The shortest gap between two consecutive crawl request starts
    /// (`None` before the second request). JSON: `min_start_gap_us`.
    #[serde(rename = "min_start_gap_us", with = "opt_duration_us")]
    pub min_start_gap: Option<Duration>,
    /// Faults served, by kind.
    pub faults: FaultCounts,
    /// `/__sim/*` requests (not part of any figure above).
    pub admin_requests: u64,
}

impl SimStats {
    /// The class's counters.
    pub fn class(&self, class: PathClass) -> &ClassStats {
        match class {
            PathClass::Catalogue => &self.catalogue,
            PathClass::Dashboard => &self.dashboard,
            PathClass::Robots => &self.robots,
            PathClass::Other => &self.other,
        }
    }
}

mod opt_duration_us {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|us| us.map(Duration::from_micros))
    }
}

#[derive(Debug, Default)]
struct Counters {
    snapshot: SimStats,
    last_start: Option<Instant>,
}

/// The live counters behind [`SimStats`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: Mutex<Counters>,
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        f(&mut self.counters.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts a crawl request's start; the guard counts its end.
    pub(crate) fn begin(self: &Arc<Self>, class: PathClass) -> RequestGuard {
        let now = Instant::now();
        self.with(|c| {
            let s = &mut c.snapshot;
            s.total += 1;
            class_mut(s, class).total += 1;
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            if let Some(last) = c.last_start {
                let gap = now.saturating_duration_since(last);
                s.min_start_gap = Some(s.min_start_gap.map_or(gap, |m| m.min(gap)));
            }
            c.last_start = Some(now);
        });
        RequestGuard {
            stats: Arc::clone(self),
            class,
            status: None,
        }
    }

    /// Counts a fault served.
    pub(crate) fn fault(&self, fault: Fault) {
        self.with(|c| *c.snapshot.faults.slot(fault) += 1);
    }

    /// Counts an admin request.
    pub(crate) fn admin(&self) {
        self.with(|c| c.snapshot.admin_requests += 1);
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        self.with(|c| c.snapshot.clone())
    }

    /// Zeroes every figure; requests in flight stay counted as in flight.
    pub(crate) fn reset(&self) {
        self.with(|c| {
            let in_flight = c.snapshot.in_flight;
            c.snapshot = SimStats {
                in_flight,
                max_in_flight: in_flight,
                ..SimStats::default()
            };
            c.last_start = None;
        });
    }
}

fn class_mut(s: &mut SimStats, class: PathClass) -> &mut ClassStats {
    match class {
        PathClass::Catalogue => &mut s.catalogue,
        PathClass::Dashboard => &mut s.dashboard,
        PathClass::Robots => &mut s.robots,
        PathClass::Other => &mut s.other,
    }
}

/// Counts a crawl request's end (status and in-flight) when dropped.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    stats: Arc<Stats>,
    class: PathClass,
    status: Option<u16>,
}

impl RequestGuard {
    /// Records the status the request is answered with.
    pub(crate) fn answered(&mut self, status: u16) {
        self.status = Some(status);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let status = self.status.unwrap_or(499);
        let class = self.class;
        self.stats.with(|c| {
            let s = &mut c.snapshot;
            s.in_flight = s.in_flight.saturating_sub(1);
            *class_mut(s, class).by_status.entry(status).or_default() += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_flight_gaps_and_statuses() {
        let stats = Arc::new(Stats::default());
        let mut a = stats.begin(PathClass::Dashboard);
        let b = stats.begin(PathClass::Catalogue);
        a.answered(200);
        drop(a);
        drop(b);
        stats.fault(Fault::TooManyRequests);
        stats.admin();
        let s = stats.snapshot();
        assert_eq!(s.total, 2);
        assert_eq!(s.max_in_flight, 2);
        assert_eq!(s.in_flight, 0);
        assert_eq!(s.dashboard.status(200), 1);
        assert_eq!(s.catalogue.status(499), 1);
        assert!(s.min_start_gap.is_some());
        assert_eq!(s.faults.retryable_statuses(), 1);
        assert_eq!(s.admin_requests, 1);
        stats.reset();
        assert_eq!(stats.snapshot(), SimStats::default());
    }

    #[test]
    fn json_shape() {
        let mut s = SimStats::default();
        s.dashboard.by_status.insert(304, 2);
        s.faults.hang = 1;
        s.min_start_gap = Some(Duration::from_micros(1500));
        let json = serde_json::to_value(&s).expect("serialise");
        assert_eq!(json["dashboard"]["by_status"]["304"], 2);
        assert_eq!(json["faults"]["hang"], 1);
        assert_eq!(json["min_start_gap_us"], 1500);
        let back: SimStats = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, s);
    }
}
