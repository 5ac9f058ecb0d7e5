//! The track repository port: everything a sync needs from the database.
//!
//! Implementations (crate `ingest-store`: Postgres and SQLite) must keep
//! these invariants, checked by one contract test suite run on both:
//! - every write of a batch (upserts, seen marks, reactivations, field
//!   changes) lands in one transaction, or none of it does;
//! - an upsert that changes no stored value does not rewrite the row and
//!   leaves `updated_at` alone (marking it seen is not a change);
//! - [`MetadataUpdate::Unknown`](crate::domain::track::MetadataUpdate::Unknown) keeps every stored dashboard field;
//! - re-applying a batch, or finishing a run twice, changes nothing more.
//!
//! The commands the repository takes (`UpsertBatch`, `FinishRun`,
//! `TrackQuery`) and the results it gives (`BatchOutcome`, `FinishOutcome`,
//! `SyncState`) live here, with the port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::job::{JobId, Lease};
use crate::domain::report::{Completeness, DeactivatedTrack, PendingDeactivation};
use crate::domain::track::{FieldChange, RunId, StoredTrack, TrackSnapshot, TrackUpsert};

/// Why a repository call failed, sorted by what the caller can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryError {
    /// The database could not be reached or dropped the connection; nothing
    /// was committed. Retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused the write (constraint, invalid value); nothing
    /// was committed. Retrying the same input will fail again.
    #[error("database rejected the write: {0}")]
    Rejected(String),
    /// Stored data could not be read back into the domain records.
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The run is a job whose lease another worker took over: nothing was
    /// written, and the run must stop.
    #[error("lease on job {0} lost to another worker")]
    LeaseLost(JobId),
    /// Schema migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

impl RepositoryError {
    /// Whether the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, RepositoryError::Unavailable(_))
    }
}

/// A batch of upserts, applied atomically in one transaction together with
/// its field changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsertBatch {
    pub run_id: RunId,
    pub source: String,
    /// The run's catalogue time: every track in the batch is marked seen at it.
    pub seen_at: DateTime<Utc>,
    pub tracks: Vec<TrackUpsert>,
    /// Recorded in `track_changes` in the same transaction.
    pub changes: Vec<FieldChange>,
    /// When the run is a job: its checkpoint, written in the same
    /// transaction, which fails with [`RepositoryError::LeaseLost`] (writing
    /// nothing) if the lease was superseded.
    pub checkpoint: Option<BatchCheckpoint>,
}

/// A job's checkpoint step, stored with the batch it belongs to: the batch's
/// slugs join the job's done set and `state` replaces the job's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCheckpoint {
    pub lease: Lease,
    /// The service's accumulated run state after this batch (opaque JSON).
    pub state: serde_json::Value,
}

/// What applying a batch did. `inserted + updated + unchanged` equals the
/// number of upserts in the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// New rows.
    pub inserted: u64,
    /// Existing rows whose stored values changed (reactivation included).
    pub updated: u64,
    /// Existing rows the upsert did not rewrite.
    pub unchanged: u64,
    /// Slugs that were inactive and are active again.
    pub reactivated: Vec<String>,
    /// `track_changes` rows written.
    pub changes_recorded: u64,
}

/// Closing a run: optional deactivation and the sync state, in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishRun {
    pub run_id: RunId,
    pub source: String,
    pub finished_at: DateTime<Utc>,
    /// The slugs of the run's complete catalogue: a listed track is missing
    /// no longer (its count of missing runs resets).
    pub listed: Vec<String>,
    /// Count one more missing run for every active track of the source not
    /// in `listed`, and deactivate (recording an `is_active` change) those
    /// missing for `deactivate_after_missing_runs` runs. `false`: count and
    /// deactivate nothing (the guard refused).
    pub deactivate: bool,
    /// A missing active track is deactivated once it has been missing from
    /// this many consecutive complete catalogues (this one included; 1 = at
    /// once). Counted once per run id, so a resumed job finishing twice
    /// counts once.
    pub deactivate_after_missing_runs: u32,
    /// Fields to clear after the run's drift check: `old_value` is the
    /// stored value the run kept provisionally; a track whose value moved
    /// since is left alone. Each clear is recorded in `track_changes`.
    pub clear_fields: Vec<FieldChange>,
    /// When the run is a job: its lease; a superseded lease makes the call
    /// fail with `LeaseLost`, writing nothing.
    pub lease: Option<Lease>,
}

