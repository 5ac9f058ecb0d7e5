//! The metrics port. Live observations (latencies, in-flight) are reported as
//! they happen; the run's counters are handed over once, from the same
//! `RunReport` the report is rendered from, so the two never disagree.

use std::time::Duration;

use crate::domain::report::RunReport;

/// Receives a run's observations. Implementations must be cheap and never block.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SyncMetrics: Send + Sync {
    /// One dashboard request finished (`outcome`: `fetched`, `not_modified`, or an error class).
    fn dashboard_fetch(&self, latency: Duration, outcome: &str);
    /// One database batch committed (or failed).
    fn db_batch(&self, latency: Duration, ok: bool);
    /// Dashboards in flight right now.
    fn set_in_flight(&self, in_flight: u64);
    /// A run finished: its duration, outcome and counters.
    fn run_finished(&self, report: &RunReport);
}

/// Metrics that go nowhere (tests, one-off runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl SyncMetrics for NoMetrics {
    fn dashboard_fetch(&self, _latency: Duration, _outcome: &str) {}
    fn db_batch(&self, _latency: Duration, _ok: bool) {}
    fn set_in_flight(&self, _in_flight: u64) {}
    fn run_finished(&self, _report: &RunReport) {}
}
