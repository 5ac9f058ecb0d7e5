//! The track repository port: everything a sync needs from the database.
//!
//! Implementations (crate `ingest-store`: Postgres and SQLite) must keep
//! these invariants, checked by one contract test suite run on both:
//! - every write of a batch (upserts, seen marks, reactivations, field
//!   changes) lands in one transaction, or none of it does;
//! - an upsert that changes no stored value does not rewrite the row and
//!   leaves `updated_at` alone (marking it seen is not a change);
//! - [`MetadataUpdate::Unknown`](crate::MetadataUpdate::Unknown) keeps every stored dashboard field;
//! - re-applying a batch, or finishing a run twice, changes nothing more.

use async_trait::async_trait;

use crate::model::{
    BatchOutcome, FinishOutcome, FinishRun, StoredTrack, SyncState, TrackQuery, TrackSnapshot,
    UpsertBatch,
};
use crate::run::Completeness;

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
    LeaseLost(crate::ports::jobs::JobId),
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
