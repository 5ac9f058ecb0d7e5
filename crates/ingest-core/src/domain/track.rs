//! A track and what a run does to it: the records a sync moves between the
//! track source, the core and the repository. Owned by the core; adapters
//! convert to and from them.
//!
//! Two field classes matter to reports (see `docs/ARCHITECTURE.md`):
//! *profile* fields (name, address, contacts, description, links,
//! coordinates) whose change makes a track "updated", and *churn* fields
//! (relative last-updated text, live flags, current event, lifetime stats)
//! that move on every run and are counted, not listed.
//!
//! Architecture invariant: the ground floor. This module imports nothing of
//! the crate.

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

/// The dashboard's profile fields that a page carries as text, in the order
/// a diff lists them (after the catalogue's name and track URL): the fields
/// the drift guard watches, and the order of a track's changes.
pub const PROFILE_FIELDS: [&str; 12] = [
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "country_code",
    "phone",
    "website",
    "email",
    "description",
    "logo_url",
    "facebook_url",
];

impl TrackProfile {
    /// One of [`PROFILE_FIELDS`] by name; `None` for any other name.
    pub(crate) fn field(&self, name: &str) -> Option<&Option<String>> {
        Some(match name {
            "street" => &self.street,
            "city" => &self.city,
            "state" => &self.state,
            "postal_code" => &self.postal_code,
            "country" => &self.country,
            "country_code" => &self.country_code,
            "phone" => &self.phone,
            "website" => &self.website,
            "email" => &self.email,
            "description" => &self.description,
            "logo_url" => &self.logo_url,
            "facebook_url" => &self.facebook_url,
            _ => return None,
        })
    }

    /// One of [`PROFILE_FIELDS`] by name, to change; `None` for any other name.
    pub(crate) fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "street" => &mut self.street,
            "city" => &mut self.city,
            "state" => &mut self.state,
            "postal_code" => &mut self.postal_code,
            "country" => &mut self.country,
            "country_code" => &mut self.country_code,
            "phone" => &mut self.phone,
            "website" => &mut self.website,
            "email" => &mut self.email,
            "description" => &mut self.description,
            "logo_url" => &mut self.logo_url,
            "facebook_url" => &mut self.facebook_url,
            _ => return None,
        })
    }
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
/// loaded per batch (the repository port's `get_tracks`).
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
