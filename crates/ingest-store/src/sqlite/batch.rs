//! The bulk path of a batch on SQLite: the batch passed as one JSON array
//! (of arrays) and unpacked by `json_each`, in a few set-based statements.
//! The lookup of stored tracks is exact, since the write transaction holds
//! the writer lock from `BEGIN IMMEDIATE`: new tracks go in by a plain
//! insert, with no conflict to arbitrate.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use ingest_core::{BatchOutcome, RepositoryError};
use serde::Serialize;
use sqlx::sqlite::SqliteConnection;

use super::time::encode_time;
use crate::columns::{
    Column, Input, input_columns, mark_seen_sql, new_track_columns, seen_inputs, seen_value,
    sqlite_distinct, upsert_parts,
};
use crate::driver::{Attempt, NewTracks};
use crate::error::{Dialect, ctx};
use crate::prepare::InputRow;

const SQ: Dialect = Dialect::Sqlite;

/// One batch row as a JSON array (not an object: a positional array parses
/// about twice as fast in SQLite), element `k` being input column
/// `cols[k]`; times in the stored text form.
struct JsonRow<'a> {
    row: &'a InputRow<'a>,
    cols: &'a [Column],
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let r = self.row;
        let mut seq = serializer.serialize_seq(Some(self.cols.len()))?;
        for (_, input) in self.cols {
            match *input {
                Input::Kind(f) => seq.serialize_element(&f(r))?,
                Input::Text(f) => seq.serialize_element(&f(r))?,
                Input::Int(f) => seq.serialize_element(&f(r))?,
                Input::Float(f) => seq.serialize_element(&f(r))?,
                Input::Bool(f) => seq.serialize_element(&f(r))?,
                Input::Time(f) => seq.serialize_element(&f(r).map(encode_time))?,
            }
        }
        seq.end()
    }
}

/// `rows` as the JSON text an input relation of `cols` is bound to.
fn json_rows(rows: &[&InputRow<'_>], cols: &[Column]) -> Result<String, RepositoryError> {
    let rows: Vec<JsonRow<'_>> = rows.iter().map(|row| JsonRow { row, cols }).collect();
    to_json("apply_batch", &rows)
}

/// The input relation `t` as CTEs over the JSON array of arrays bound at
/// `param`, element `k` of each row being `cols[k]`: each row's text is
/// materialised once (`raw`), then every field is extracted from it (`t`).
/// Extracting straight from `json_each`'s `value` renders the row anew for
/// every field, which measured slower than the naive baseline.
fn json_relation(param: &str, cols: &[Column]) -> String {
    let fields: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(k, (c, _))| format!("raw.v ->> {k} AS {c}"))
        .collect();
    format!(
        "WITH raw AS MATERIALIZED (SELECT j.value AS v FROM json_each({param}) AS j),
t AS MATERIALIZED (SELECT {} FROM raw)",
        fields.join(", ")
    )
}

/// `cur`'s seen mark `col`, with `sn` its `track_seen` row (see
/// `columns::SEEN_MARKS`).
fn stored_mark(col: &str) -> String {
    seen_value("cur", "sn", col)
}

/// The upsert: one statement for the whole batch (its shape is explained at
/// `columns::UpsertParts`). The input is materialised once, so each JSON
/// field is extracted once per row. A rewritten track's marks are on its row
/// again; the caller deletes its `track_seen` row ([`CLEAR_SEEN`]).
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    let parts = upsert_parts("?1", "?2", "1", sqlite_distinct, stored_mark);
    format!(
        "{relation}
INSERT INTO tracks ({insert})
SELECT {select}
FROM t LEFT JOIN tracks AS cur ON cur.source = ?1 AND cur.source_track_slug = t.slug
LEFT JOIN track_seen AS sn ON sn.track_id = cur.id
WHERE {changed}
ON CONFLICT (source, source_track_slug) DO UPDATE SET
    {update}
WHERE {conflict}
RETURNING id, source_track_slug",
        relation = json_relation("?3", &input_columns()),
        insert = parts.insert_columns,
        select = parts.select_list,
        changed = parts.changed_filter,
        update = parts.update_set,
        conflict = parts.conflict_filter,
    )
});

