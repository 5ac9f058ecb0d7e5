//! The track-sync domain: the records a sync moves, the ports (traits) through
//! which it reaches the outside world, and the `TrackSyncService`.
//!
//! This crate depends on no adapter crate: not on the LiveRC connector, not on
//! a database driver, not on HTTP. Binaries wire concrete adapters in.
//!
//! Three layers, each importing only the ones below it, and no import circle
//! between files (checked by `tests/tests/core_layers.rs`):
//!
//! 1. [`domain`]: tracks, runs, reports, jobs, and the pure rules (diff,
//!    drift guard, validation). No I/O.
//! 2. [`ports`]: the traits adapters implement, each with the commands it
//!    takes and the results it gives.
//! 3. [`service`]: the `TrackSyncService`, a run as a short chain of stages.
//!
//! Everything a caller needs is re-exported here, by name; inside the crate,
//! code imports from the module that owns a name, never from this root.

pub mod domain;
pub mod ports;
pub mod service;

// The domain's rule modules keep their paths at the root (`ingest_core::drift::
// WATCHED_FIELDS`, `ingest_core::diff::field_rank`, …).
pub use domain::{diff, drift, validate};

pub use domain::drift::{DriftDecision, DriftReport, DriftSample, FieldDrift};
pub use domain::job::{Job, JobId, JobProgress, JobRequest, JobStatus, Lease};
pub use domain::report::{
    ChangedField, Completeness, DeactivatedTrack, GuardDecision, MAX_REPORT_ENTRIES,
    MetadataErrorEntry, NewTrackEntry, PendingDeactivation, ReactivatedTrackEntry, ResponseTally,
    RunCounts, RunReport, SkippedRowEntry, StageTiming, SyncSummary, UpdatedTrackEntry,
    ValidationAnomaly, add_tallies,
};
pub use domain::run::{MAX_CONCURRENCY, MetadataMode, RunStatus, Stage, SyncOptions, Trigger};
pub use domain::track::{
    CatalogueFields, FetchedMetadata, FieldChange, GeoPoint, GeoUpdate, HttpValidators,
    MetadataUpdate, RunId, SOURCE_LIVERC, StoredTrack, TrackProfile, TrackSnapshot, TrackUpsert,
};
pub use ports::clock::{Clock, SystemClock};
pub use ports::geocoder::{Coordinates, GeocodeError, Geocoder};
pub use ports::jobs::{
    Checkpoint, ClaimedJob, Heartbeat, JobError, JobOutcome, JobQueue, NewJob, QueueStats,
};
pub use ports::metrics::{NoMetrics, SyncMetrics};
pub use ports::notifier::{Alert, AlertKind, Notifier, NotifyError};
pub use ports::progress::{NoProgress, Progress, ProgressSink};
pub use ports::report::{
    ArchivedReport, ArchivedReportSummary, ReportArchive, ReportError, ReportLocation,
    ReportWriter, RunQuality,
};
pub use ports::repository::{
    BatchCheckpoint, BatchOutcome, FinishOutcome, FinishRun, RepositoryError, SyncState,
    TrackChange, TrackQuery, TrackRepository, UpsertBatch,
};
pub use ports::source::{
    DashboardOutcome, SourceCatalogue, SourceEntry, SourceError, SourceErrorClass, SourceStats,
    TrackSource,
};
pub use service::{CANCEL_GRACE, CancelFlag, JobBinding, RunContext, TrackSyncService};
