//! Backend-neutral preparation of a batch: validation, one flat input row per
//! upsert (the merge kinds plus the values the statements need), timestamps
//! cut to the microsecond both backends store, and the field changes to
//! record (the caller's plus the repository's own reactivation rows).

use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};
use ingest_core::{
    CatalogueFields, FieldChange, GeoPoint, GeoUpdate, MetadataUpdate, RepositoryError,
    TrackProfile, TrackUpsert, UpsertBatch,
};

/// `MetadataUpdate` as the integer the statements test (`meta_kind`).
pub(crate) const META_UNKNOWN: i16 = 0;
/// See [`META_UNKNOWN`].
pub(crate) const META_NOT_MODIFIED: i16 = 1;
/// See [`META_UNKNOWN`].
pub(crate) const META_FETCHED: i16 = 2;

/// `GeoUpdate` as the integer the statements test (`geo_kind`).
pub(crate) const GEO_KEEP: i16 = 0;
/// See [`GEO_KEEP`].
pub(crate) const GEO_SET: i16 = 1;
/// See [`GEO_KEEP`].
pub(crate) const GEO_CLEAR: i16 = 2;

/// The field name of activity changes, and its two values.
pub(crate) const IS_ACTIVE_FIELD: &str = "is_active";
pub(crate) const TRUE_TEXT: &str = "true";
pub(crate) const FALSE_TEXT: &str = "false";

/// Cut a timestamp to the microsecond: both backends store microseconds, so
/// comparing a stored value with a new one must not see nanoseconds.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// One upsert flattened for the statements.
#[derive(Debug)]
pub(crate) struct InputRow<'a> {
    pub(crate) slug: &'a str,
    pub(crate) meta_kind: i16,
    pub(crate) geo_kind: i16,
    pub(crate) catalogue: &'a CatalogueFields,
    pub(crate) last_updated_at: Option<DateTime<Utc>>,
    /// `Some` only for a fetched dashboard.
    pub(crate) profile: Option<&'a TrackProfile>,
    pub(crate) metadata_source_url: Option<&'a str>,
    pub(crate) content_hash: Option<&'a str>,
    /// `None` only for `Unknown`.
    pub(crate) metadata_fetched_at: Option<DateTime<Utc>>,
    pub(crate) etag: Option<&'a str>,
    pub(crate) last_modified: Option<&'a str>,
    /// `Some` only for `GeoUpdate::Set`.
    pub(crate) geo: Option<&'a GeoPoint>,
    pub(crate) geocoded_at: Option<DateTime<Utc>>,
}

impl<'a> InputRow<'a> {
    fn new(upsert: &'a TrackUpsert) -> Self {
        let catalogue = &upsert.catalogue;
        let mut row = InputRow {
            slug: &upsert.slug,
            meta_kind: META_UNKNOWN,
            geo_kind: GEO_KEEP,
            catalogue,
            last_updated_at: catalogue.last_updated_at.map(micros),
            profile: None,
            metadata_source_url: None,
            content_hash: None,
            metadata_fetched_at: None,
            etag: None,
            last_modified: None,
            geo: None,
            geocoded_at: None,
        };
        match &upsert.metadata {
            MetadataUpdate::Unknown => {}
            MetadataUpdate::NotModified {
                fetched_at,
                validators,
            } => {
                row.meta_kind = META_NOT_MODIFIED;
                row.metadata_fetched_at = Some(micros(*fetched_at));
                row.etag = validators.etag.as_deref();
                row.last_modified = validators.last_modified.as_deref();
            }
            MetadataUpdate::Fetched(fetched) => {
                row.meta_kind = META_FETCHED;
                row.profile = Some(&fetched.profile);
                row.metadata_source_url = Some(&fetched.source_url);
                row.content_hash = fetched.content_hash.as_deref();
                row.metadata_fetched_at = Some(micros(fetched.fetched_at));
                row.etag = fetched.validators.etag.as_deref();
                row.last_modified = fetched.validators.last_modified.as_deref();
            }
        }
        match &upsert.geo {
            GeoUpdate::Keep => {}
            GeoUpdate::Set(point) => {
                row.geo_kind = GEO_SET;
                row.geo = Some(point);
                row.geocoded_at = Some(micros(point.geocoded_at));
            }
            GeoUpdate::Clear => row.geo_kind = GEO_CLEAR,
        }
        row
    }
}

