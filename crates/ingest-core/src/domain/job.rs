//! A sync job: one run of one source that may take several attempts, as
//! the queue stores it and the API shows it. Its id is the run id. The queue
//! itself (claims, leases, checkpoints) is the `JobQueue` port's.
//!
//! Architecture invariant: domain; imports only the domain below it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::report::SyncSummary;
use crate::domain::run::{MetadataMode, Stage, Trigger};
use crate::domain::track::RunId;

/// A job's id: the run id of the sync it performs.
pub type JobId = RunId;

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Queued or running: the source's one active job.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }

    /// Succeeded, failed or cancelled.
    pub fn is_final(self) -> bool {
        !self.is_active()
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            other => return Err(format!("unknown job status {other:?}")),
        })
    }
}

/// The options a job was requested with (the API body). Unset values take
/// the worker's configured defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRequest {
    #[serde(default = "default_metadata")]
    pub metadata: MetadataMode,
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub force: bool,
    /// Profile fields whose loss the drift guard accepts this run (`all`
    /// for every field); see `SyncOptions::accept_drift`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_drift: Vec<String>,
    /// A dry run (`SyncOptions::dry_run`): the report of what would change,
    /// nothing stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

fn default_metadata() -> MetadataMode {
    MetadataMode::Changed
}

impl Default for JobRequest {
    fn default() -> Self {
        Self {
            metadata: default_metadata(),
            concurrency: None,
            force: false,
            accept_drift: Vec::new(),
            dry_run: false,
        }
    }
}

/// Progress of a running job, as last written by its worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    pub stage: Stage,
    pub processed: u64,
    pub total: u64,
    /// Remaining seconds at the observed rate, when known.
    pub eta_seconds: Option<f64>,
}

impl Default for JobProgress {
    fn default() -> Self {
        Self {
            stage: Stage::Starting,
            processed: 0,
            total: 0,
            eta_seconds: None,
        }
    }
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: JobId,
    pub source: String,
    pub status: JobStatus,
    pub trigger: Trigger,
    pub request: JobRequest,
    /// Claims so far (a resumed or retried job keeps counting).
    pub attempts: u32,
    pub max_attempts: u32,
    /// Cancellation asked for; the worker stops at its next batch.
    pub cancel_requested: bool,
    pub progress: JobProgress,
    /// The last attempt's summary (counts, report file), once it finished.
    pub summary: Option<SyncSummary>,
    /// Why the job failed (or the last transient error while retrying).
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final status.
    pub completed_at: Option<DateTime<Utc>>,
    /// A queued job is not claimed before this (retry backoff).
    pub run_after: DateTime<Utc>,
    /// Worker holding the lease, while running.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Proof of a claim. Writes that carry a superseded token are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lease {
    pub job_id: JobId,
    /// The fencing token: strictly increasing with every claim of the job.
    pub token: i64,
}
