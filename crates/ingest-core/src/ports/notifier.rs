//! Alerts to operators: a job failed, the guard refused a deactivation, a run
//! exceeded its SLA. Adapters (crate `ingest-alerts`: webhooks) retry on
//! their own and never fail or block the sync: callers fire and forget.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::track::RunId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A run (or a job, after its last attempt) failed.
    JobFailed,
    /// The deactivation guard refused to deactivate missing tracks.
    GuardRefused,
    /// A run took longer than `MRE_TRACK_SYNC_SLA_SECONDS`.
    SlaBreached,
    /// The markup-drift guard held fields: the page probably changed shape.
    DriftSuspected,
    /// One field's values changed for a large share of the tracks (applied).
    MassChange,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::JobFailed => "job_failed",
            AlertKind::GuardRefused => "guard_refused",
            AlertKind::SlaBreached => "sla_breached",
            AlertKind::DriftSuspected => "drift_suspected",
            AlertKind::MassChange => "mass_change",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub kind: AlertKind,
    pub run_id: RunId,
    pub source: String,
    /// `api`, `cron` or `cli`.
    pub trigger: String,
    /// One line for humans, e.g. "track sync failed: catalogue: HTTP 503".
    pub summary: String,
    /// Longer detail (error text, guard figures), when any.
    pub detail: Option<String>,
    pub duration_seconds: f64,
    /// Where the run report can be read, when known.
    pub report_url: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// Why an alert could not be delivered (after the adapter's own retries).
#[derive(Debug, thiserror::Error)]
#[error("alert not delivered: {0}")]
pub struct NotifyError(pub String);

/// Delivers alerts.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Deliver one alert, retrying as the adapter sees fit. Callers spawn
    /// this and only log an error.
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError>;
}
