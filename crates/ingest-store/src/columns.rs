//! The `tracks` columns, grouped by how a batch writes them. Both backends
//! build their statements from these lists, so the two cannot disagree on
//! which column is merged how.
//!
//! Each input column comes with how its value is read from a batch row
//! ([`Input`]): the one list the Postgres arrays and COPY stream and the
//! SQLite JSON rows are all built from.

use chrono::{DateTime, Utc};

use crate::prepare::{GEO_KEEP, InputRow, META_FETCHED, META_NOT_MODIFIED, META_UNKNOWN};

/// An input column's value in a batch row, by type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    /// A merge kind (`int2`).
    Kind(fn(&InputRow<'_>) -> i16),
    Text(for<'r> fn(&'r InputRow<'r>) -> Option<&'r str>),
    Int(fn(&InputRow<'_>) -> Option<i64>),
    Float(fn(&InputRow<'_>) -> Option<f64>),
    Bool(fn(&InputRow<'_>) -> bool),
    Time(fn(&InputRow<'_>) -> Option<DateTime<Utc>>),
}

impl Input {
    /// The column's Postgres type (for typed `UNNEST($n::type[])` arrays).
    pub(crate) fn pg_type(self) -> &'static str {
        match self {
            Input::Kind(_) => "int2",
            Input::Text(_) => "text",
            Input::Int(_) => "int8",
            Input::Float(_) => "float8",
            Input::Bool(_) => "boolean",
            Input::Time(_) => "timestamptz",
        }
    }
}

/// An input column: its name and how its value is read.
pub(crate) type Column = (&'static str, Input);

/// Catalogue fields: always taken from the batch.
pub(crate) const CATALOGUE: &[Column] = &[
    ("name", Input::Text(|r| Some(&r.catalogue.name))),
    ("track_url", Input::Text(|r| Some(&r.catalogue.track_url))),
    ("events_url", Input::Text(|r| Some(&r.catalogue.events_url))),
    (
        "last_updated_text",
        Input::Text(|r| r.catalogue.last_updated_text.as_deref()),
    ),
    ("last_updated_at", Input::Time(|r| r.last_updated_at)),
    ("is_live", Input::Bool(|r| r.catalogue.is_live)),
    ("live_video", Input::Bool(|r| r.catalogue.live_video)),
    ("status", Input::Text(|r| Some(&r.catalogue.status))),
    ("featured", Input::Bool(|r| r.catalogue.featured)),
    (
        "current_event",
        Input::Text(|r| r.catalogue.current_event.as_deref()),
    ),
];

/// A dashboard column: the `TrackProfile` field of the same name, which
/// only a fetched dashboard carries.
macro_rules! profile {
    (text $field:ident) => {
        (
            stringify!($field),
            Input::Text(|r| r.profile.and_then(|p| p.$field.as_deref())),
        )
    };
    (int $field:ident) => {
        (
            stringify!($field),
            Input::Int(|r| r.profile.and_then(|p| p.$field)),
        )
    };
}

/// Dashboard fields (the whole `TrackProfile`, the page URL and the content
/// hash): taken from the batch when it carries a fetched dashboard
/// (`MetadataUpdate::Fetched`, `None` clearing), otherwise kept as stored.
pub(crate) const DASHBOARD: &[Column] = &[
    profile!(text street),
    profile!(text city),
    profile!(text state),
    profile!(text postal_code),
    profile!(text country),
    profile!(text country_code),
    profile!(text phone),
    profile!(text website),
    profile!(text email),
    profile!(text description),
    profile!(text logo_url),
    profile!(text facebook_url),
    profile!(text map_query),
    profile!(int total_laps),
    profile!(int total_practice_sessions),
    profile!(int total_races),
    profile!(int total_entries),
    profile!(int total_events),
    (
        "metadata_source_url",
        Input::Text(|r| r.metadata_source_url),
    ),
    ("content_hash", Input::Text(|r| r.content_hash)),
];

/// Coordinates and provenance: `GeoUpdate::Set` takes the batch's,
/// `Clear` stores NULL, `Keep` keeps the stored ones.
pub(crate) const GEO: &[Column] = &[
    ("latitude", Input::Float(|r| r.geo.map(|g| g.latitude))),
    ("longitude", Input::Float(|r| r.geo.map(|g| g.longitude))),
    (
        "geocode_provider",
        Input::Text(|r| r.geo.map(|g| g.provider.as_str())),
    ),
    (
        "geocode_query",
        Input::Text(|r| r.geo.map(|g| g.query.as_str())),
    ),
    ("geocoded_at", Input::Time(|r| r.geocoded_at)),
];

/// Fetch bookkeeping: merged like the dashboard (see `fetch_merge_exprs`),
/// written with the row when the upsert rewrites it and otherwise by the
/// mark-seen statement (into `track_seen`, see [`SEEN_MARKS`]); never part
/// of the distinctness test, so moving them alone never counts as a change
/// nor moves `updated_at`.
pub(crate) const FETCH: &[Column] = &[
    (
        "metadata_fetched_at",
        Input::Time(|r| r.metadata_fetched_at),
    ),
    ("etag", Input::Text(|r| r.etag)),
    ("last_modified", Input::Text(|r| r.last_modified)),
];

/// The key and the two merge kinds, first in every input relation.
const KEY_AND_KINDS: &[Column] = &[
    ("slug", Input::Text(|r| Some(r.slug))),
    ("meta_kind", Input::Kind(|r| r.meta_kind)),
    ("geo_kind", Input::Kind(|r| r.geo_kind)),
];

/// Lifecycle columns that are content too: a reactivation rewrites the row.
pub(crate) const LIFECYCLE: &[&str] = &["is_active", "deactivated_at"];

/// The seen marks: the columns a run moves on every track it sees,
/// `last_seen_at` and the fetch bookkeeping ([`FETCH`]). None is content.
///
/// A track's marks live on its `tracks` row as of the batch that last
/// wrote the row. When a later batch sees the track without changing its
/// content, the new marks go to its narrow `track_seen` row instead, which
/// then holds them (the `tracks` row is not rewritten). A batch that rewrites
/// the row writes the marks there and deletes the `track_seen` row. So the
/// stored value of a mark is the `track_seen` one when that row exists, else
/// the `tracks` one ([`seen_value`]).
pub(crate) const SEEN_MARKS: &[&str] = &[
    "last_seen_at",
    "metadata_fetched_at",
    "etag",
    "last_modified",
];

/// The stored value of the seen mark `col` of the `tracks` row `tr`, whose
/// `track_seen` row (NULL when there is none) is `sn`.
pub(crate) fn seen_value(tr: &str, sn: &str, col: &str) -> String {
    format!("CASE WHEN {sn}.track_id IS NULL THEN {tr}.{col} ELSE {sn}.{col} END")
}

/// A track with its seen marks, for `FROM`: `tr` is the `tracks` row, `sn`
/// its `track_seen` row (a primary-key probe).
pub(crate) const TRACKS_WITH_SEEN: &str =
    "tracks AS tr LEFT JOIN track_seen AS sn ON sn.track_id = tr.id";

/// Every column a `StoredTrack` is read from, over [`TRACKS_WITH_SEEN`].
const STORED_TRACK_COLUMNS: &[&str] = &[
    "id",
    "source",
    "source_track_slug",
    "name",
    "track_url",
    "events_url",
    "last_updated_text",
    "last_updated_at",
    "is_live",
    "live_video",
    "status",
    "featured",
    "current_event",
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
    "map_query",
    "total_laps",
    "total_practice_sessions",
    "total_races",
    "total_entries",
    "total_events",
    "latitude",
    "longitude",
    "geocode_provider",
    "geocode_query",
    "geocoded_at",
    "metadata_fetched_at",
    "metadata_source_url",
    "etag",
    "last_modified",
    "content_hash",
    "is_active",
    "first_seen_at",
    "last_seen_at",
    "deactivated_at",
    "created_at",
    "updated_at",
];

/// One read column over [`TRACKS_WITH_SEEN`], named `col`: a seen mark's
/// stored value, or the `tracks` column.
fn read_column(col: &str) -> String {
    if SEEN_MARKS.contains(&col) {
        format!("{} AS {col}", seen_value("tr", "sn", col))
    } else {
        format!("tr.{col}")
    }
}

/// The `SELECT` list of a `StoredTrack`, over [`TRACKS_WITH_SEEN`].
pub(crate) fn stored_track_select() -> String {
    STORED_TRACK_COLUMNS
        .iter()
        .map(|col| read_column(col))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `SELECT` list of a `TrackSnapshot` (its lean columns), over
/// [`TRACKS_WITH_SEEN`].
pub(crate) fn snapshot_select() -> String {
    let mut cols: Vec<String> = [
        "source_track_slug",
        "name",
        "is_active",
        "last_updated_at",
        "metadata_fetched_at",
        "etag",
        "last_modified",
        "content_hash",
    ]
    .iter()
    .map(|col| read_column(col))
    .collect();
    cols.push("tr.latitude IS NOT NULL AS has_geo".to_owned());
    cols.extend(
        ["last_seen_at", "deactivated_at"]
            .iter()
            .map(|col| read_column(col)),
    );
    cols.join(", ")
}

/// The batch's per-row inputs in statement order: key, the two kinds, then
/// every merged group. Both backends' input relations have these columns.
pub(crate) fn input_columns() -> Vec<Column> {
    let mut cols = KEY_AND_KINDS.to_vec();
    for group in [CATALOGUE, DASHBOARD, GEO, FETCH] {
        cols.extend_from_slice(group);
    }
    cols
}

/// The mark-seen statement's per-row inputs: the key, the metadata kind and
/// the fetch bookkeeping.
pub(crate) fn seen_inputs() -> Vec<Column> {
    let mut cols = KEY_AND_KINDS[..2].to_vec();
    cols.extend_from_slice(FETCH);
    cols
}

/// Every column a new track is written with, in statement order: the key,
/// the input groups, then the lifecycle. The upsert's `INSERT` list is this
/// list, and the Postgres COPY of a batch's new tracks streams its fields in
/// this order.
pub(crate) fn new_track_columns() -> Vec<&'static str> {
    let mut cols = vec!["source", "source_track_slug"];
    for group in [CATALOGUE, DASHBOARD, GEO, FETCH] {
        cols.extend(group.iter().map(|(name, _)| *name));
    }
    cols.extend_from_slice(&[
        "is_active",
        "deactivated_at",
        "first_seen_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    ]);
    cols
}

/// Content columns: their distinctness decides whether an upsert rewrites a
/// row (and moves `updated_at`).
pub(crate) fn content_columns() -> Vec<&'static str> {
    let mut cols: Vec<&str> = [CATALOGUE, DASHBOARD, GEO]
        .into_iter()
        .flatten()
        .map(|(name, _)| *name)
        .collect();
    cols.extend_from_slice(LIFECYCLE);
    cols
}

/// How a dialect says "these two rows of values differ" (NULL-safe).
pub(crate) type Distinct = fn(&[String], &[String]) -> String;

/// Postgres: one row comparison.
pub(crate) fn pg_distinct(old: &[String], new: &[String]) -> String {
    format!("({}) IS DISTINCT FROM ({})", old.join(", "), new.join(", "))
}

/// SQLite: one `IS NOT` per column.
pub(crate) fn sqlite_distinct(old: &[String], new: &[String]) -> String {
    let pairs: Vec<String> = old
        .iter()
        .zip(new)
        .map(|(o, n)| format!("{o} IS NOT {n}"))
        .collect();
    format!("({})", pairs.join(" OR "))
}

/// The pieces of the upsert statement both dialects share. The statement is
///
/// ```text
/// INSERT INTO tracks (insert_columns)
/// SELECT select_list FROM <input t> LEFT JOIN tracks AS cur ON <key>
/// WHERE changed_filter
/// ON CONFLICT (source, source_track_slug) DO UPDATE SET update_set
/// WHERE conflict_filter
/// ```
///
/// - `select_list` merges the input relation `t` with the stored row `cur`
///   (NULL for a new track) per column class, so the proposed row already
///   holds the final values;
/// - `changed_filter` drops, before the insert is even attempted, every row
///   whose merged content equals the stored one: an unchanged track costs a
///   lookup, not a speculative insert and a row lock;
/// - `conflict_filter` repeats the test against the row as locked at conflict
///   time (`tracks` vs `excluded`): it alone decides, so a row changed by
///   someone else meanwhile is still compared correctly;
/// - `update_set` writes content, bookkeeping, `last_seen_at` and
///   `updated_at`, so mark-seen can skip a rewritten row (whose
///   `track_seen` row is then deleted: the marks on the row are the current
///   ones).
///
/// `source` and `seen` are the dialect's placeholders for the source and the
/// batch's `seen_at`, `bool_true` its literal for true, and `stored` gives
/// the stored value of a seen mark of `cur` (see [`SEEN_MARKS`]).
pub(crate) struct UpsertParts {
    pub(crate) insert_columns: String,
    pub(crate) select_list: String,
    pub(crate) changed_filter: String,
    pub(crate) update_set: String,
    pub(crate) conflict_filter: String,
}

pub(crate) fn upsert_parts(
    source: &str,
    seen: &str,
    bool_true: &str,
    distinct: Distinct,
    stored: Stored,
) -> UpsertParts {
    let mut select = vec![source.to_owned(), "t.slug".to_owned()];
    for (col, _) in CATALOGUE {
        select.push(format!("t.{col}"));
    }
    for (col, _) in DASHBOARD {
        select.push(format!(
            "CASE WHEN t.meta_kind = {META_FETCHED} THEN t.{col} ELSE cur.{col} END"
        ));
    }
    for (col, _) in GEO {
        // The input carries NULL for Clear (and for Keep, which reads `cur`).
        select.push(format!(
            "CASE WHEN t.geo_kind = {GEO_KEEP} THEN cur.{col} ELSE t.{col} END"
        ));
    }
    for (_, expr) in fetch_merge_exprs(stored) {
        select.push(expr);
    }
    // is_active, deactivated_at, first_seen_at, last_seen_at, created_at,
    // updated_at (`new_track_columns` order).
    select.extend([bool_true, "NULL", seen, seen, seen, seen].map(str::to_owned));

    // Merged content differs from `cur` exactly when: the track is new or
    // inactive, a catalogue field differs, a fetched dashboard differs, or
    // Set/Clear coordinates differ (Keep never does).
    let cur_t = |group: &[Column]| -> (Vec<String>, Vec<String>) {
        group
            .iter()
            .map(|(col, _)| (format!("cur.{col}"), format!("t.{col}")))
            .unzip()
    };
    let (cur_cat, t_cat) = cur_t(CATALOGUE);
    let (cur_dash, t_dash) = cur_t(DASHBOARD);
    let (cur_geo, t_geo) = cur_t(GEO);
    let changed_filter = format!(
        "cur.id IS NULL\n   OR NOT cur.is_active\n   OR {}\n   OR (t.meta_kind = {META_FETCHED} AND {})\n   OR (t.geo_kind <> {GEO_KEEP} AND {})",
        distinct(&cur_cat, &t_cat),
        distinct(&cur_dash, &t_dash),
        distinct(&cur_geo, &t_geo),
    );

    let content = content_columns();
    let old: Vec<String> = content.iter().map(|c| format!("tracks.{c}")).collect();
    let new: Vec<String> = content.iter().map(|c| format!("excluded.{c}")).collect();
    let conflict_filter = distinct(&old, &new);

    // A rewritten row also takes the bookkeeping columns here (they are not
    // part of the distinctness test), so mark-seen can skip it.
    let update: Vec<String> = content
        .iter()
        .copied()
        .chain(FETCH.iter().map(|(col, _)| *col))
        .chain(["last_seen_at", "updated_at"])
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();

    let insert = new_track_columns();
    debug_assert_eq!(insert.len(), select.len());
    UpsertParts {
        insert_columns: insert.join(", "),
        select_list: select.join(",\n       "),
        changed_filter,
        update_set: update.join(",\n    "),
        conflict_filter,
    }
}

/// The stored value of a seen mark of the row `cur`, in a dialect's
/// statement (see [`SEEN_MARKS`]).
pub(crate) type Stored = fn(&str) -> String;

/// The mark-seen statement: `with` (the dialect's input CTEs, or nothing),
/// then an insert into `track_seen` from `from`, which joins the input
/// relation `t` to the stored row `cur` (its id and its marks). The values
/// of [`SEEN_MARKS`] are in order (`last_seen_at` becomes `seen`, the fetch
/// bookkeeping is merged as in the upsert); a row already holding them all
/// is left alone; an existing `track_seen` row is overwritten.
pub(crate) fn mark_seen_sql(
    with: &str,
    from: &str,
    seen: &str,
    distinct: Distinct,
    stored: Stored,
) -> String {
    let mut values = vec![seen.to_owned()];
    values.extend(fetch_merge_exprs(stored).into_iter().map(|(_, expr)| expr));
    let old: Vec<String> = SEEN_MARKS.iter().map(|col| stored(col)).collect();
    let update: Vec<String> = SEEN_MARKS
        .iter()
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    format!(
        "{with}INSERT INTO track_seen (track_id, {cols})
SELECT cur.id, {values}
FROM {from}
WHERE {changed}
ON CONFLICT (track_id) DO UPDATE SET {update}",
        cols = SEEN_MARKS.join(", "),
        values = values.join(",\n       "),
        changed = distinct(&old, &values),
        update = update.join(", "),
    )
}

/// The new bookkeeping values, computed from the input relation `t` and the
/// stored row `cur` (NULL for a new track; `stored` reads its marks):
/// - `metadata_fetched_at`: kept for `Unknown`, else the batch's;
/// - validators: kept for `Unknown`; for `NotModified` the ones the server
///   sent, each falling back to the stored one when absent (a 304 need not
///   repeat them); for `Fetched` exactly the response's.
pub(crate) fn fetch_merge_exprs(stored: Stored) -> Vec<(&'static str, String)> {
    vec![
        (
            "metadata_fetched_at",
            format!(
                "CASE WHEN t.meta_kind = {META_UNKNOWN} THEN {} \
                 ELSE t.metadata_fetched_at END",
                stored("metadata_fetched_at")
            ),
        ),
        ("etag", validator_expr("etag", stored)),
        ("last_modified", validator_expr("last_modified", stored)),
    ]
}

fn validator_expr(col: &str, stored: Stored) -> String {
    let old = stored(col);
    format!(
        "CASE t.meta_kind WHEN {META_UNKNOWN} THEN {old} \
         WHEN {META_NOT_MODIFIED} THEN COALESCE(t.{col}, {old}) ELSE t.{col} END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_is_disjoint_and_selected() {
        let mut all: Vec<&str> = input_columns().into_iter().map(|(c, _)| c).collect();
        all.extend_from_slice(LIFECYCLE);
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "a column is in two groups");
        for col in all.iter().skip(3) {
            assert!(STORED_TRACK_COLUMNS.contains(col), "{col} is not read back");
        }
    }

    #[test]
    fn seen_marks_are_bookkeeping_and_read_through_track_seen() {
        let fetch: Vec<&str> = FETCH.iter().map(|(c, _)| *c).collect();
        assert_eq!(SEEN_MARKS[0], "last_seen_at");
        assert_eq!(&SEEN_MARKS[1..], &fetch[..]);
        let select = stored_track_select();
        for col in SEEN_MARKS {
            assert!(
                select.contains(&format!(
                    "CASE WHEN sn.track_id IS NULL THEN tr.{col} ELSE sn.{col} END AS {col}"
                )),
                "{col} is read through track_seen"
            );
        }
        assert!(select.contains("tr.updated_at"));
        assert!(snapshot_select().contains("sn.last_seen_at END AS last_seen_at"));
    }

    #[test]
    fn a_new_track_is_written_with_every_input_and_lifecycle_column() {
        let cols = new_track_columns();
        let parts = upsert_parts("$1", "$2", "true", pg_distinct, |c| format!("cur.{c}"));
        assert_eq!(parts.insert_columns, cols.join(", "));
        for col in STORED_TRACK_COLUMNS.iter().filter(|c| **c != "id") {
            assert!(cols.contains(col), "{col} is not written");
        }
    }

    #[test]
    fn fetch_columns_are_not_content() {
        let content = content_columns();
        for (col, _) in FETCH {
            assert!(!content.contains(col));
        }
        assert!(!content.contains(&"last_seen_at"));
        assert!(!content.contains(&"updated_at"));
    }

    #[test]
    fn distinct_forms() {
        let a = vec!["cur.x".to_owned(), "cur.y".to_owned()];
        let b = vec!["t.x".to_owned(), "t.y".to_owned()];
        assert_eq!(
            pg_distinct(&a, &b),
            "(cur.x, cur.y) IS DISTINCT FROM (t.x, t.y)"
        );
        assert_eq!(
            sqlite_distinct(&a, &b),
            "(cur.x IS NOT t.x OR cur.y IS NOT t.y)"
        );
    }

    #[test]
    fn insert_and_select_lists_line_up() {
        let parts = upsert_parts("$1", "$2", "true", pg_distinct, |c| format!("cur.{c}"));
        let inserted = parts.insert_columns.split(", ").count();
        let selected = parts.select_list.split(",\n").count();
        assert_eq!(inserted, selected);
    }
}
