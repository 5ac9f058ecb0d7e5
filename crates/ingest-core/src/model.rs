//! The records a sync moves between the track source, the core and the
//! repository. Owned by the core; adapters convert to and from them.
//!
//! Two field classes matter to reports (see `docs/ARCHITECTURE.md`):
//! *profile* fields (name, address, contacts, description, links,
//! coordinates) whose change makes a track "updated", and *churn* fields
//! (relative last-updated text, live flags, current event, lifetime stats)
//! that move on every run and are counted, not listed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies one sync run (one job, across all its attempts). UUID v7, so
/// ids sort by start time.
pub type RunId = Uuid;

/// The only source so far.
pub const SOURCE_LIVERC: &str = "liverc";

/// Fields a track gets from its catalogue row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueFields {
    /// Profile field.
    pub name: String,
    /// Profile field.
    pub track_url: String,
    /// Churn: flips between `/results/` and `/live/`.
    pub events_url: String,
    /// Churn.
    pub last_updated_text: Option<String>,
    /// Churn: `last_updated_text` read against the catalogue's fetch time.
    pub last_updated_at: Option<DateTime<Utc>>,
    /// Churn.
    pub is_live: bool,
    /// Churn.
    pub live_video: bool,
    /// Churn: `idle`, `practicing`, `racing` or `unknown` (the row's status icon).
    pub status: String,
    /// Churn.
    pub featured: bool,
    /// Churn.
    pub current_event: Option<String>,
}

/// Fields a track gets from its dashboard page. `None` means the page did not
/// carry the value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackProfile {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub facebook_url: Option<String>,
    /// The map iframe's normalised address query.
    pub map_query: Option<String>,
    /// Churn: lifetime stats.
    pub total_laps: Option<i64>,
    pub total_practice_sessions: Option<i64>,
    pub total_races: Option<i64>,
    pub total_entries: Option<i64>,
    pub total_events: Option<i64>,
}

/// Coordinates and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
    /// The geocoder that produced them, e.g. `nominatim`.
    pub provider: String,
    /// The address query that was geocoded.
    pub query: String,
    pub geocoded_at: DateTime<Utc>,
}

/// HTTP validators of the last dashboard response, for conditional requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpValidators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A track as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTrack {
    pub id: i64,
    pub source: String,
    /// Lowercased slug, unique per source.
    pub slug: String,
    pub catalogue: CatalogueFields,
    /// Dashboard fields as last stored (all `None` before the first fetch).
    pub profile: TrackProfile,
    pub geo: Option<GeoPoint>,
    /// When the dashboard was last fetched or confirmed unchanged (304).
    pub metadata_fetched_at: Option<DateTime<Utc>>,
    pub metadata_source_url: Option<String>,
    pub validators: HttpValidators,
    /// Hash of the parsed dashboard record (hex SHA-256 of its canonical JSON).
    pub content_hash: Option<String>,
    pub is_active: bool,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Moves only when a stored value changes; marking a track seen does not move it.
    pub updated_at: DateTime<Utc>,
}

/// The lean per-track view a run loads up front (one query) to diff the
/// catalogue against and to choose which dashboards to fetch. Full rows are
/// loaded per batch with [`crate::TrackRepository::get_tracks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackSnapshot {
    pub slug: String,
    pub name: String,
    pub is_active: bool,
    /// The catalogue's activity timestamp as last stored.
    pub last_updated_at: Option<DateTime<Utc>>,
    pub metadata_fetched_at: Option<DateTime<Utc>>,
    pub validators: HttpValidators,
    pub content_hash: Option<String>,
    pub has_geo: bool,
    pub last_seen_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What this run knows about a track's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetadataUpdate {
    /// Not fetched this run, or the fetch failed: keep every stored dashboard
    /// field, validators and hash exactly as they are.
    Unknown,
    /// The server answered 304: the stored fields stand; only
    /// `metadata_fetched_at` (and validators, when the server sent new ones)
    /// move.
    NotModified {
        fetched_at: DateTime<Utc>,
        validators: HttpValidators,
    },
    /// Fetched and parsed: store exactly this profile; a `None` field clears
    /// the stored value (the page says it is empty).
    Fetched(Box<FetchedMetadata>),
}

/// A parsed dashboard ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchedMetadata {
    pub profile: TrackProfile,
    pub fetched_at: DateTime<Utc>,
    pub source_url: String,
    pub validators: HttpValidators,
    /// `None` when a field of the page was held by the drift guard: what is
    /// stored is then not the page, and the next run must fetch it in full.
    pub content_hash: Option<String>,
}

/// What this run decides about a track's coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GeoUpdate {
    /// Leave stored coordinates (and their provenance) as they are.
    Keep,
    /// Store these.
    Set(GeoPoint),
    /// Remove stored coordinates (e.g. the address was removed).
    Clear,
}

/// One catalogue row's worth of writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackUpsert {
    pub slug: String,
    pub catalogue: CatalogueFields,
    pub metadata: MetadataUpdate,
    pub geo: GeoUpdate,
}

/// One changed field of one track in one run: the history table's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub slug: String,
    /// Column-style name, e.g. `phone`, `name`, `is_active`.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
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
    ///
    /// [`RepositoryError::LeaseLost`]: crate::RepositoryError::LeaseLost
    pub checkpoint: Option<BatchCheckpoint>,
}

/// A job's checkpoint step, stored with the batch it belongs to: the batch's
/// slugs join the job's done set and `state` replaces the job's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCheckpoint {
    pub lease: crate::ports::jobs::Lease,
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
    pub lease: Option<crate::ports::jobs::Lease>,
}

/// A track the run deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivatedTrack {
    pub slug: String,
    pub name: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A track missing from the catalogue, not yet deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeactivation {
    pub slug: String,
    pub name: String,
    /// Consecutive complete catalogues it has been missing from.
    pub missing_runs: u32,
    pub last_seen_at: DateTime<Utc>,
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
