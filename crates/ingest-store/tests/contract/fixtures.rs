//! Records to feed the repository and checks of what comes back. Every
//! optional field is set and every value distinct, so a column written to or
//! read from the wrong place cannot go unnoticed; times carry nanoseconds, so
//! the microsecond cut is exercised everywhere.

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use ingest_core::{
    CatalogueFields, FetchedMetadata, FieldChange, FinishRun, GeoPoint, GeoUpdate, HttpValidators,
    MetadataUpdate, StoredTrack, TrackProfile, TrackUpsert, UpsertBatch,
};
use uuid::Uuid;

pub(crate) const SOURCE: &str = "liverc";

/// The `n`-th hour of the test timeline (with sub-microsecond digits).
pub(crate) fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("valid date")
        + Duration::hours(n)
        + Duration::nanoseconds(123_456_789)
}

/// What a backend stores for a time: microseconds.
pub(crate) fn us(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

pub(crate) fn run() -> Uuid {
    Uuid::now_v7()
}

/// A catalogue row with every optional field set.
pub(crate) fn catalogue(slug: &str) -> CatalogueFields {
    CatalogueFields {
        name: format!("{slug} Raceway \"Täst\" 🏁"),
        track_url: format!("https://{slug}.liverc.com/"),
        events_url: format!("https://{slug}.liverc.com/results/"),
        last_updated_text: Some("3 hours ago".into()),
        last_updated_at: Some(t(-3) + Duration::nanoseconds(777)),
        is_live: true,
        live_video: true,
        status: "racing".into(),
        featured: true,
        current_event: Some(format!("{slug} Summer Series Rd. 4")),
    }
}

/// A catalogue row with every optional field empty and every flag false.
pub(crate) fn bare_catalogue(slug: &str) -> CatalogueFields {
    CatalogueFields {
        name: format!("{slug} bare"),
        track_url: format!("https://{slug}.liverc.com/"),
        events_url: format!("https://{slug}.liverc.com/live/"),
        last_updated_text: None,
        last_updated_at: None,
        is_live: false,
        live_video: false,
        status: "idle".into(),
        featured: false,
        current_event: None,
    }
}

/// A dashboard with every field set to a distinct value; the totals include
/// values no f64 can hold exactly.
pub(crate) fn profile(slug: &str) -> TrackProfile {
    TrackProfile {
        street: Some(format!("1 {slug} Way")),
        city: Some("Springfield".into()),
        state: Some("IL".into()),
        postal_code: Some("62701".into()),
        country: Some("United States".into()),
        country_code: Some("US".into()),
        phone: Some("+1 217-555-0100".into()),
        website: Some(format!("https://www.{slug}.example/")),
        email: Some(format!("info@{slug}.example")),
        description: Some("Indoor clay, 1/10 and 1/8.\nLine two; 'quoted' \\ back".into()),
        logo_url: Some(format!("https://cdn.liverc.com/{slug}/logo.png")),
        facebook_url: Some(format!("https://facebook.com/{slug}")),
        map_query: Some(format!("1 {slug} Way, Springfield, IL 62701")),
        total_laps: Some(i64::MAX),
        total_practice_sessions: Some(9_007_199_254_740_993),
        total_races: Some(12_345),
        total_entries: Some(0),
        total_events: Some(-1),
    }
}

pub(crate) fn validators(tag: &str) -> HttpValidators {
    HttpValidators {
        etag: Some(format!("W/\"{tag}\"")),
        last_modified: Some(format!("Sun, 01 Jun 2025 {tag} GMT")),
    }
}

pub(crate) fn fetched_meta(slug: &str, at: DateTime<Utc>, tag: &str) -> FetchedMetadata {
    FetchedMetadata {
        profile: profile(slug),
        fetched_at: at + Duration::nanoseconds(999),
        source_url: format!("https://{slug}.liverc.com/"),
        validators: validators(tag),
        content_hash: Some(format!("{:0>64}", format!("{slug}{tag}"))),
    }
}

pub(crate) fn fetched(slug: &str, at: DateTime<Utc>, tag: &str) -> MetadataUpdate {
    MetadataUpdate::Fetched(Box::new(fetched_meta(slug, at, tag)))
}

/// Coordinates with digits a lossy float conversion would change.
pub(crate) fn geo(seed: f64) -> GeoPoint {
    GeoPoint {
        latitude: 51.507_350_123_456_78 - seed,
        longitude: -0.127_758_987_654_321 + seed,
        provider: "nominatim".into(),
        query: format!("{seed} Springfield, IL"),
        geocoded_at: t(-1) + Duration::nanoseconds(4_321),
    }
}

/// A track with everything: full catalogue, fetched dashboard, coordinates.
pub(crate) fn full(slug: &str, at: DateTime<Utc>) -> TrackUpsert {
    TrackUpsert {
        slug: slug.into(),
        catalogue: catalogue(slug),
        metadata: fetched(slug, at, "v1"),
        geo: GeoUpdate::Set(geo(1.0)),
    }
}

/// A track with only its catalogue row.
pub(crate) fn bare(slug: &str) -> TrackUpsert {
    TrackUpsert {
        slug: slug.into(),
        catalogue: bare_catalogue(slug),
        metadata: MetadataUpdate::Unknown,
        geo: GeoUpdate::Keep,
    }
}

pub(crate) fn batch(run_id: Uuid, seen_at: DateTime<Utc>, tracks: Vec<TrackUpsert>) -> UpsertBatch {
    UpsertBatch {
        run_id,
        source: SOURCE.into(),
        seen_at,
        tracks,
        changes: Vec::new(),
        checkpoint: None,
    }
}

pub(crate) fn change(slug: &str, field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        slug: slug.into(),
        field: field.into(),
        old_value: old.map(Into::into),
        new_value: new.map(Into::into),
    }
}

