//! The `tracks` columns, grouped by how a batch writes them. Both backends
//! build their statements from these lists, so the two cannot disagree on
//! which column is merged how.
//!
//! Each entry is `(column, postgres type)`; the type is used for the typed
//! `UNNEST($n::type[])` arrays and ignored by SQLite.

/// Catalogue fields: always taken from the batch.
pub(crate) const CATALOGUE: &[(&str, &str)] = &[
    ("name", "text"),
    ("track_url", "text"),
    ("events_url", "text"),
    ("last_updated_text", "text"),
    ("last_updated_at", "timestamptz"),
    ("is_live", "boolean"),
    ("live_video", "boolean"),
    ("status", "text"),
    ("featured", "boolean"),
    ("current_event", "text"),
];

/// Dashboard fields (the whole `TrackProfile`, the page URL and the content
/// hash): taken from the batch when it carries a fetched dashboard
/// (`MetadataUpdate::Fetched`, `None` clearing), otherwise kept as stored.
pub(crate) const DASHBOARD: &[(&str, &str)] = &[
    ("street", "text"),
    ("city", "text"),
    ("state", "text"),
    ("postal_code", "text"),
    ("country", "text"),
    ("country_code", "text"),
    ("phone", "text"),
    ("website", "text"),
    ("email", "text"),
    ("description", "text"),
    ("logo_url", "text"),
    ("facebook_url", "text"),
    ("map_query", "text"),
    ("total_laps", "int8"),
    ("total_practice_sessions", "int8"),
    ("total_races", "int8"),
    ("total_entries", "int8"),
    ("total_events", "int8"),
    ("metadata_source_url", "text"),
    ("content_hash", "text"),
];

/// Coordinates and provenance: `GeoUpdate::Set` takes the batch's,
/// `Clear` stores NULL, `Keep` keeps the stored ones.
pub(crate) const GEO: &[(&str, &str)] = &[
    ("latitude", "float8"),
    ("longitude", "float8"),
    ("geocode_provider", "text"),
    ("geocode_query", "text"),
    ("geocoded_at", "timestamptz"),
];

/// Fetch bookkeeping: merged like the dashboard (see `fetch_merge_exprs`),
/// written with the row when the upsert rewrites it and otherwise by the
/// mark-seen statement; never part of the distinctness test, so moving them
/// alone never counts as a change nor moves `updated_at`.
pub(crate) const FETCH: &[(&str, &str)] = &[
    ("metadata_fetched_at", "timestamptz"),
    ("etag", "text"),
    ("last_modified", "text"),
];

/// Lifecycle columns that are content too: a reactivation rewrites the row.
pub(crate) const LIFECYCLE: &[&str] = &["is_active", "deactivated_at"];

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

/// Every column a `StoredTrack` is read from, for `SELECT` lists.
pub(crate) const STORED_TRACK_SELECT: &str = "id, source, source_track_slug, \
     name, track_url, events_url, last_updated_text, last_updated_at, is_live, live_video, \
     status, featured, current_event, \
     street, city, state, postal_code, country, country_code, phone, website, email, \
     description, logo_url, facebook_url, map_query, \
     total_laps, total_practice_sessions, total_races, total_entries, total_events, \
     latitude, longitude, geocode_provider, geocode_query, geocoded_at, \
     metadata_fetched_at, metadata_source_url, etag, last_modified, content_hash, \
     is_active, first_seen_at, last_seen_at, deactivated_at, created_at, updated_at";

/// The lean columns of a `TrackSnapshot`.
pub(crate) const SNAPSHOT_SELECT: &str = "source_track_slug, name, is_active, last_updated_at, \
     metadata_fetched_at, etag, last_modified, content_hash, \
     latitude IS NOT NULL AS has_geo, last_seen_at, deactivated_at";