/// A validated batch, ready for either backend.
#[derive(Debug)]
pub(crate) struct PreparedBatch<'a> {
    pub(crate) seen_at: DateTime<Utc>,
    pub(crate) rows: Vec<InputRow<'a>>,
}

/// Validate `batch` and flatten its upserts.
///
/// Refused (nothing is written): a slug twice in one batch (which of the two
/// should win is not the repository's guess to make), an empty source.
/// Slug shape and value ranges are enforced by the schema's CHECKs.
pub(crate) fn prepare(batch: &UpsertBatch) -> Result<PreparedBatch<'_>, RepositoryError> {
    if batch.source.is_empty() {
        return Err(RepositoryError::Rejected(
            "apply_batch: the batch has an empty source".to_owned(),
        ));
    }
    let mut seen = HashSet::with_capacity(batch.tracks.len());
    for upsert in &batch.tracks {
        if !seen.insert(upsert.slug.as_str()) {
            return Err(RepositoryError::Rejected(format!(
                "apply_batch: slug {:?} appears twice in one batch",
                upsert.slug
            )));
        }
    }
    Ok(PreparedBatch {
        seen_at: micros(batch.seen_at),
        rows: batch.tracks.iter().map(InputRow::new).collect(),
    })
}

/// The change rows a batch records: the caller's, in order, then an
/// `is_active` false→true row for each reactivated slug the caller did not
/// already describe.
pub(crate) fn changes_with_reactivations<'a>(
    caller: &'a [FieldChange],
    reactivated: &[String],
) -> Vec<ChangeRow<'a>> {
    let mut rows: Vec<ChangeRow<'a>> = caller.iter().map(ChangeRow::from).collect();
    let described: HashSet<&str> = caller
        .iter()
        .filter(|c| c.field == IS_ACTIVE_FIELD)
        .map(|c| c.slug.as_str())
        .collect();
    for slug in reactivated {
        if !described.contains(slug.as_str()) {
            rows.push(ChangeRow {
                slug: std::borrow::Cow::Owned(slug.clone()),
                field: IS_ACTIVE_FIELD,
                old_value: Some(FALSE_TEXT),
                new_value: Some(TRUE_TEXT),
            });
        }
    }
    rows
}

/// One `track_changes` row to write (the track id is looked up by slug in
/// the statement).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ChangeRow<'a> {
    pub(crate) slug: std::borrow::Cow<'a, str>,
    pub(crate) field: &'a str,
    pub(crate) old_value: Option<&'a str>,
    pub(crate) new_value: Option<&'a str>,
}

impl<'a> From<&'a FieldChange> for ChangeRow<'a> {
    fn from(change: &'a FieldChange) -> Self {
        ChangeRow {
            slug: std::borrow::Cow::Borrowed(&change.slug),
            field: &change.field,
            old_value: change.old_value.as_deref(),
            new_value: change.new_value.as_deref(),
        }
    }
}

