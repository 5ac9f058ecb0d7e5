//! The durable sync-job queue: what the API enqueues, what workers claim.
//!
//! A job is one sync run of one source that may take several attempts. Its id
//! is the run id: the report, the `track_changes` rows and every attempt share
//! it, so "one report covers every attempt".
//!
//! Mechanics every implementation keeps (checked by the store's contract
//! tests):
//! - lifecycle `queued → running → succeeded | failed | cancelled`; a failed
//!   or cancelled job may be resumed (back to `queued`, same id);
//! - at most one `queued` or `running` job per source (a partial unique
//!   index), so a second enqueue answers [`JobError::Active`];
//! - a claim takes the oldest due job (`FOR UPDATE SKIP LOCKED` on Postgres),
//!   or a running job whose lease expired, sets a lease and hands out a new
//!   fencing token ([`Lease::token`], strictly increasing per job); every
//!   write a worker makes afterwards (heartbeat, progress, checkpoint, finish)
//!   carries the token and is refused with [`JobError::LeaseLost`] once
//!   another claim has superseded it;
//! - the checkpoint (tracks done and stored, plus the service's opaque
//!   accumulated state) is written by the track repository in the same
//!   transaction as each batch ([`crate::ports::repository::BatchCheckpoint`]);
//! - lease times come from the database clock, so workers on several
//!   machines agree on expiry.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::job::{Job, JobId, JobProgress, JobRequest, JobStatus, Lease};
use crate::domain::report::SyncSummary;
use crate::domain::run::Trigger;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub source: String,
    pub trigger: Trigger,
    pub request: JobRequest,
    /// Attempts before a transiently failing job is marked failed (≥ 1).
    pub max_attempts: u32,
}

/// A claimed job and its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: Job,
    pub lease: Lease,
}

/// What a heartbeat learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub cancel_requested: bool,
}

/// The checkpoint of a job: tracks whose batches are stored, and the
/// service's accumulated state (opaque to the queue) as of the last batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub done_slugs: Vec<String>,
    pub state: Option<serde_json::Value>,
}

/// How an attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobOutcome {
    /// Final: `Succeeded`, `Failed` or `Cancelled`. The checkpoint stays, so a
    /// failed or cancelled job can be resumed.
    Finished {
        status: JobStatus,
        summary: Option<SyncSummary>,
        error: Option<String>,
    },
    /// A transient failure: back to `queued`, not claimed before `after`.
    Retry {
        after: Duration,
        summary: Option<SyncSummary>,
        error: String,
    },
    /// The worker is shutting down: back to `queued` at once, the attempt
    /// not counted against `max_attempts`.
    Released,
}

/// The queue's jobs by state, for monitoring: what is waiting, what is
/// backing off, what runs, and how long the longest waiter has waited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    /// Queued and due: waiting for a worker to claim them.
    pub queued: u64,
    /// Queued, not due yet: backing off after a transient failure.
    pub retrying: u64,
    /// Held by a worker (leases expired or not).
    pub running: u64,
    /// How long the longest-waiting due job has been due (`None` when
    /// nothing is due). A healthy queue keeps this near zero.
    pub oldest_due_age: Option<Duration>,
}

/// Why a queue call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error("job {0} not found")]
    NotFound(JobId),
    /// The source already has a queued or running job.
    #[error("a sync job for this source is already {status}: {job_id}")]
    Active { job_id: JobId, status: JobStatus },
    /// The job is not in a state that allows the call (e.g. resuming a
    /// succeeded job).
    #[error("job {job_id} is {status}: {message}")]
    InvalidState {
        job_id: JobId,
        status: JobStatus,
        message: String,
    },
    /// Another claim superseded this lease: the caller must stop writing.
    #[error("lease on job {0} lost to another worker")]
    LeaseLost(JobId),
    #[error("job store unavailable: {0}")]
    Unavailable(String),
    #[error("job store failed: {0}")]
    Store(String),
}

