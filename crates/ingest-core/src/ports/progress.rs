//! Progress of a running sync, pushed to whoever watches (a progress bar, a
//! job row). Sinks throttle as they need: the service reports every track.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::run::Stage;

/// A progress sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub stage: Stage,
    /// Tracks whose batch has been stored.
    pub processed: u64,
    /// Tracks in the catalogue (0 before it is read).
    pub total: u64,
    /// Dashboards that failed so far.
    pub failures: u64,
    pub elapsed: Duration,
    /// Tracks per second over the dashboards stage so far.
    pub rate_per_second: f64,
    /// Remaining time at the observed rate.
    pub eta: Option<Duration>,
}

/// Receives progress samples. Must not block.
pub trait ProgressSink: Send + Sync {
    fn update(&self, progress: &Progress);
}

/// A sink that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn update(&self, _progress: &Progress) {}
}
