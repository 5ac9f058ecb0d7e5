//! The job worker: claims queued sync jobs and runs them through the same
//! `TrackSyncService` as the CLI.
//!
//! One job at a time per worker; many workers may share one Postgres. While a
//! job runs, a companion task renews the lease (and learns of cancellation)
//! and writes progress to the job row at most once per `progress_interval`.
//! Every batch the service stores carries the job's checkpoint under the
//! lease, so a worker that dies loses at most the batch in hand; another
//! worker claims the job once the lease expires and fetches only what is
//! left. A worker whose lease was superseded writes nothing more: the
//! repository, the queue and the report writer all refuse it.
//!
//! Shutdown (`SIGTERM`): stop claiming, let the running job store the batch
//! in hand, then release the job back to the queue with its checkpoint.
//!
//! `ingest-cli sync` runs its own job through the same code
//! ([`Worker::run_claimed_with`], after [`JobQueue::start_claimed`]) with
//! [`OutcomePolicy::Final`]: a process that has no queue loop records every
//! end as final instead of handing the job back.
//!
//! The parts, one small module each:
//!
//! - `runner`: the claim loop (claim, wait for work, prune between jobs);
//! - `job`: one attempt of a claimed job, from its checkpoint to its outcome;
//! - `companion`: what runs beside the attempt (heartbeat, cancellation and
//!   shutdown forwarding, throttled progress);
//! - `sinks`: where the attempt's progress and report go (the job row, a
//!   display, the fenced report writer);
//! - `outcome`: how the end of an attempt is recorded ([`OutcomePolicy`]);
//! - `alerts`: the alerts a job's final state raises ([`AlertHook`]).

mod alerts;
mod companion;
mod job;
mod outcome;
mod runner;
mod sinks;

use std::sync::Arc;
use std::time::Duration;

use ingest_core::{
    Job, JobOutcome, JobQueue, ReportWriter, SyncOptions, SyncSummary, TrackSyncService,
};

pub use alerts::AlertHook;
pub use outcome::OutcomePolicy;

/// How a worker behaves.
/// How often a running job's progress is written: four times a second, so
/// the API and the admin page move by single dashboards (a write is one
/// fenced UPDATE of one row).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub worker_id: String,
    /// Lease taken on a claimed job.
    pub lease: Duration,
    /// How often the lease is renewed (a third of the lease by default).
    pub heartbeat: Duration,
    /// Poll interval when no notification arrives.
    pub poll_interval: Duration,
    /// Progress is written to the job row at most this often
    /// ([`PROGRESS_INTERVAL`] by default); a requested cancel is looked for
    /// every other interval (between 250 ms and 1 s).
    pub progress_interval: Duration,
    /// First retry delay after a transient failure; doubles per attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// False: no dashboards at all, whatever a job requests.
    pub dashboards_enabled: bool,
    /// Finished jobs older than this are deleted ([`JobQueue::prune`]);
    /// `None` keeps them.
    pub job_retention: Option<Duration>,
    /// How often to prune: once when the worker starts, then at this
    /// interval, between jobs.
    pub prune_interval: Duration,
}

impl WorkerConfig {
    /// The delay before retry number `attempt` (1-based): capped doubling.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        ingest_retry::Backoff::new(self.retry_base, self.retry_max).delay(attempt)
    }
}

/// A worker: the queue, the service, and how to turn a job's request into
/// run options.
pub struct Worker {
    jobs: Arc<dyn JobQueue>,
    service: Arc<TrackSyncService>,
    /// What a job asking for a dry run runs on (a store that writes
    /// nothing); without it such a job fails, saying so.
    dry_run_service: Option<Arc<TrackSyncService>>,
    report_writer: Arc<dyn ReportWriter>,
    /// Options from configuration; a job's request overrides mode,
    /// concurrency and force.
    base_options: SyncOptions,
    config: WorkerConfig,
    alerts: Option<AlertHook>,
    policy: OutcomePolicy,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What running one claimed job came to.
#[derive(Debug, Clone, PartialEq)]
pub enum JobRunResult {
    /// The outcome was recorded on the job.
    Recorded {
        outcome: Box<JobOutcome>,
        job: Box<Job>,
    },
    /// The lease passed to another worker; nothing was recorded.
    LeaseLost,
}

/// One attempt of a claimed job: what was recorded, and the run's summary
/// (absent when the run did not start, e.g. its checkpoint was unreadable).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub result: JobRunResult,
    pub summary: Option<SyncSummary>,
}

impl Worker {
    pub fn new(
        jobs: Arc<dyn JobQueue>,
        service: Arc<TrackSyncService>,
        report_writer: Arc<dyn ReportWriter>,
        base_options: SyncOptions,
        config: WorkerConfig,
        alerts: Option<AlertHook>,
    ) -> Self {
        Self {
            jobs,
            service,
            dry_run_service: None,
            report_writer,
            base_options,
            config,
            alerts,
            policy: OutcomePolicy::Queue,
        }
    }

    /// The same worker, running dry-run jobs on `service` (built over a
    /// store that writes nothing: `ingest_store::Store::dry_run_tracks`).
    #[must_use]
    pub fn with_dry_run_service(mut self, service: Arc<TrackSyncService>) -> Self {
        self.dry_run_service = Some(service);
        self
    }

    /// The same worker recording outcomes by `policy`.
    #[must_use]
    pub fn with_policy(mut self, policy: OutcomePolicy) -> Self {
        self.policy = policy;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_caps() {
        let c = WorkerConfig {
            worker_id: "w".into(),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_secs(5),
            progress_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(100),
            dashboards_enabled: true,
            job_retention: None,
            prune_interval: Duration::from_secs(3600),
        };
        assert_eq!(c.retry_delay(1), Duration::from_secs(30));
        assert_eq!(c.retry_delay(2), Duration::from_secs(60));
        assert_eq!(c.retry_delay(3), Duration::from_secs(100));
        assert_eq!(c.retry_delay(40), Duration::from_secs(100));
    }
}