/// What finishing a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishOutcome {
    pub deactivated: Vec<DeactivatedTrack>,
    /// Missing active tracks still within the grace period, by slug.
    pub pending: Vec<PendingDeactivation>,
    /// Of `FinishRun::clear_fields`, those applied.
    pub cleared: Vec<FieldChange>,
}

/// Per-source sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub source: String,
    pub last_success_at: DateTime<Utc>,
    pub last_run_id: RunId,
}

/// A page of the stored catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackQuery {
    pub active_only: bool,
    pub limit: u32,
    pub offset: u32,
}

/// One recorded change of a track's profile field (`track_changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackChange {
    pub run_id: RunId,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// The tracks table and its history, as the core sees them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TrackRepository: Send + Sync {
    /// Every track of `source` (active or not), lean, in one query: the diff
    /// baseline of a run.
    async fn snapshot(&self, source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError>;

    /// Full rows for these slugs of `source` (one query); unknown slugs are
    /// simply absent from the result.
    async fn get_tracks(
        &self,
        source: &str,
        slugs: &[String],
    ) -> Result<Vec<StoredTrack>, RepositoryError>;

    /// Apply one batch atomically: upsert every track (one statement), mark
    /// every track of the batch seen at `seen_at` (unchanged ones too),
    /// reactivate inactive ones, and record `changes`.
    async fn apply_batch(&self, batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError>;

    /// Close a run atomically: deactivate the active tracks not in the run's
    /// catalogue (when asked), record their `is_active` changes, and store
    /// the source's sync state.
    async fn finish_run(&self, finish: &FinishRun) -> Result<FinishOutcome, RepositoryError>;

    /// The source's last successful sync, if any.
    async fn sync_state(&self, source: &str) -> Result<Option<SyncState>, RepositoryError>;

    /// A page of stored tracks ordered by slug.
    async fn list_tracks(
        &self,
        source: &str,
        query: TrackQuery,
    ) -> Result<Vec<StoredTrack>, RepositoryError>;

    /// How many tracks of `source` there are (active only, or all).
    /// Tracks of `source` (inactive ones too) whose name, slug, city,
    /// state, country or country code contains `text`, ignoring ASCII case;
    /// ordered by name, at most `limit`. For the operator's track browser.
    async fn search_tracks(
        &self,
        source: &str,
        text: &str,
        limit: u32,
    ) -> Result<Vec<StoredTrack>, RepositoryError>;

    /// The recorded profile changes of one track, newest first, at most
    /// `limit` (empty for an unknown slug).
    async fn track_history(
        &self,
        source: &str,
        slug: &str,
        limit: u32,
    ) -> Result<Vec<TrackChange>, RepositoryError>;

    async fn count_tracks(&self, source: &str, active_only: bool) -> Result<u64, RepositoryError>;

    /// How many active tracks of `source` carry each field. The default pages
    /// through [`TrackRepository::list_tracks`]; backends answer it in one query.
    async fn completeness(&self, source: &str) -> Result<Completeness, RepositoryError> {
        const PAGE: u32 = 1000;
        let mut c = Completeness::default();
        let mut offset = 0u32;
        loop {
            let page = self
                .list_tracks(
                    source,
                    TrackQuery {
                        active_only: true,
                        limit: PAGE,
                        offset,
                    },
                )
                .await?;
            for t in &page {
                let p = &t.profile;
                c.active_tracks += 1;
                c.with_address += u64::from(p.street.is_some() || p.city.is_some());
                c.with_phone += u64::from(p.phone.is_some());
                c.with_email += u64::from(p.email.is_some());
                c.with_website += u64::from(p.website.is_some());
                c.with_coordinates += u64::from(t.geo.is_some());
            }
            if page.len() < PAGE as usize {
                return Ok(c);
            }
            offset += PAGE;
        }
    }
}
