//! A sync run in the foreground of its own process (`ingest-cli sync` and
//! `demo`), held like a worker's job so that one source has one writer
//! whatever started it.
//!
//! The run starts as a job of its own, inserted already running under this
//! process's lease ([`JobQueue::start_claimed`]): the partial unique index
//! (one queued or running job per source) refuses it while any other run of
//! the source is queued or running, and no worker can claim it first. It
//! then runs through the worker's own code ([`Worker::run_claimed_with`]):
//! the companion renews the lease and writes progress, every batch carries
//! the lease's fencing token and the checkpoint, and the outcome is recorded
//! on the job, all of it final ([`OutcomePolicy::Final`]).
//!
//! A process killed without a chance to clean up leaves its job running
//! under a lease that nobody renews. Once it expires, the next holder takes
//! the job over and resumes it from its checkpoint, under the same run id:
//! a worker at its next claim, or the next foreground run, which finds the
//! expired job in its way and continues it instead of starting a new one.

use std::sync::Arc;
use std::time::Duration;

use ingest_core::{
    ClaimedJob, Job, JobError, JobQueue, JobRequest, NewJob, ProgressSink, SyncOptions,
};
use tokio_util::sync::CancellationToken;

use crate::config::{RunClaimSettings, default_worker_id};
use crate::wiring::SyncApp;
use crate::worker::{Attempt, OutcomePolicy, Worker, WorkerConfig};

/// How a foreground run holds its job.
#[derive(Debug, Clone)]
pub struct ForegroundClaim {
    /// The lease owner written on the job (`cli-host-pid`).
    pub owner: String,
    pub lease: Duration,
    /// The job's attempt budget (a take-over after a crash is an attempt).
    pub max_attempts: u32,
    /// False: no dashboards, whatever a taken-over job requested.
    pub dashboards_enabled: bool,
}

impl ForegroundClaim {
    /// The claim of a run in this process: its lease, and the name it holds
    /// the job under (`cli-` host and process id, shown to a second run that
    /// is refused).
    pub fn new(settings: &RunClaimSettings, dashboards_enabled: bool) -> Self {
        Self {
            owner: format!("cli-{}", default_worker_id()),
            lease: Duration::from_secs(settings.lease_seconds.max(2)),
            max_attempts: settings.max_attempts.max(1),
            dashboards_enabled,
        }
    }
}

/// What a foreground run came to.
#[derive(Debug)]
pub enum Foreground {
    /// The run took its job and ran one attempt of it.
    Ran {
        /// The job as claimed: a new one, or one taken over (then
        /// `attempts > 1`, and it keeps its trigger, request and id).
        claimed: Box<Job>,
        attempt: Box<Attempt>,
    },
    /// Another run of the source is queued or running: nothing started.
    Busy(Box<Job>),
}

/// Start `options`' run as a job held by this process and run it, showing
/// progress on `display`; `shutdown` cancelled stops it after the batch
/// in hand (recorded `cancelled`). The run's alerts are left to the caller,
/// who can wait for their delivery before exiting.
pub async fn run_in_foreground(
    app: &SyncApp,
    options: &SyncOptions,
    claim: &ForegroundClaim,
    display: Arc<dyn ProgressSink>,
    shutdown: CancellationToken,
) -> Result<Foreground, JobError> {
    let new = NewJob {
        source: options.source.clone(),
        trigger: options.trigger,
        request: JobRequest {
            metadata: options.metadata,
            concurrency: Some(options.concurrency),
            force: options.force,
            accept_drift: options.accept_drift.clone(),
            dry_run: options.dry_run,
        },
        max_attempts: claim.max_attempts.max(1),
    };
    let claimed = match start(app.jobs.as_ref(), &new, claim).await? {
        Ok(claimed) => claimed,
        Err(active) => return Ok(Foreground::Busy(Box::new(active))),
    };
    if claimed.job.attempts > 1 {
        tracing::warn!(
            job_id = %claimed.job.id,
            trigger = claimed.job.trigger.as_str(),
            attempt = claimed.job.attempts,
            "took over a run whose holder stopped renewing its lease: resuming it from its checkpoint"
        );
    }
    let worker = Worker::new(
        app.jobs.clone(),
        app.service.clone(),
        app.report_writer.clone(),
        options.clone(),
        worker_config(claim),
        None,
    )
    .with_policy(OutcomePolicy::Final);
    let job = claimed.job.clone();
    let attempt = worker
        .run_claimed_with(claimed, shutdown, Some(display))
        .await;
    Ok(Foreground::Ran {
        claimed: Box::new(job),
        attempt: Box::new(attempt),
    })
}

/// The claimed job, or the active one in the way. An active job that is
/// gone by the time it is read (it finished in between) is tried again.
async fn start(
    jobs: &dyn JobQueue,
    new: &NewJob,
    claim: &ForegroundClaim,
) -> Result<Result<ClaimedJob, Job>, JobError> {
    let mut last = None;
    for _ in 0..3 {
        match jobs.start_claimed(new, &claim.owner, claim.lease).await {
            Ok(claimed) => return Ok(Ok(claimed)),
            Err(JobError::Active { job_id, .. }) => match jobs.get(job_id).await? {
                Some(active) if active.status.is_active() => return Ok(Err(active)),
                _ => last = Some(job_id),
            },
            Err(e) => return Err(e),
        }
    }
    Err(JobError::Store(format!(
        "the source's active run kept changing (last {})",
        last.map_or_else(|| "unknown".to_owned(), |id| id.to_string())
    )))
}

/// The worker configuration of a foreground run: no polling, pruning or
/// retries (every outcome is final), the lease renewed every third of it.
fn worker_config(claim: &ForegroundClaim) -> WorkerConfig {
    WorkerConfig {
        worker_id: claim.owner.clone(),
        lease: claim.lease,
        heartbeat: claim.lease / 3,
        poll_interval: claim.lease,
        progress_interval: crate::worker::PROGRESS_INTERVAL,
        retry_base: Duration::ZERO,
        retry_max: Duration::ZERO,
        dashboards_enabled: claim.dashboards_enabled,
        job_retention: None,
        prune_interval: claim.lease,
    }
}

/// One line naming the run in the way: its id, status, trigger, since when
/// and who holds it.
pub fn describe_active(job: &Job) -> String {
    let since = match job.started_at {
        Some(at) => format!("started {}", at.to_rfc3339()),
        None => format!("queued {}", job.created_at.to_rfc3339()),
    };
    let holder = match (&job.lease_owner, job.lease_expires_at) {
        (Some(owner), Some(until)) => {
            format!(", held by {owner} (lease until {})", until.to_rfc3339())
        }
        _ => String::new(),
    };
    format!(
        "run {} is {} (trigger {}, {since}{holder})",
        job.id,
        job.status,
        job.trigger.as_str()
    )
}
