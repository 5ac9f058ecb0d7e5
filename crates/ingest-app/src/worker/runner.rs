//! The claim loop: claim a due job and run it, wait for work (a queue
//! notification or the poll interval) when there is none, and prune
//! finished jobs past their retention between jobs, until shutdown.

use ingest_core::JobError;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{JobRunResult, Worker};

impl Worker {
    /// Claim and run jobs until `shutdown` is cancelled. Returns once the
    /// job in hand (if any) has been stored up to its current batch and
    /// released.
    pub async fn run(&self, shutdown: CancellationToken) {
        info!(worker = %self.config.worker_id, "worker started");
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
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
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    warn!(error = %e, "claiming a job failed; retrying after the poll interval");
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                        () = shutdown.cancelled() => {}
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
        shutdown: CancellationToken,
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
}
