//! How the end of an attempt is recorded on its job: the outcome a run's
//! status comes to under the worker's [`OutcomePolicy`] (finished, retry
//! with backoff, released, cancelled), its write under the lease, and the
//! alerts once the job is final.

use std::sync::atomic::Ordering;

use ingest_core::{Job, JobError, JobOutcome, JobStatus, Lease, RunStatus, SyncSummary};
use tracing::{error, info};

use super::companion::JobFlags;
use super::{JobRunResult, Worker};

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

impl Worker {
    pub(super) fn outcome_for(
        &self,
        job: &Job,
        summary: &SyncSummary,
        flags: &JobFlags,
    ) -> JobOutcome {
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

    pub(super) async fn record(
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
