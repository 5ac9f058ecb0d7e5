//! Reading rows back into the core's records, written once for both
//! backends: each backend's row type implements [`ColumnReader`] (the only
//! difference is how a timestamp, an id or a JSON value is stored), and the
//! mapping to [`StoredTrack`] / [`TrackSnapshot`] is shared (a job's, in
//! `jobs`; a report's, in `reports`).

use chrono::{DateTime, Utc};
use ingest_core::{
    CatalogueFields, GeoPoint, HttpValidators, RepositoryError, StoredTrack, TrackProfile,
    TrackSnapshot,
};
use uuid::Uuid;

/// Typed access to a result row's columns by name. Errors are
/// [`RepositoryError::Corrupt`] naming the column.
pub(crate) trait ColumnReader {
    fn text(&self, col: &str) -> Result<String, RepositoryError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, RepositoryError>;
    fn int(&self, col: &str) -> Result<i64, RepositoryError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, RepositoryError>;
    fn opt_float(&self, col: &str) -> Result<Option<f64>, RepositoryError>;
    fn boolean(&self, col: &str) -> Result<bool, RepositoryError>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>, RepositoryError>;
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, RepositoryError>;
    /// A job or run id.
    fn uuid(&self, col: &str) -> Result<Uuid, RepositoryError>;
    /// A JSON column (`None` for NULL).
    fn json(&self, col: &str) -> Result<Option<serde_json::Value>, RepositoryError>;
}

/// The `Corrupt` error for a column that could not be read.
pub(crate) fn corrupt(col: &str, err: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::Corrupt(format!("column {col}: {err}"))
}

/// A full track (selected with `columns::stored_track_select`).
pub(crate) fn stored_track(r: &impl ColumnReader) -> Result<StoredTrack, RepositoryError> {
    let slug = r.text("source_track_slug")?;
    Ok(StoredTrack {
        id: r.int("id")?,
        source: r.text("source")?,
        catalogue: CatalogueFields {
            name: r.text("name")?,
            track_url: r.text("track_url")?,
            events_url: r.text("events_url")?,
            last_updated_text: r.opt_text("last_updated_text")?,
            last_updated_at: r.opt_time("last_updated_at")?,
            is_live: r.boolean("is_live")?,
            live_video: r.boolean("live_video")?,
            status: r.text("status")?,
            featured: r.boolean("featured")?,
            current_event: r.opt_text("current_event")?,
        },
        profile: TrackProfile {
            street: r.opt_text("street")?,
            city: r.opt_text("city")?,
            state: r.opt_text("state")?,
            postal_code: r.opt_text("postal_code")?,
            country: r.opt_text("country")?,
            country_code: r.opt_text("country_code")?,
            phone: r.opt_text("phone")?,
            website: r.opt_text("website")?,
            email: r.opt_text("email")?,
            description: r.opt_text("description")?,
            logo_url: r.opt_text("logo_url")?,
            facebook_url: r.opt_text("facebook_url")?,
            map_query: r.opt_text("map_query")?,
            total_laps: r.opt_int("total_laps")?,
            total_practice_sessions: r.opt_int("total_practice_sessions")?,
            total_races: r.opt_int("total_races")?,
            total_entries: r.opt_int("total_entries")?,
            total_events: r.opt_int("total_events")?,
        },
        geo: geo_point(r, &slug)?,
        metadata_fetched_at: r.opt_time("metadata_fetched_at")?,
        metadata_source_url: r.opt_text("metadata_source_url")?,
        validators: HttpValidators {
            etag: r.opt_text("etag")?,
            last_modified: r.opt_text("last_modified")?,
        },
        content_hash: r.opt_text("content_hash")?,
        is_active: r.boolean("is_active")?,
        first_seen_at: r.time("first_seen_at")?,
        last_seen_at: r.time("last_seen_at")?,
        deactivated_at: r.opt_time("deactivated_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        slug,
    })
}

/// The five geo columns: all set or all NULL (the schema's CHECK); anything
/// else is corrupt.
fn geo_point(r: &impl ColumnReader, slug: &str) -> Result<Option<GeoPoint>, RepositoryError> {
    match (
        r.opt_float("latitude")?,
        r.opt_float("longitude")?,
        r.opt_text("geocode_provider")?,
        r.opt_text("geocode_query")?,
        r.opt_time("geocoded_at")?,
    ) {
        (Some(latitude), Some(longitude), Some(provider), Some(query), Some(geocoded_at)) => {
            Ok(Some(GeoPoint {
                latitude,
                longitude,
                provider,
                query,
                geocoded_at,
            }))
        }
        (None, None, None, None, None) => Ok(None),
        _ => Err(RepositoryError::Corrupt(format!(
            "track {slug:?} has partial coordinates"
        ))),
    }
}

/// A row selected with `columns::snapshot_select`.
pub(crate) fn snapshot(r: &impl ColumnReader) -> Result<TrackSnapshot, RepositoryError> {
    Ok(TrackSnapshot {
        slug: r.text("source_track_slug")?,
        name: r.text("name")?,
        is_active: r.boolean("is_active")?,
        last_updated_at: r.opt_time("last_updated_at")?,
        metadata_fetched_at: r.opt_time("metadata_fetched_at")?,
        validators: HttpValidators {
            etag: r.opt_text("etag")?,
            last_modified: r.opt_text("last_modified")?,
        },
        content_hash: r.opt_text("content_hash")?,
        has_geo: r.boolean("has_geo")?,
        last_seen_at: r.time("last_seen_at")?,
        deactivated_at: r.opt_time("deactivated_at")?,
    })
}

/// Implement [`ColumnReader`] methods that are a plain `Row::try_get` of
/// the type named (`text: String, …`).
macro_rules! plain_columns {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(&self, col: &str) -> Result<$ty, RepositoryError> {
                self.try_get(col).map_err(|e| crate::row::corrupt(col, e))
            }
        )*
    };
}
pub(crate) use plain_columns;
