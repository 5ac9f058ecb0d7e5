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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{
    CancelFlag, ClaimedJob, Job, JobBinding, JobError, JobOutcome, JobProgress, JobQueue,
    JobStatus, Lease, Notifier, Progress, ProgressSink, ReportError, ReportLocation, ReportWriter,
    RunContext, RunReport, RunStatus, SyncOptions, SyncSummary, TrackSyncService,
};
use tokio::sync::watch;
use tracing::{Instrument as _, error, info, info_span, warn};

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub worker_id: String,
    /// Lease taken on a claimed job.
    pub lease: Duration,
    /// How often the lease is renewed (a third of the lease by default).
    pub heartbeat: Duration,
    /// Poll interval when no notification arrives.
    pub poll_interval: Duration,
    /// Progress is written to the job row at most this often.
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

/// Alerts raised when a job reaches a final state.
#[derive(Clone)]
pub struct AlertHook {
    pub notifier: Arc<dyn Notifier>,
    pub sla: Option<Duration>,
    /// Base URL of the API, for report links in alerts.
    pub public_url: Option<String>,
}

impl AlertHook {
    /// The alerts a finished run raises (none for a clean one), linking its
    /// report on the API (the run id is the job id) when the public URL is
    /// known.
    pub fn alerts_for(
        &self,
        summary: &ingest_core::SyncSummary,
        trigger: &str,
        source: &str,
    ) -> Vec<ingest_core::Alert> {
        let report_url = self.public_url.as_ref().map(|base| {
            format!(
                "{}/api/v1/tracks/sync/{}/report",
                base.trim_end_matches('/'),
                summary.run_id
            )
        });
        ingest_alerts::alerts_for(
            summary,
            trigger,
            source,
            self.sla,
            report_url,
            chrono::Utc::now(),
        )
    }

    /// Send `alerts` in the background (each retried as the webhook is
    /// configured); never blocks the caller. Await the handle to wait for
    /// delivery (a process about to exit).
    pub fn send(&self, alerts: Vec<ingest_core::Alert>) -> tokio::task::JoinHandle<()> {
        ingest_alerts::spawn_notify(self.notifier.clone(), alerts)
    }
}

impl std::fmt::Debug for AlertHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertHook")
            .field("sla", &self.sla)
            .finish_non_exhaustive()
    }
}

/// How the end of an attempt is recorded on its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutcomePolicy {
    /// A worker's: a transient failure goes back to the queue with a retry
    /// delay, a shutdown releases the job for another worker.
    #[default]
    Queue,
    /// A run whose process takes no other job (`ingest-cli sync`): every end
    /// is final. A transient failure is `failed` and a shutdown `cancelled`,
    /// both with their checkpoint, so they can be resumed; nothing is left
    /// queued for a worker that a CLI-only deployment does not have, which
    /// would block the source's next run.
    Final,
}