/// Close a run. `keep`: the complete catalogue, every unlisted active track
/// deactivated at once (no grace period); `None`: the guard refused.
pub(crate) fn finish(run_id: Uuid, at: DateTime<Utc>, keep: Option<&[&str]>) -> FinishRun {
    FinishRun {
        run_id,
        source: SOURCE.into(),
        finished_at: at,
        listed: keep.map(slugs).unwrap_or_default(),
        deactivate: keep.is_some(),
        deactivate_after_missing_runs: 1,
        clear_fields: Vec::new(),
        lease: None,
    }
}

pub(crate) fn slugs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The stored catalogue must equal the input (times cut to microseconds).
pub(crate) fn assert_catalogue(stored: &StoredTrack, input: &CatalogueFields) {
    let mut expected = input.clone();
    expected.last_updated_at = expected.last_updated_at.map(us);
    assert_eq!(stored.catalogue, expected, "catalogue of {}", stored.slug);
}

/// The stored dashboard columns must equal this fetched dashboard.
pub(crate) fn assert_dashboard(stored: &StoredTrack, meta: &FetchedMetadata) {
    assert_eq!(stored.profile, meta.profile, "profile of {}", stored.slug);
    assert_eq!(
        stored.metadata_source_url.as_deref(),
        Some(meta.source_url.as_str()),
        "source url of {}",
        stored.slug
    );
    assert_eq!(stored.content_hash.as_deref(), meta.content_hash.as_deref());
    assert_eq!(stored.validators, meta.validators);
    assert_eq!(stored.metadata_fetched_at, Some(us(meta.fetched_at)));
}

/// The stored coordinates must equal these, bit for bit.
pub(crate) fn assert_geo(stored: &StoredTrack, point: Option<&GeoPoint>) {
    let expected = point.map(|p| GeoPoint {
        geocoded_at: us(p.geocoded_at),
        ..p.clone()
    });
    assert_eq!(stored.geo, expected, "geo of {}", stored.slug);
    if let (Some(got), Some(want)) = (&stored.geo, point) {
        assert_eq!(got.latitude.to_bits(), want.latitude.to_bits());
        assert_eq!(got.longitude.to_bits(), want.longitude.to_bits());
    }
}
