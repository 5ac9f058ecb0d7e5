//! What a caller hands a run besides its options: its identity, its attempt,
//! a cancellation flag, and the job it runs for.
//!
//! Architecture invariant: the service's ground; imports the domain and the
//! job queue's `Checkpoint`, no other part of the service.

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::job::Lease;
use crate::domain::track::RunId;
use crate::ports::jobs::Checkpoint;

/// A cancellation flag shared with whoever may stop the run (an API call, a
/// signal). The service checks it before each dashboard and each batch, and
/// the fetch side awaits it: requests in flight get [`CANCEL_GRACE`] to land,
/// then are dropped.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(CancellationToken);

/// How long a cancelled run waits for the dashboards already requested
/// before it drops them: what lands in time is stored, the rest is fetched
/// again by a resumed attempt. Keeps a cancel under two seconds end to end.
pub const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_millis(750);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.cancel();
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        self.0.cancelled().await;
    }
}

/// Per-run context that does not belong to the options: identity, attempt,
/// cancellation, and the job it runs for.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: RunId,
    /// 1 for a first attempt.
    pub attempt: u32,
    /// Stops the run after the batch being accumulated is stored: no new
    /// dashboards are requested, those in flight are kept.
    pub cancel: CancelFlag,
    /// Set when the run is a queued job: every batch then carries the job's
    /// checkpoint under its lease, and a resumed attempt skips what an
    /// earlier one stored.
    pub job: Option<JobBinding>,
}

impl Default for RunContext {
    fn default() -> Self {
        Self {
            run_id: Uuid::now_v7(),
            attempt: 1,
            cancel: CancelFlag::new(),
            job: None,
        }
    }
}

/// The job a run belongs to: its lease (fencing every write) and the
/// checkpoint earlier attempts left.
#[derive(Debug, Clone)]
pub struct JobBinding {
    pub lease: Lease,
    pub checkpoint: Checkpoint,
}
