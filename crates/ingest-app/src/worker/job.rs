//! One attempt of a claimed job: read its checkpoint, build the run's
//! options and context from the job, run the service beside its companion
//! (one future, so a worker that stops working stops renewing the lease at
//! the same instant), write the last progress sample, and record the
//! outcome — or nothing, once the lease has passed to another worker.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ingest_core::{
    CancelFlag, ClaimedJob, Job, JobBinding, JobError, JobOutcome, JobStatus, Lease, ProgressSink,
    RunContext, SyncOptions,
};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, info_span, warn};

use super::companion::{Companion, JobFlags};
use super::sinks::{FencedReportWriter, JobProgressSink};
use super::{Attempt, JobRunResult, OutcomePolicy, Worker};

impl Worker {
    /// Run one attempt of a claimed job and record its outcome.
    pub async fn run_claimed(
        &self,
        claimed: ClaimedJob,
        shutdown: CancellationToken,
    ) -> JobRunResult {
        self.run_claimed_with(claimed, shutdown, None).await.result
    }

    /// [`run_claimed`](Self::run_claimed), also showing the run's progress
    /// on `display` (a CLI's bar or log lines), and returning its summary.
    pub async fn run_claimed_with(
        &self,
        claimed: ClaimedJob,
        shutdown: CancellationToken,
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
        shutdown: CancellationToken,
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
        // A dry run stores into a repository that rolls every write back;
        // the job itself (progress, outcome, report) is recorded as usual.
        let service = if options.dry_run {
            let Some(service) = self.dry_run_service.clone() else {
                let outcome = JobOutcome::Finished {
                    status: JobStatus::Failed,
                    summary: None,
                    error: Some("this worker was started without dry-run support".to_owned()),
                };
                return Attempt {
                    result: self.record(&job, lease, outcome, None).await,
                    summary: None,
                };
            };
            service
        } else {
            self.service.clone()
        };
        let cancel = CancelFlag::new();
        let ctx = RunContext {
            run_id: job.id,
            attempt: job.attempts.max(1),
            cancel: cancel.clone(),
            job: Some(JobBinding { lease, checkpoint }),
        };

        let flags = Arc::new(JobFlags::default());
        let sink = Arc::new(JobProgressSink::new(display));
        // Cancelled once the run returns: the companion's cue to stop.
        let done = CancellationToken::new();
        // A shutdown that arrived before the run started is seen here; one
        // that arrives while it runs, by the companion.
        if shutdown.is_cancelled() {
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
            let summary = service
                .run_sync_with(&options, &ctx, &writer, sink.as_ref())
                .await;
            done.cancel();
            summary
        };
        let (summary, ()) = tokio::join!(
            run,
            Companion {
                jobs: self.jobs.clone(),
                lease,
                config: self.config.clone(),
                cancel: cancel.clone(),
                flags: flags.clone(),
                sink: sink.clone(),
            }
            .run(&done, &shutdown)
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
        // The configured concurrency is this worker's ceiling: its LiveRC
        // client holds no more requests in flight than that, so a job asking
        // more would run no faster while its report claimed otherwise.
        if let Some(asked) = job.request.concurrency {
            let ceiling = self.base_options.concurrency.max(1);
            o.concurrency = asked.clamp(1, ceiling);
            if asked > ceiling {
                tracing::info!(
                    asked,
                    ceiling,
                    "the job asked for more concurrency than this worker allows \
                     (MRE_TRACK_SYNC_METADATA_CONCURRENCY); running at the ceiling"
                );
            }
        }
        o.force = job.request.force;
        o.accept_drift = job.request.accept_drift.clone();
        o.dry_run = job.request.dry_run;
        o
    }
}