/// The batch's per-row inputs in statement order: key, the two kinds, then
/// every merged group. Both backends' input relations have these columns.
pub(crate) fn input_columns() -> Vec<(&'static str, &'static str)> {
    let mut cols = vec![
        ("slug", "text"),
        ("meta_kind", "int2"),
        ("geo_kind", "int2"),
    ];
    for group in [CATALOGUE, DASHBOARD, GEO, FETCH] {
        cols.extend_from_slice(group);
    }
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
///   `updated_at`, so mark-seen can skip a rewritten row.
///
/// `source` and `seen` are the dialect's placeholders for the source and the
/// batch's `seen_at`, `bool_true` its literal for true.
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
) -> UpsertParts {
    let mut insert = vec!["source".to_owned(), "source_track_slug".to_owned()];
    let mut select = vec![source.to_owned(), "t.slug".to_owned()];
    for (col, _) in CATALOGUE {
        insert.push((*col).to_owned());
        select.push(format!("t.{col}"));
    }
    for (col, _) in DASHBOARD {
        insert.push((*col).to_owned());
        select.push(format!(
            "CASE WHEN t.meta_kind = {META_FETCHED} THEN t.{col} ELSE cur.{col} END"
        ));
    }
    for (col, _) in GEO {
        // The input carries NULL for Clear (and for Keep, which reads `cur`).
        insert.push((*col).to_owned());
        select.push(format!(
            "CASE WHEN t.geo_kind = {GEO_KEEP} THEN cur.{col} ELSE t.{col} END"
        ));
    }
    for (col, expr) in fetch_merge_exprs() {
        insert.push(col.to_owned());
        select.push(expr);
    }
    for (col, value) in [
        ("is_active", bool_true),
        ("deactivated_at", "NULL"),
        ("first_seen_at", seen),
        ("last_seen_at", seen),
        ("created_at", seen),
        ("updated_at", seen),
    ] {
        insert.push(col.to_owned());
        select.push(value.to_owned());
    }

    // Merged content differs from `cur` exactly when: the track is new or
    // inactive, a catalogue field differs, a fetched dashboard differs, or
    // Set/Clear coordinates differ (Keep never does).
    let cur_t = |group: &[(&str, &str)]| -> (Vec<String>, Vec<String>) {
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

    UpsertParts {
        insert_columns: insert.join(", "),
        select_list: select.join(",\n       "),
        changed_filter,
        update_set: update.join(",\n    "),
        conflict_filter,
    }
}

/// The mark-seen statement's `SET` list and its filter, over the target row
/// `cur` and the input relation `t`: `last_seen_at` becomes `seen`, the fetch
/// bookkeeping is merged as in the upsert, and a row already holding all
/// these values is left alone.
pub(crate) fn mark_seen_parts(seen: &str, distinct: Distinct) -> (String, String) {
    let mut cols = vec!["last_seen_at"];
    let mut values = vec![seen.to_owned()];
    for (col, expr) in fetch_merge_exprs() {
        cols.push(col);
        values.push(expr);
    }
    let set: Vec<String> = cols
        .iter()
        .zip(&values)
        .map(|(col, value)| format!("{col} = {value}"))
        .collect();
    let old: Vec<String> = cols.iter().map(|col| format!("cur.{col}")).collect();
    (set.join(",\n    "), distinct(&old, &values))
}

/// The new bookkeeping values, computed from the input relation `t` and the
/// stored row `cur` (NULL for a new track):
/// - `metadata_fetched_at`: kept for `Unknown`, else the batch's;
/// - validators: kept for `Unknown`; for `NotModified` the ones the server
///   sent, each falling back to the stored one when absent (a 304 need not
///   repeat them); for `Fetched` exactly the response's.
pub(crate) fn fetch_merge_exprs() -> Vec<(&'static str, String)> {
    vec![
        (
            "metadata_fetched_at",
            format!(
                "CASE WHEN t.meta_kind = {META_UNKNOWN} THEN cur.metadata_fetched_at \
                 ELSE t.metadata_fetched_at END"
            ),
        ),
        ("etag", validator_expr("etag")),
        ("last_modified", validator_expr("last_modified")),
    ]
}

fn validator_expr(col: &str) -> String {
    format!(
        "CASE t.meta_kind WHEN {META_UNKNOWN} THEN cur.{col} \
         WHEN {META_NOT_MODIFIED} THEN COALESCE(t.{col}, cur.{col}) ELSE t.{col} END"
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
            assert!(
                STORED_TRACK_SELECT.split(',').any(|c| c.trim() == *col),
                "{col} is not read back"
            );
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
        let parts = upsert_parts("$1", "$2", "true", pg_distinct);
        let inserted = parts.insert_columns.split(", ").count();
        let selected = parts.select_list.split(",\n").count();
        assert_eq!(inserted, selected);
    }
}