/// A worker: the queue, the service, and how to turn a job's request into
/// run options.
pub struct Worker {
    jobs: Arc<dyn JobQueue>,
    service: Arc<TrackSyncService>,
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
            report_writer,
            base_options,
            config,
            alerts,
            policy: OutcomePolicy::Queue,
        }
    }

    /// The same worker recording outcomes by `policy`.
    #[must_use]
    pub fn with_policy(mut self, policy: OutcomePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Claim and run jobs until `shutdown` turns true. Returns once the job
    /// in hand (if any) has been stored up to its current batch and released.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        info!(worker = %self.config.worker_id, "worker started");
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if tokio::time::Instant::now() >= next_prune {
                self.prune().await;
                next_prune = tokio::time::Instant::now() + self.config.prune_interval;
            }
            match self
                .jobs
                .claim(&self.config.worker_id, self.config.lease)
                .await
            {
                Ok(Some(claimed)) => {
                    self.run_claimed(claimed, shutdown.clone()).await;
                }
                Ok(None) => {
                    tokio::select! {
                        () = self.jobs.wait_for_work(self.config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    warn!(error = %e, "claiming a job failed; retrying after the poll interval");
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
        info!(worker = %self.config.worker_id, "worker stopped");
    }

    /// Delete the finished jobs past their retention, if one is set. A
    /// failure is logged and tried again at the next interval: it never
    /// stops the worker.
    pub async fn prune(&self) {
        let Some(retention) = self.config.job_retention else {
            return;
        };
        match self.jobs.prune(retention).await {
            Ok(0) => {}
            Ok(deleted) => info!(
                deleted,
                retention_days = retention.as_secs() / 86_400,
                "deleted finished jobs past their retention"
            ),
            Err(e) => warn!(error = %e, "deleting old finished jobs failed; trying again later"),
        }
    }

    /// Claim one job if one is due and run it to the end of this attempt.
    pub async fn run_once(
        &self,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Option<JobRunResult>, JobError> {
        match self
            .jobs
            .claim(&self.config.worker_id, self.config.lease)
            .await?
        {
            Some(claimed) => Ok(Some(self.run_claimed(claimed, shutdown).await)),
            None => Ok(None),
        }
    }

    /// Run one attempt of a claimed job and record its outcome.
    pub async fn run_claimed(
        &self,
        claimed: ClaimedJob,
        shutdown: watch::Receiver<bool>,
    ) -> JobRunResult {
        self.run_claimed_with(claimed, shutdown, None).await.result
    }

    /// [`run_claimed`](Self::run_claimed), also showing the run's progress
    /// on `display` (a CLI's bar or log lines), and returning its summary.
    pub async fn run_claimed_with(
        &self,
        claimed: ClaimedJob,
        shutdown: watch::Receiver<bool>,
        display: Option<Arc<dyn ProgressSink>>,
    ) -> Attempt {
        let ClaimedJob { job, lease } = claimed;
        let span = info_span!("job", job_id = %job.id, attempt = job.attempts, worker = %self.config.worker_id);
        self.run_job(job, lease, shutdown, display)
            .instrument(span)
            .await
    }

    async fn run_job(
        &self,
        job: Job,
        lease: Lease,
        mut shutdown: watch::Receiver<bool>,
        display: Option<Arc<dyn ProgressSink>>,
    ) -> Attempt {
        info!(trigger = job.trigger.as_str(), "job claimed");
        let checkpoint = match self.jobs.checkpoint(job.id).await {
            Ok(c) => c,
            Err(JobError::LeaseLost(_)) => {
                return Attempt {
                    result: JobRunResult::LeaseLost,
                    summary: None,
                };
            }
            Err(e) => {
                // Without its checkpoint the job cannot resume safely; hand
                // it back and let a later attempt try.
                warn!(error = %e, "reading the checkpoint failed");
                let error = format!("reading the checkpoint: {e}");
                let outcome = match self.policy {
                    OutcomePolicy::Queue => JobOutcome::Retry {
                        after: self.config.retry_delay(job.attempts),
                        summary: None,
                        error,
                    },
                    OutcomePolicy::Final => JobOutcome::Finished {
                        status: JobStatus::Failed,
                        summary: None,
                        error: Some(error),
                    },
                };
                return Attempt {
                    result: self.record(&job, lease, outcome, None).await,
                    summary: None,
                };
            }
        };
        let options = self.options_for(&job);
        let cancel = CancelFlag::new();
        let ctx = RunContext {
            run_id: job.id,
            attempt: job.attempts.max(1),
            cancel: cancel.clone(),
            job: Some(JobBinding { lease, checkpoint }),
        };

        let flags = Arc::new(JobFlags::default());
        let sink = Arc::new(JobProgressSink {
            latest: Mutex::new(None),
            display,
        });
        let (done_tx, done_rx) = watch::channel(false);
        // A shutdown that arrived before the run started is seen here; one
        // that arrives while it runs, by the companion.
        if *shutdown.borrow_and_update() {
            flags.shutdown.store(true, Ordering::SeqCst);
            cancel.cancel();
        }
        let writer = FencedReportWriter {
            inner: self.report_writer.clone(),
            jobs: self.jobs.clone(),
            lease,
            lease_for: self.config.lease,
        };
        // The run and its companion are one future, not two tasks: a worker
        // that dies (or whose task is aborted) stops renewing the lease at
        // the same instant it stops working, so the job passes on.
        let run = async {
            let summary = self
                .service
                .run_sync_with(&options, &ctx, &writer, sink.as_ref())
                .await;
            let _ = done_tx.send(true);
            summary
        };
        let (summary, ()) = tokio::join!(
            run,
            companion(
                self.jobs.clone(),
                lease,
                self.config.clone(),
                cancel.clone(),
                flags.clone(),
                sink.clone(),
                done_rx,
                shutdown.clone(),
            )
        );
        // The last progress sample, unthrottled.
        if let Some(p) = sink.take()
            && !flags.lease_lost.load(Ordering::SeqCst)
            && let Err(JobError::LeaseLost(_)) = self.jobs.report_progress(&lease, &p).await
        {
            flags.lease_lost.store(true, Ordering::SeqCst);
        }

        if flags.lease_lost.load(Ordering::SeqCst) || summary.lease_lost {
            warn!("the job's lease passed to another worker; this attempt records nothing");
            return Attempt {
                result: JobRunResult::LeaseLost,
                summary: Some(summary),
            };
        }
        let outcome = self.outcome_for(&job, &summary, &flags);
        let result = self
            .record(&job, lease, outcome, Some(summary.clone()))
            .await;
        Attempt {
            result,
            summary: Some(summary),
        }
    }

    /// The run options of a job: configuration, overridden by its request.
    fn options_for(&self, job: &Job) -> SyncOptions {
        let mut o = self.base_options.clone();
        o.source = job.source.clone();
        o.trigger = job.trigger;
        // `MRE_TRACK_SYNC_METADATA_ENABLED=false` switches dashboards off
        // whatever a job asks for.
        o.metadata = if self.config.dashboards_enabled {
            job.request.metadata
        } else {
            ingest_core::MetadataMode::None
        };
        if let Some(c) = job.request.concurrency {
            o.concurrency = c.clamp(1, 64);
        }
        o.force = job.request.force;
        o.accept_drift = job.request.accept_drift.clone();
        o
    }

    fn outcome_for(&self, job: &Job, summary: &SyncSummary, flags: &JobFlags) -> JobOutcome {
        let finished = |status| JobOutcome::Finished {
            status,
            summary: Some(summary.clone()),
            error: summary.error.clone(),
        };
        match summary.status {
            RunStatus::Succeeded | RunStatus::GuardRefused | RunStatus::DriftSuspected => {
                JobOutcome::Finished {
                    status: JobStatus::Succeeded,
                    summary: Some(summary.clone()),
                    // A guard refusal or held drift is a success with a
                    // warning, kept visible.
                    error: summary.error.clone(),
                }
            }
            RunStatus::Cancelled
                if flags.shutdown.load(Ordering::SeqCst) && self.policy == OutcomePolicy::Queue =>
            {
                JobOutcome::Released
            }
            RunStatus::Cancelled => finished(JobStatus::Cancelled),
            // The site changed shape: retrying cannot help.
            RunStatus::FormatError => finished(JobStatus::Failed),
            // No queue loop to come back to it: final, resumable.
            RunStatus::Failed if self.policy == OutcomePolicy::Final => finished(JobStatus::Failed),
            // Unreachable source, database trouble: retry with backoff. The
            // queue knows the retry budget (it restarts on resume) and marks
            // the job failed once it is spent.
            RunStatus::Failed => JobOutcome::Retry {
                after: self.config.retry_delay(job.attempts),
                summary: Some(summary.clone()),
                error: summary.error.clone().unwrap_or_else(|| "failed".to_owned()),
            },
        }
    }

    async fn record(
        &self,
        job: &Job,
        lease: Lease,
        outcome: JobOutcome,
        summary: Option<SyncSummary>,
    ) -> JobRunResult {
        match self.jobs.finish(&lease, &outcome).await {
            Ok(after) => {
                info!(
                    status = after.status.as_str(),
                    outcome = outcome_name(&outcome),
                    "job attempt recorded"
                );
                // Alerts once the job is final: a finished attempt, or a
                // retry the queue turned into a failure (budget spent).
                if let (Some(hook), Some(summary), true) =
                    (&self.alerts, &summary, after.status.is_final())
                {
                    let alerts = hook.alerts_for(summary, job.trigger.as_str(), &job.source);
                    if !alerts.is_empty() {
                        hook.send(alerts);
                    }
                }
                JobRunResult::Recorded {
                    outcome: Box::new(outcome),
                    job: Box::new(after),
                }
            }
            Err(JobError::LeaseLost(_)) => JobRunResult::LeaseLost,
            Err(e) => {
                // The lease will expire and another worker resumes the job
                // from its checkpoint: nothing is lost, only delayed.
                error!(error = %e, "recording the job outcome failed");
                JobRunResult::LeaseLost
            }
        }
    }
}

fn outcome_name(o: &JobOutcome) -> &'static str {
    match o {
        JobOutcome::Finished { .. } => "finished",
        JobOutcome::Retry { .. } => "retry",
        JobOutcome::Released => "released",
    }
}

#[derive(Debug, Default)]
struct JobFlags {
    lease_lost: AtomicBool,
    shutdown: AtomicBool,
}

/// Renews the lease, forwards cancellation and shutdown to the run, and
/// writes throttled progress, until the run is done.
#[expect(clippy::too_many_arguments, reason = "one spawn site, all job state")]
async fn companion(
    jobs: Arc<dyn JobQueue>,
    lease: Lease,
    config: WorkerConfig,
    cancel: CancelFlag,
    flags: Arc<JobFlags>,
    sink: Arc<JobProgressSink>,
    mut done: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut heartbeat = tokio::time::interval(config.heartbeat.max(Duration::from_millis(50)));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut progress =
        tokio::time::interval(config.progress_interval.max(Duration::from_millis(50)));
    progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown_seen = false;
    loop {
        tokio::select! {
            _ = done.changed() => return,
            changed = shutdown.changed(), if !shutdown_seen => {
                if changed.is_err() || *shutdown.borrow() {
                    shutdown_seen = true;
                    info!("shutting down: storing the batch in hand, then ending the attempt");
                    flags.shutdown.store(true, Ordering::SeqCst);
                    cancel.cancel();
                }
            }
            _ = heartbeat.tick() => {
                match jobs.heartbeat(&lease, config.lease).await {
                    Ok(h) => {
                        if h.cancel_requested && !cancel.is_cancelled() {
                            info!("cancellation requested: stopping after the batch in hand");
                            cancel.cancel();
                        }
                    }
                    Err(JobError::LeaseLost(_)) => {
                        warn!("lease lost: stopping");
                        flags.lease_lost.store(true, Ordering::SeqCst);
                        cancel.cancel();
                        return;
                    }
                    Err(e) => warn!(error = %e, "heartbeat failed; the lease may expire"),
                }
            }
            _ = progress.tick() => {
                if let Some(p) = sink.take() {
                    match jobs.report_progress(&lease, &p).await {
                        Ok(()) => {}
                        Err(JobError::LeaseLost(_)) => {
                            flags.lease_lost.store(true, Ordering::SeqCst);
                            cancel.cancel();
                            return;
                        }
                        Err(e) => warn!(error = %e, "writing progress failed"),
                    }
                }
            }
        }
    }
}

/// Keeps the latest progress sample for the companion to write, and shows
/// every sample on the display, if any.
struct JobProgressSink {
    latest: Mutex<Option<JobProgress>>,
    display: Option<Arc<dyn ProgressSink>>,
}

impl JobProgressSink {
    fn take(&self) -> Option<JobProgress> {
        self.latest.lock().ok().and_then(|mut l| l.take())
    }
}

impl ProgressSink for JobProgressSink {
    fn update(&self, p: &Progress) {
        if let Some(display) = &self.display {
            display.update(p);
        }
        if let Ok(mut l) = self.latest.lock() {
            *l = Some(JobProgress {
                stage: p.stage,
                processed: p.processed.min(p.total.max(p.processed)),
                total: p.total,
                eta_seconds: p.eta.map(|d| d.as_secs_f64()),
            });
        }
    }
}

/// A report writer that first proves the lease is still held, so a worker
/// that lost its job cannot overwrite the report of the one that took it.
struct FencedReportWriter {
    inner: Arc<dyn ReportWriter>,
    jobs: Arc<dyn JobQueue>,
    lease: Lease,
    lease_for: Duration,
}

#[async_trait]
impl ReportWriter for FencedReportWriter {
    async fn write(&self, report: &RunReport) -> Result<ReportLocation, ReportError> {
        match self.jobs.heartbeat(&self.lease, self.lease_for).await {
            Ok(_) => self.inner.write(report).await,
            Err(JobError::LeaseLost(id)) => Err(ReportError::Archive(format!(
                "not written: the lease on job {id} passed to another worker"
            ))),
            // The queue is unreachable: the report is still worth keeping.
            Err(e) => {
                warn!(error = %e, "lease check before the report failed; writing anyway");
                self.inner.write(report).await
            }
        }
    }

    async fn previous_completeness(
        &self,
        source: &str,
    ) -> Result<Option<ingest_core::Completeness>, ReportError> {
        self.inner.previous_completeness(source).await
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