/// Insert the batch's new tracks (those the lookup found unstored: exact,
/// since the writer lock is held from `BEGIN IMMEDIATE`) with exactly the
/// values the upsert's merge gives a track with no stored row: the input
/// row carries NULL for every dashboard, coordinate and bookkeeping value
/// the merge would not take from it (see `prepare::InputRow`). A plain
/// insert: no stored row to probe and merge with, no conflict to arbitrate.
/// Each row's fields are extracted once from its materialised JSON text.
static INSERT_NEW: LazyLock<String> = LazyLock::new(|| {
    let cols = new_track_columns();
    let inputs = input_columns();
    let mut values = vec!["?1".to_owned()];
    for col in &cols[1..cols.len() - 6] {
        let name = if *col == "source_track_slug" {
            "slug"
        } else {
            col
        };
        let k = inputs
            .iter()
            .position(|(c, _)| *c == name)
            .expect("every input column is in the JSON row");
        values.push(format!("raw.v ->> {k}"));
    }
    // is_active, deactivated_at, first_seen_at, last_seen_at, created_at,
    // updated_at (`new_track_columns` order).
    values.extend(["1", "NULL", "?2", "?2", "?2", "?2"].map(str::to_owned));
    format!(
        "WITH raw AS MATERIALIZED (SELECT j.value AS v FROM json_each(?3) AS j)
INSERT INTO tracks ({})
SELECT {} FROM raw",
        cols.join(", "),
        values.join(", ")
    )
});

/// Delete the `track_seen` rows of these track ids (a JSON array): the
/// upsert rewrote the tracks, with their marks.
const CLEAR_SEEN: &str =
    "DELETE FROM track_seen WHERE track_id IN (SELECT value FROM json_each(?1))";

/// Mark the batch's tracks the upsert did not rewrite as seen, and move their
/// fetch bookkeeping: into their narrow `track_seen` row (inserted or
/// updated), never the `tracks` row, so neither `updated_at` nor the wide
/// row moves. Tracks already holding these values are skipped.
static MARK_SEEN: LazyLock<String> = LazyLock::new(|| {
    let from = "t JOIN tracks AS cur ON cur.source = ?1 AND cur.source_track_slug = t.slug
LEFT JOIN track_seen AS sn ON sn.track_id = cur.id";
    let with = format!("{}\n", json_relation("?3", &seen_inputs()));
    mark_seen_sql(&with, from, "?2", sqlite_distinct, stored_mark)
});

/// Which of the batch's slugs are stored, and whether active.
const EXISTING_IN_BATCH: &str = "SELECT source_track_slug, is_active FROM tracks
WHERE source = ?1 AND source_track_slug IN (SELECT value FROM json_each(?2))";

fn to_json(context: &str, value: &impl Serialize) -> Result<String, RepositoryError> {
    serde_json::to_string(value)
        .map_err(|e| RepositoryError::Rejected(format!("{context}: cannot encode input: {e}")))
}