/// The job queue, as API and workers see it.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueue a job; [`JobError::Active`] if the source already has a queued
    /// or running one. Wakes idle workers.
    async fn enqueue(&self, job: &NewJob) -> Result<Job, JobError>;

    /// Start a run of `job.source` that the caller runs itself (`ingest-cli
    /// sync`): in one transaction, insert the job already `running`, leased
    /// to `owner` for `lease_for` (attempt 1, a fresh fencing token), so no
    /// worker can claim it first. If the source's active job is running and
    /// its lease has expired (its holder crashed), that job is taken over
    /// instead, exactly as [`claim`](Self::claim) would (same id, its own
    /// request and checkpoint, or marked failed when its attempts are spent
    /// and a new job started). Any other active job, queued or running under
    /// a live lease: [`JobError::Active`]. Wakes no worker: there is
    /// nothing for one to claim.
    ///
    /// The default refuses, for queues (test doubles) that cannot do this
    /// atomically; both stores implement it.
    async fn start_claimed(
        &self,
        job: &NewJob,
        owner: &str,
        lease_for: Duration,
    ) -> Result<ClaimedJob, JobError> {
        let _ = (owner, lease_for);
        Err(JobError::Store(format!(
            "this job queue cannot start a claimed job for source {}",
            job.source
        )))
    }

    /// Claim the oldest due queued job, or a running one whose lease expired,
    /// for `lease_for`. Increments `attempts` and the fencing token. A job
    /// whose lease expired after its last allowed attempt is marked failed
    /// instead of claimed.
    async fn claim(
        &self,
        worker: &str,
        lease_for: Duration,
    ) -> Result<Option<ClaimedJob>, JobError>;

    /// Extend the lease; reports whether cancellation was requested.
    async fn heartbeat(&self, lease: &Lease, lease_for: Duration) -> Result<Heartbeat, JobError>;

    /// Store the latest progress sample.
    async fn report_progress(&self, lease: &Lease, progress: &JobProgress) -> Result<(), JobError>;

    /// End the attempt (see [`JobOutcome`]) and release the lease. A job
    /// that succeeded cannot be resumed, so its checkpoint (done set and
    /// carried state) is dropped in the same transaction.
    async fn finish(&self, lease: &Lease, outcome: &JobOutcome) -> Result<Job, JobError>;

    /// The job's checkpoint (empty for a fresh job).
    async fn checkpoint(&self, job_id: JobId) -> Result<Checkpoint, JobError>;

    async fn get(&self, job_id: JobId) -> Result<Option<Job>, JobError>;

    /// Newest first.
    async fn list(&self, limit: u32) -> Result<Vec<Job>, JobError>;

    /// Cancel: a queued job is cancelled at once; a running one gets the
    /// flag its worker sees at the next heartbeat. Final jobs:
    /// [`JobError::InvalidState`].
    async fn request_cancel(&self, job_id: JobId) -> Result<Job, JobError>;

    /// Put a failed or cancelled job back in the queue under the same id
    /// (checkpoint kept; `attempts` keeps counting, the retry budget of
    /// `max_attempts` starts again from here). [`JobError::Active`] if the
    /// source has another active job; [`JobError::InvalidState`] otherwise.
    async fn resume(&self, job_id: JobId) -> Result<Job, JobError>;

    /// Delete the final jobs (succeeded, failed, cancelled) completed more
    /// than `older_than` ago, with their checkpoints; queued and running
    /// jobs are never touched. Returns how many were deleted. Run reports
    /// live in the report archive and are not affected.
    async fn prune(&self, older_than: Duration) -> Result<u64, JobError>;

    /// The queue as monitoring sees it, by the database clock (see
    /// [`QueueStats`]).
    async fn stats(&self) -> Result<QueueStats, JobError>;

    /// Wait until work may be available or `timeout` passes (LISTEN/NOTIFY on
    /// Postgres, in-process notification on SQLite). Never errors: the worker
    /// polls anyway.
    async fn wait_for_work(&self, timeout: Duration);
}
