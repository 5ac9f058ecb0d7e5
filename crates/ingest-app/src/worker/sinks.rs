//! Where an attempt's output goes: [`JobProgressSink`] keeps the latest
//! progress sample for the companion to write to the job row (and shows
//! every sample on a display, if any); [`FencedReportWriter`] writes the
//! run's report only while the lease is still held.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{
    Completeness, JobError, JobProgress, JobQueue, Lease, Progress, ProgressSink, ReportError,
    ReportLocation, ReportWriter, RunReport,
};
use tracing::warn;

/// Keeps the latest progress sample for the companion to write, and shows
/// every sample on the display, if any.
pub(super) struct JobProgressSink {
    latest: Mutex<Option<JobProgress>>,
    display: Option<Arc<dyn ProgressSink>>,
}

impl JobProgressSink {
    pub(super) fn new(display: Option<Arc<dyn ProgressSink>>) -> Self {
        Self {
            latest: Mutex::new(None),
            display,
        }
    }

    /// The latest sample not yet taken, if any.
    pub(super) fn take(&self) -> Option<JobProgress> {
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
pub(super) struct FencedReportWriter {
    pub(super) inner: Arc<dyn ReportWriter>,
    pub(super) jobs: Arc<dyn JobQueue>,
    pub(super) lease: Lease,
    pub(super) lease_for: Duration,
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
    ) -> Result<Option<Completeness>, ReportError> {
        self.inner.previous_completeness(source).await
    }
}