/// The `is_active` true→false row of a deactivated track.
/// `finish_run`'s deferred clears by column, in the drift guard's field
/// order. A field the guard does not watch is refused: its name becomes a
/// column name in SQL.
pub(crate) fn clear_groups(
    clears: &[FieldChange],
) -> Result<Vec<(&'static str, Vec<&FieldChange>)>, RepositoryError> {
    let mut groups: Vec<(&'static str, Vec<&FieldChange>)> = Vec::new();
    for c in clears {
        let Some(col) = ingest_core::drift::WATCHED_FIELDS
            .iter()
            .find(|f| **f == c.field)
        else {
            return Err(RepositoryError::Rejected(format!(
                "finish_run: {:?} is not a field the drift guard clears",
                c.field
            )));
        };
        if c.old_value.is_none() || c.new_value.is_some() {
            return Err(RepositoryError::Rejected(format!(
                "finish_run: a clear of {} on {} must name the stored value and no new one",
                c.field, c.slug
            )));
        }
        match groups.iter_mut().find(|(g, _)| g == col) {
            Some((_, list)) => list.push(c),
            None => groups.push((col, vec![c])),
        }
    }
    groups.sort_by_key(|(col, _)| ingest_core::diff::field_rank(col));
    Ok(groups)
}

/// `FinishRun::deactivate_after_missing_runs` as bound (at least one run).
pub(crate) fn grace_runs(finish: &ingest_core::FinishRun) -> i32 {
    i32::try_from(finish.deactivate_after_missing_runs.max(1)).unwrap_or(i32::MAX)
}

pub(crate) fn deactivation_change(slug: &str) -> ChangeRow<'_> {
    ChangeRow {
        slug: std::borrow::Cow::Borrowed(slug),
        field: IS_ACTIVE_FIELD,
        old_value: Some(TRUE_TEXT),
        new_value: Some(FALSE_TEXT),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ingest_core::{FetchedMetadata, HttpValidators};
    use uuid::Uuid;

    use super::*;

    fn catalogue() -> CatalogueFields {
        CatalogueFields {
            name: "Track".into(),
            track_url: "https://t.liverc.com/".into(),
            events_url: "https://t.liverc.com/results/".into(),
            last_updated_text: None,
            last_updated_at: None,
            is_live: false,
            live_video: false,
            status: "idle".into(),
            featured: false,
            current_event: None,
        }
    }

    fn upsert(slug: &str, metadata: MetadataUpdate, geo: GeoUpdate) -> TrackUpsert {
        TrackUpsert {
            slug: slug.into(),
            catalogue: catalogue(),
            metadata,
            geo,
        }
    }

    fn batch(tracks: Vec<TrackUpsert>) -> UpsertBatch {
        UpsertBatch {
            run_id: Uuid::nil(),
            source: "liverc".into(),
            seen_at: Utc
                .timestamp_opt(1_700_000_000, 123_456_789)
                .single()
                .expect("valid"),
            tracks,
            changes: vec![],
            checkpoint: None,
        }
    }

    #[test]
    fn duplicate_slugs_are_refused() {
        let b = batch(vec![
            upsert("a", MetadataUpdate::Unknown, GeoUpdate::Keep),
            upsert("a", MetadataUpdate::Unknown, GeoUpdate::Keep),
        ]);
        let err = prepare(&b).expect_err("duplicate");
        assert!(matches!(err, RepositoryError::Rejected(ref m) if m.contains("\"a\"")));
    }

    #[test]
    fn kinds_and_timestamps_are_flattened() {
        let at = Utc
            .timestamp_opt(1_700_000_100, 999_999_999)
            .single()
            .expect("valid");
        let b = batch(vec![
            upsert("a", MetadataUpdate::Unknown, GeoUpdate::Clear),
            upsert(
                "b",
                MetadataUpdate::NotModified {
                    fetched_at: at,
                    validators: HttpValidators {
                        etag: Some("e".into()),
                        last_modified: None,
                    },
                },
                GeoUpdate::Keep,
            ),
            upsert(
                "c",
                MetadataUpdate::Fetched(Box::new(FetchedMetadata {
                    profile: TrackProfile::default(),
                    fetched_at: at,
                    source_url: "u".into(),
                    validators: HttpValidators::default(),
                    content_hash: Some("h".into()),
                })),
                GeoUpdate::Keep,
            ),
        ]);
        let p = prepare(&b).expect("valid");
        assert_eq!(p.seen_at.timestamp_subsec_nanos(), 123_456_000);
        let kinds: Vec<(i16, i16)> = p.rows.iter().map(|r| (r.meta_kind, r.geo_kind)).collect();
        assert_eq!(
            kinds,
            [
                (META_UNKNOWN, GEO_CLEAR),
                (META_NOT_MODIFIED, GEO_KEEP),
                (META_FETCHED, GEO_KEEP)
            ]
        );
        assert_eq!(p.rows[0].metadata_fetched_at, None);
        assert_eq!(
            p.rows[1]
                .metadata_fetched_at
                .map(|t| t.timestamp_subsec_nanos()),
            Some(999_999_000)
        );
        assert_eq!(p.rows[1].etag, Some("e"));
        assert!(p.rows[1].profile.is_none());
        assert_eq!(p.rows[2].content_hash, Some("h"));
    }

    #[test]
    fn reactivations_add_a_change_unless_described() {
        let caller = vec![FieldChange {
            slug: "b".into(),
            field: IS_ACTIVE_FIELD.into(),
            old_value: Some("false".into()),
            new_value: Some("true".into()),
        }];
        let rows = changes_with_reactivations(&caller, &["a".to_owned(), "b".to_owned()]);
        let got: Vec<(&str, &str)> = rows.iter().map(|r| (&*r.slug, r.field)).collect();
        assert_eq!(got, [("b", "is_active"), ("a", "is_active")]);
        assert_eq!(rows[1].old_value, Some(FALSE_TEXT));
        assert_eq!(rows[1].new_value, Some(TRUE_TEXT));
    }
}
