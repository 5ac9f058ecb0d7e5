//! What a caller hands a run besides its options: its identity, its attempt,
//! a cancellation flag, and the job it runs for.
//!
//! Architecture invariant: the service's ground; imports the domain and the
//! job queue's `Checkpoint`, no other part of the service.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::domain::job::Lease;
use crate::domain::track::RunId;
use crate::ports::jobs::Checkpoint;

/// A cancellation flag shared with whoever may stop the run (an API call, a
/// signal). The service checks it before each dashboard and each batch.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
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
