//! The track-sync domain: the records a sync moves, the ports (traits) through
//! which it reaches the outside world, and the `TrackSyncService`.
//!
//! This crate depends on no adapter crate: not on the LiveRC connector, not on
//! a database driver, not on HTTP. Binaries wire concrete adapters in.

pub mod diff;
pub mod drift;
pub mod model;
pub mod ports;
pub mod run;
pub mod service;
pub mod validate;

pub use drift::{DriftDecision, DriftReport, DriftSample, FieldDrift};
pub use model::*;
pub use ports::clock::{Clock, SystemClock};
pub use ports::geocoder::{Coordinates, GeocodeError, Geocoder};
pub use ports::jobs::{
    Checkpoint, ClaimedJob, Heartbeat, Job, JobError, JobId, JobOutcome, JobProgress, JobQueue,
    JobRequest, JobStatus, Lease, NewJob,
};
pub use ports::metrics::{NoMetrics, SyncMetrics};
pub use ports::notifier::{Alert, AlertKind, Notifier, NotifyError};
pub use ports::progress::{NoProgress, Progress, ProgressSink};
pub use ports::report::{
    ArchivedReport, ArchivedReportSummary, ReportArchive, ReportError, ReportLocation,
    ReportWriter, RunQuality,
};
pub use ports::repository::{RepositoryError, TrackRepository};
pub use ports::source::{
    DashboardOutcome, SourceCatalogue, SourceEntry, SourceError, SourceErrorClass, SourceStats,
    TrackSource,
};
pub use run::*;
pub use service::{CancelFlag, JobBinding, RunContext, SyncSummary, TrackSyncService};
