//! What runs beside an attempt, in the same task: the heartbeat that renews
//! the lease (and learns of a requested cancellation), the forwarding of a
//! shutdown to the run, and the throttled progress writes. Any sign that the
//! lease passed to another worker stops the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ingest_core::{CancelFlag, JobError, JobQueue, Lease};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::WorkerConfig;
use super::sinks::JobProgressSink;

/// What the companion learnt, for the attempt to decide its outcome.
#[derive(Debug, Default)]
pub(super) struct JobFlags {
    pub(super) lease_lost: AtomicBool,
    pub(super) shutdown: AtomicBool,
}

/// One attempt's companion: the job state it watches over.
pub(super) struct Companion {
    pub(super) jobs: Arc<dyn JobQueue>,
    pub(super) lease: Lease,
    pub(super) config: WorkerConfig,
    /// The run's flag: cancelled on shutdown, a requested cancel or a lost lease.
    pub(super) cancel: CancelFlag,
    pub(super) flags: Arc<JobFlags>,
    pub(super) sink: Arc<JobProgressSink>,
}

impl Companion {
    /// Renews the lease, forwards cancellation and shutdown to the run, and
    /// writes throttled progress, until `done` is cancelled (the run returned).
    pub(super) async fn run(self, done: &CancellationToken, shutdown: &CancellationToken) {
        let Self {
            jobs,
            lease,
            config,
            cancel,
            flags,
            sink,
        } = self;
        let mut heartbeat = tokio::time::interval(config.heartbeat.max(Duration::from_millis(50)));
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut progress =
            tokio::time::interval(config.progress_interval.max(Duration::from_millis(50)));
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The heartbeat also learns of a cancel, but only every third of the
        // lease; a cancel must take effect within about a second, so the job
        // row's flag is read this often too (one primary-key read).
        let mut cancel_check = tokio::time::interval(
            (config.progress_interval * 2)
                .clamp(Duration::from_millis(250), Duration::from_secs(1)),
        );
        cancel_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A shutdown before the run started was forwarded by the attempt.
        let mut shutdown_seen = shutdown.is_cancelled();
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                () = shutdown.cancelled(), if !shutdown_seen => {
                    shutdown_seen = true;
                    info!("shutting down: storing the batch in hand, then ending the attempt");
                    flags.shutdown.store(true, Ordering::SeqCst);
                    cancel.cancel();
                }
                _ = heartbeat.tick() => {
                    match jobs.heartbeat(&lease, config.lease).await {
                        Ok(h) => {
                            if h.cancel_requested && !cancel.is_cancelled() {
                                info!("cancellation requested: storing what has arrived, then stopping");
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
                _ = cancel_check.tick(), if !cancel.is_cancelled() => {
                    match jobs.get(lease.job_id).await {
                        Ok(Some(job)) if job.cancel_requested => {
                            info!("cancellation requested: storing what has arrived, then stopping");
                            cancel.cancel();
                        }
                        Ok(_) => {}
                        Err(e) => warn!(error = %e, "checking for a cancel failed"),
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
}