/// The track writes of a batch (`Driver::write_tracks`): find which of its
/// tracks are stored (and which of those inactive), insert the new ones (one
/// statement; with `NewTracks::Merge`, through the upsert instead), upsert
/// the stored ones (one statement), delete the `track_seen` rows of those it
/// rewrote, then mark seen the ones it did not rewrite (one statement).
/// `changes_recorded` is left at 0.
pub(crate) async fn write_tracks(
    tx: &mut SqliteConnection,
    source: &str,
    seen_at: DateTime<Utc>,
    rows: &[&InputRow<'_>],
    new_tracks: NewTracks,
) -> Result<BatchOutcome, Attempt> {
    let seen_at = encode_time(seen_at);
    let slugs: Vec<&str> = rows.iter().map(|r| r.slug).collect();
    // Slug → is_active of the batch's stored tracks. Inside the write
    // transaction, so it is exactly what the upsert will meet; it tells
    // inserts from updates (SQLite has no xmax) and finds reactivations.
    let existing: HashMap<String, bool> = sqlx::query_as(EXISTING_IN_BATCH)
        .bind(source)
        .bind(to_json("apply_batch", &slugs)?)
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx(SQ, "apply_batch: find stored tracks"))?
        .into_iter()
        .collect();
    let reactivated: Vec<String> = slugs
        .iter()
        .filter(|slug| existing.get(**slug) == Some(&false))
        .map(|slug| (*slug).to_owned())
        .collect();

    let (merged, new): (Vec<&InputRow<'_>>, Vec<&InputRow<'_>>) = rows
        .iter()
        .partition(|r| new_tracks == NewTracks::Merge || existing.contains_key(r.slug));
    let mut inserted = 0;
    if !new.is_empty() {
        inserted = sqlx::query(INSERT_NEW.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(json_rows(&new, &input_columns())?)
            .execute(&mut *tx)
            .await
            .map_err(ctx(SQ, "apply_batch: upsert tracks: insert new tracks"))?
            .rows_affected();
    }

    let mut returned: Vec<(i64, String)> = Vec::new();
    if !merged.is_empty() {
        returned = sqlx::query_as(UPSERT.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(json_rows(&merged, &input_columns())?)
            .fetch_all(&mut *tx)
            .await
            .map_err(ctx(SQ, "apply_batch: upsert tracks"))?;
    }
    if !returned.is_empty() {
        let ids: Vec<i64> = returned.iter().map(|(id, _)| *id).collect();
        sqlx::query(CLEAR_SEEN)
            .bind(to_json("apply_batch", &ids)?)
            .execute(&mut *tx)
            .await
            .map_err(ctx(SQ, "apply_batch: clear seen marks"))?;
    }

    // The rows the upsert rewrote took last_seen_at and the bookkeeping there.
    let rewritten: HashSet<&str> = returned.iter().map(|(_, slug)| slug.as_str()).collect();
    let untouched: Vec<&InputRow<'_>> = merged
        .iter()
        .copied()
        .filter(|r| !rewritten.contains(r.slug))
        .collect();
    let mut marked = 0;
    if !untouched.is_empty() {
        marked = sqlx::query(MARK_SEEN.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(json_rows(&untouched, &seen_inputs())?)
            .execute(&mut *tx)
            .await
            .map_err(ctx(SQ, "apply_batch: mark seen"))?
            .rows_affected();
    }
    tracing::debug!(
        rows = rows.len(),
        inserted,
        rewritten = returned.len(),
        seen_marked = marked,
        "tracks upserted"
    );

    // Under the writer lock the lookup is exact: a rewritten track it did
    // not find was inserted.
    let merged_inserted = rewritten
        .iter()
        .filter(|s| !existing.contains_key(**s))
        .count() as u64;
    let inserted = inserted + merged_inserted;
    let updated = returned.len() as u64 - merged_inserted;
    Ok(BatchOutcome {
        inserted,
        updated,
        unchanged: rows.len() as u64 - inserted - updated,
        reactivated,
        changes_recorded: 0,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use ingest_core::UpsertBatch;
    use uuid::Uuid;

    use super::*;
    use crate::prepare::prepare;

    #[test]
    fn json_rows_carry_exactly_the_input_columns() {
        let catalogue = ingest_core::CatalogueFields {
            name: "n".into(),
            track_url: "u".into(),
            events_url: "e".into(),
            last_updated_text: None,
            last_updated_at: None,
            is_live: false,
            live_video: false,
            status: "idle".into(),
            featured: false,
            current_event: None,
        };
        let upsert = ingest_core::TrackUpsert {
            slug: "s".into(),
            catalogue,
            metadata: ingest_core::MetadataUpdate::Unknown,
            geo: ingest_core::GeoUpdate::Keep,
        };
        let batch = UpsertBatch {
            run_id: Uuid::nil(),
            source: "liverc".into(),
            seen_at: Utc::now(),
            tracks: vec![upsert],
            changes: vec![],
            checkpoint: None,
        };
        let prepared = prepare(&batch).expect("valid");
        let cols = input_columns();
        let row = JsonRow {
            row: &prepared.rows[0],
            cols: &cols,
        };
        let value = serde_json::to_value(row).expect("json");
        let array = value.as_array().expect("a row is an array");
        assert_eq!(array.len(), cols.len());
        let field = |name: &str| {
            let k = cols.iter().position(|(c, _)| *c == name).expect("a column");
            array[k].clone()
        };
        assert_eq!(field("slug"), "s");
        assert_eq!(field("name"), "n");
        assert_eq!(field("is_live"), false);
        assert_eq!(field("meta_kind"), 0);
        assert!(field("metadata_fetched_at").is_null());
        assert_eq!(
            json_rows(&[&prepared.rows[0]], &seen_inputs()).expect("json"),
            r#"[["s",0,null,null,null]]"#
        );
    }
}
