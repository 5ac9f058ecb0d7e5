//! The repository on embedded SQLite: the same set-based statements as on
//! Postgres, with the batch passed as one JSON array (of arrays) and unpacked
//! by `json_each`. One writer connection (writes queue in the pool and each runs
//! `BEGIN IMMEDIATE`), a few reader connections beside it (WAL). A job's
//! batch (or `finish_run`) starts its transaction with the lease fence of
//! `jobs::sqlite`, and a batch ends it by adding its slugs to the job's
//! checkpoint.
//!
//! Timestamps are TEXT in the fixed-width form `YYYY-MM-DDTHH:MM:SS.ffffffZ`
//! (UTC, microseconds), so text order is time order; the schema refuses any
//! other shape.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{
    BatchOutcome, DeactivatedTrack, FinishOutcome, FinishRun, PendingDeactivation, RepositoryError,
    StoredTrack, SyncState, TrackQuery, TrackRepository, TrackSnapshot, UpsertBatch,
};
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};
use uuid::Uuid;

use crate::columns::{
    SEEN_MARKS, TRACKS_WITH_SEEN, mark_seen_parts, new_track_columns, seen_value, snapshot_select,
    sqlite_distinct, stored_track_select, upsert_parts,
};
use crate::config::StoreConfig;
use crate::error::{Dialect, ctx, map_migrate};
use crate::jobs;
use crate::prepare::{
    ChangeRow, InputRow, changes_with_reactivations, clear_groups, deactivation_change, grace_runs,
    micros, prepare,
};
use crate::row::{self, ColumnReader};

const SQ: Dialect = Dialect::Sqlite;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A timestamp as stored: UTC, microseconds, fixed width.
pub(crate) fn encode_time(at: DateTime<Utc>) -> String {
    micros(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Read a stored timestamp back.
pub(crate) fn decode_time(col: &str, text: &str) -> Result<DateTime<Utc>, RepositoryError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| row::corrupt(col, format!("{text:?} is not a timestamp: {e}")))
}

/// The track repository on SQLite.
///
/// Cheap to clone (the pools are reference-counted).
#[derive(Debug, Clone)]
pub struct SqliteTrackRepository {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Read-only (`query_only`) connections; the writer itself for an
    /// in-memory database.
    reader: SqlitePool,
}

impl SqliteTrackRepository {
    /// Open `url` (`sqlite://path`, `sqlite:path`, `sqlite::memory:`),
    /// creating the file and its parent directory when missing, in WAL mode
    /// with `synchronous = NORMAL`, foreign keys on and a busy timeout. Does
    /// not migrate: see [`migrate`](Self::migrate) or the crate's `connect`.
    pub async fn connect(url: &str, config: &StoreConfig) -> Result<Self, RepositoryError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(ctx(SQ, "connect"))?
            .foreign_keys(true)
            .busy_timeout(config.sqlite_busy_timeout);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory
            && let Some(parent) = base.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                RepositoryError::Unavailable(format!(
                    "connect: cannot create directory {}: {e}",
                    parent.display()
                ))
            })?;
        }

        // Two processes opening one new file at once: switching it to WAL
        // can answer SQLITE_BUSY without waiting on the busy handler (SQLite
        // does not wait where waiting could deadlock). Try again, for as
        // long as the busy timeout would have waited.
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(10);
        let writer = loop {
            let attempt = SqlitePoolOptions::new()
                .max_connections(1)
                // Keep the connection: it holds an in-memory database alive
                // and saves reopening (and re-checkpointing) a file.
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(config.acquire_timeout)
                .connect_with(
                    base.clone()
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                )
                .await;
            match attempt {
                Err(e) if is_busy(&e) && started.elapsed() < config.sqlite_busy_timeout => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                other => break other.map_err(ctx(SQ, "connect"))?,
            }
        };

        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .acquire_timeout(config.acquire_timeout)
                .connect_with(base.pragma("query_only", "ON"))
                .await
                .map_err(ctx(SQ, "connect readers"))?
        };
        Ok(SqliteTrackRepository { writer, reader })
    }

    /// Apply every pending migration of `migrations/sqlite`.
    ///
    /// sqlx's migrator takes no lock on SQLite (it does on Postgres): two
    /// processes opening one fresh file at once would both find nothing
    /// applied, and the second would fail on the first's tables ("table
    /// sync_jobs already exists"). So the whole run is one `BEGIN
    /// IMMEDIATE` transaction on the writer (sqlx applies each migration in
    /// a savepoint of it): a second process waits for the write lock, up to
    /// the busy timeout, then finds every migration applied.
    pub async fn migrate(&self) -> Result<(), RepositoryError> {
        let mut tx = self.begin_write("migrate: begin").await?;
        // `run_direct` is what `run` calls once it holds a connection; called
        // with the transaction's, the future stays `Send` (through `run`,
        // rustc cannot prove `Acquire` for every lifetime of `&mut
        // SqliteConnection`).
        MIGRATOR
            .run_direct(None, &mut *tx, false)
            .await
            .map_err(|e| map_migrate(SQ, e))?;
        tx.commit().await.map_err(ctx(SQ, "migrate: commit"))
    }

    /// The single writer connection's pool.
    pub(crate) fn writer_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool.
    pub(crate) fn reader_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// Close every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn begin_write(
        &self,
        context: &str,
    ) -> Result<Transaction<'static, Sqlite>, RepositoryError> {
        // IMMEDIATE takes the write lock up front: a read-then-write
        // transaction cannot fail half-way with SQLITE_BUSY_SNAPSHOT because
        // another process wrote in between; contention waits busy_timeout.
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(ctx(SQ, context))
    }
}

/// SQLITE_BUSY (and its extended codes): another connection holds a lock.
fn is_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

/// Declare a row type that serialises as a JSON array (not an object: a
/// positional array parses about twice as fast in SQLite), together with the
/// list of its columns in that order, from which the statements read element
/// `k` as column `k`. One list, so the two cannot drift apart.
macro_rules! json_row {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug)]
        struct $name<'a> {
            $($field: $ty,)*
        }

        impl $name<'_> {
            /// The array's elements, in order.
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl Serialize for $name<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                let mut seq = serializer.serialize_seq(Some(Self::COLUMNS.len()))?;
                $(seq.serialize_element(&self.$field)?;)*
                seq.end()
            }
        }
    };
}

json_row! {
    /// One upsert: every input column (`columns::input_columns`).
    JsonRow {
        slug: &'a str,
        meta_kind: i16,
        geo_kind: i16,
        // CATALOGUE
        name: &'a str,
        track_url: &'a str,
        events_url: &'a str,
        last_updated_text: Option<&'a str>,
        last_updated_at: Option<String>,
        is_live: bool,
        live_video: bool,
        status: &'a str,
        featured: bool,
        current_event: Option<&'a str>,
        // DASHBOARD
        street: Option<&'a str>,
        city: Option<&'a str>,
        state: Option<&'a str>,
        postal_code: Option<&'a str>,
        country: Option<&'a str>,
        country_code: Option<&'a str>,
        phone: Option<&'a str>,
        website: Option<&'a str>,
        email: Option<&'a str>,
        description: Option<&'a str>,
        logo_url: Option<&'a str>,
        facebook_url: Option<&'a str>,
        map_query: Option<&'a str>,
        total_laps: Option<i64>,
        total_practice_sessions: Option<i64>,
        total_races: Option<i64>,
        total_entries: Option<i64>,
        total_events: Option<i64>,
        metadata_source_url: Option<&'a str>,
        content_hash: Option<&'a str>,
        // GEO
        latitude: Option<f64>,
        longitude: Option<f64>,
        geocode_provider: Option<&'a str>,
        geocode_query: Option<&'a str>,
        geocoded_at: Option<String>,
        // FETCH
        metadata_fetched_at: Option<String>,
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
    }
}

impl<'a> From<&InputRow<'a>> for JsonRow<'a> {
    fn from(r: &InputRow<'a>) -> Self {
        let c = r.catalogue;
        let p = r.profile;
        JsonRow {
            slug: r.slug,
            meta_kind: r.meta_kind,
            geo_kind: r.geo_kind,
            name: &c.name,
            track_url: &c.track_url,
            events_url: &c.events_url,
            last_updated_text: c.last_updated_text.as_deref(),
            last_updated_at: r.last_updated_at.map(encode_time),
            is_live: c.is_live,
            live_video: c.live_video,
            status: &c.status,
            featured: c.featured,
            current_event: c.current_event.as_deref(),
            street: p.and_then(|p| p.street.as_deref()),
            city: p.and_then(|p| p.city.as_deref()),
            state: p.and_then(|p| p.state.as_deref()),
            postal_code: p.and_then(|p| p.postal_code.as_deref()),
            country: p.and_then(|p| p.country.as_deref()),
            country_code: p.and_then(|p| p.country_code.as_deref()),
            phone: p.and_then(|p| p.phone.as_deref()),
            website: p.and_then(|p| p.website.as_deref()),
            email: p.and_then(|p| p.email.as_deref()),
            description: p.and_then(|p| p.description.as_deref()),
            logo_url: p.and_then(|p| p.logo_url.as_deref()),
            facebook_url: p.and_then(|p| p.facebook_url.as_deref()),
            map_query: p.and_then(|p| p.map_query.as_deref()),
            total_laps: p.and_then(|p| p.total_laps),
            total_practice_sessions: p.and_then(|p| p.total_practice_sessions),
            total_races: p.and_then(|p| p.total_races),
            total_entries: p.and_then(|p| p.total_entries),
            total_events: p.and_then(|p| p.total_events),
            metadata_source_url: r.metadata_source_url,
            content_hash: r.content_hash,
            latitude: r.geo.map(|g| g.latitude),
            longitude: r.geo.map(|g| g.longitude),
            geocode_provider: r.geo.map(|g| g.provider.as_str()),
            geocode_query: r.geo.map(|g| g.query.as_str()),
            geocoded_at: r.geocoded_at.map(encode_time),
            metadata_fetched_at: r.metadata_fetched_at.map(encode_time),
            etag: r.etag,
            last_modified: r.last_modified,
        }
    }
}

json_row! {
    /// What the mark-seen statement needs of one upsert.
    SeenRow {
        slug: &'a str,
        meta_kind: i16,
        metadata_fetched_at: Option<String>,
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
    }
}

/// The input relation `t` as CTEs over the JSON array of arrays bound at
/// `param`, element `k` of each row being `cols[k]`: each row's text is
/// materialised once (`raw`), then every field is extracted from it (`t`).
/// Extracting straight from `json_each`'s `value` renders the row anew for
/// every field, which measured slower than the naive baseline.
fn json_relation(param: &str, cols: &[&str]) -> String {
    let fields: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| format!("raw.v ->> {k} AS {c}"))
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
        relation = json_relation("?3", JsonRow::COLUMNS),
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
    let mut values = vec!["?1".to_owned()];
    for col in &cols[1..cols.len() - 6] {
        let name = if *col == "source_track_slug" {
            "slug"
        } else {
            col
        };
        let k = JsonRow::COLUMNS
            .iter()
            .position(|c| *c == name)
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
    let (values, changed) = mark_seen_parts("?2", sqlite_distinct, stored_mark);
    let update: Vec<String> = SEEN_MARKS
        .iter()
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    format!(
        "{relation}
INSERT INTO track_seen (track_id, {cols})
SELECT cur.id, {values}
FROM t JOIN tracks AS cur ON cur.source = ?1 AND cur.source_track_slug = t.slug
LEFT JOIN track_seen AS sn ON sn.track_id = cur.id
WHERE {changed}
ON CONFLICT (track_id) DO UPDATE SET {update}",
        relation = json_relation("?3", SeenRow::COLUMNS),
        cols = SEEN_MARKS.join(", "),
        update = update.join(", "),
    )
});

/// Which of the batch's slugs are stored, and whether active.
const EXISTING_IN_BATCH: &str = "SELECT source_track_slug, is_active FROM tracks
WHERE source = ?1 AND source_track_slug IN (SELECT value FROM json_each(?2))";

/// Record field changes. A slug with no stored track leaves `track_id` NULL,
/// which the NOT NULL constraint refuses: the whole transaction fails.
const INSERT_CHANGES: &str = "INSERT INTO track_changes
    (run_id, track_id, source, slug, field, old_value, new_value, changed_at)
SELECT ?1, tr.id, ?2, c.value ->> 'slug', c.value ->> 'field',
       c.value ->> 'old_value', c.value ->> 'new_value', ?3
FROM json_each(?4) AS c
LEFT JOIN tracks AS tr ON tr.source = ?2 AND tr.source_track_slug = c.value ->> 'slug'
WHERE true
ORDER BY c.key
ON CONFLICT (run_id, track_id, field) DO NOTHING";

/// Deactivate the source's active tracks missing from the catalogue.
/// Listed tracks are missing no longer (see the Postgres twin).
const RESET_MISSING: &str = "DELETE FROM track_missing
WHERE track_id IN (
    SELECT m.track_id FROM track_missing AS m JOIN tracks AS tr ON tr.id = m.track_id
    WHERE tr.source = ?1 AND tr.source_track_slug IN (SELECT value FROM json_each(?2)))";

/// One more complete catalogue without them, once per run id.
const COUNT_MISSING: &str = "INSERT INTO track_missing
    (track_id, missing_runs, first_missing_at, last_run_id)
SELECT id, 1, ?3, ?4 FROM tracks
WHERE source = ?1 AND is_active
  AND source_track_slug NOT IN (SELECT value FROM json_each(?2))
ON CONFLICT (track_id) DO UPDATE SET
    missing_runs = missing_runs + 1, last_run_id = excluded.last_run_id
WHERE last_run_id <> excluded.last_run_id";

/// Deactivate the source's active tracks missing for `?3` runs.
const DEACTIVATE: &str = "UPDATE tracks
SET is_active = 0, deactivated_at = ?2, updated_at = ?2
WHERE source = ?1 AND is_active
  AND id IN (SELECT track_id FROM track_missing WHERE missing_runs >= ?3)
RETURNING source_track_slug, name, first_seen_at,
    COALESCE((SELECT sn.last_seen_at FROM track_seen AS sn WHERE sn.track_id = tracks.id),
             last_seen_at) AS last_seen_at";

/// The deactivated tracks' counts go with them.
const DROP_DEACTIVATED_MISSING: &str = "DELETE FROM track_missing
WHERE track_id IN (
    SELECT m.track_id FROM track_missing AS m JOIN tracks AS tr ON tr.id = m.track_id
    WHERE tr.source = ?1 AND NOT tr.is_active)";

/// Missing tracks still within the grace period.
const PENDING_MISSING: &str = "SELECT tr.source_track_slug, tr.name, m.missing_runs,
    COALESCE(sn.last_seen_at, tr.last_seen_at) AS last_seen_at
FROM track_missing AS m
JOIN tracks AS tr ON tr.id = m.track_id
LEFT JOIN track_seen AS sn ON sn.track_id = tr.id
WHERE tr.source = ?1 AND tr.is_active
ORDER BY tr.source_track_slug";

/// Clear one profile column (`{col}`, checked against the drift guard's
/// fields) of the listed tracks (`?2`: `[[slug, stored value], …]`) whose
/// stored value is still the one the run kept. The column name is safe in
/// SQL: `clear_groups` admits only the guard's own field names.
fn clear_field_sql(col: &str) -> String {
    format!(
        "UPDATE tracks SET {col} = NULL, updated_at = ?3
FROM (SELECT value ->> 0 AS slug, value ->> 1 AS old FROM json_each(?2)) AS c
WHERE tracks.source = ?1 AND tracks.source_track_slug = c.slug AND tracks.{col} = c.old
RETURNING tracks.source_track_slug"
    )
}

const UPSERT_SYNC_STATE: &str =
    "INSERT INTO track_sync_state (source, last_success_at, last_run_id)
VALUES (?1, ?2, ?3)
ON CONFLICT (source) DO UPDATE SET
    last_success_at = excluded.last_success_at,
    last_run_id = excluded.last_run_id";

static SNAPSHOT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN} WHERE tr.source = ?1 ORDER BY tr.source_track_slug",
        snapshot_select()
    )
});

static GET_TRACKS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = ?1 AND tr.source_track_slug IN (SELECT value FROM json_each(?2))
ORDER BY tr.source_track_slug",
        stored_track_select()
    )
});

static LIST_ACTIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = ?1 AND tr.is_active
ORDER BY tr.source_track_slug LIMIT ?2 OFFSET ?3",
        stored_track_select()
    )
});

static LIST_ALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = ?1
ORDER BY tr.source_track_slug LIMIT ?2 OFFSET ?3",
        stored_track_select()
    )
});

impl ColumnReader for SqliteRow {
    row::plain_columns!();

    fn time(&self, col: &str) -> Result<DateTime<Utc>, RepositoryError> {
        let text: String = self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        decode_time(col, &text)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, RepositoryError> {
        let text: Option<String> = self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        text.map(|t| decode_time(col, &t)).transpose()
    }
}

fn to_json(context: &str, value: &impl Serialize) -> Result<String, RepositoryError> {
    serde_json::to_string(value)
        .map_err(|e| RepositoryError::Rejected(format!("{context}: cannot encode input: {e}")))
}

fn run_id_text(run_id: Uuid) -> String {
    run_id.hyphenated().to_string()
}

/// Insert change rows; returns how many were new.
async fn insert_changes(
    tx: &mut Transaction<'static, Sqlite>,
    run_id: Uuid,
    source: &str,
    changed_at: DateTime<Utc>,
    changes: &[ChangeRow<'_>],
) -> Result<u64, RepositoryError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(INSERT_CHANGES)
        .bind(run_id_text(run_id))
        .bind(source)
        .bind(encode_time(changed_at))
        .bind(to_json("record field changes", &changes)?)
        .execute(&mut **tx)
        .await
        .map_err(ctx(
            SQ,
            "record field changes (every change must name a stored track)",
        ))?;
    Ok(result.rows_affected())
}

/// The track writes of a batch: find which of its tracks are stored (and
/// which of those inactive), insert the new ones (one statement), upsert the
/// stored ones (one statement), delete the `track_seen` rows of those it
/// rewrote, then mark seen the ones it did not rewrite (one statement).
/// `changes_recorded` is left at 0.
async fn upsert_tracks(
    tx: &mut Transaction<'static, Sqlite>,
    source: &str,
    seen_at: DateTime<Utc>,
    rows: &[InputRow<'_>],
) -> Result<BatchOutcome, RepositoryError> {
    if rows.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let seen_at = encode_time(seen_at);
    // In key order: the statements probe and extend the unique key row after
    // row, and neighbouring keys share pages. New tracks get their ids in
    // this order too.
    let mut sorted: Vec<&InputRow<'_>> = rows.iter().collect();
    sorted.sort_unstable_by_key(|r| r.slug);
    let slugs: Vec<&str> = sorted.iter().map(|r| r.slug).collect();
    // Slug → is_active of the batch's stored tracks. Inside the write
    // transaction, so it is exactly what the upsert will meet; it tells
    // inserts from updates (SQLite has no xmax) and finds reactivations.
    let existing: HashMap<String, bool> = sqlx::query_as(EXISTING_IN_BATCH)
        .bind(source)
        .bind(to_json("apply_batch", &slugs)?)
        .fetch_all(&mut **tx)
        .await
        .map_err(ctx(SQ, "apply_batch: find stored tracks"))?
        .into_iter()
        .collect();
    let reactivated: Vec<String> = slugs
        .iter()
        .filter(|slug| existing.get(**slug) == Some(&false))
        .map(|slug| (*slug).to_owned())
        .collect();

    let (stored, new): (Vec<&InputRow<'_>>, Vec<&InputRow<'_>>) =
        sorted.iter().partition(|r| existing.contains_key(r.slug));
    let mut inserted = 0;
    if !new.is_empty() {
        let json_rows: Vec<JsonRow<'_>> = new.iter().map(|r| JsonRow::from(*r)).collect();
        inserted = sqlx::query(INSERT_NEW.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(to_json("apply_batch", &json_rows)?)
            .execute(&mut **tx)
            .await
            .map_err(ctx(SQ, "apply_batch: upsert tracks: insert new tracks"))?
            .rows_affected();
    }

    let mut returned: Vec<(i64, String)> = Vec::new();
    if !stored.is_empty() {
        let json_rows: Vec<JsonRow<'_>> = stored.iter().map(|r| JsonRow::from(*r)).collect();
        returned = sqlx::query_as(UPSERT.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(to_json("apply_batch", &json_rows)?)
            .fetch_all(&mut **tx)
            .await
            .map_err(ctx(SQ, "apply_batch: upsert tracks"))?;
    }
    if !returned.is_empty() {
        let ids: Vec<i64> = returned.iter().map(|(id, _)| *id).collect();
        sqlx::query(CLEAR_SEEN)
            .bind(to_json("apply_batch", &ids)?)
            .execute(&mut **tx)
            .await
            .map_err(ctx(SQ, "apply_batch: clear seen marks"))?;
    }

    // The rows the upsert rewrote took last_seen_at and the bookkeeping there.
    let rewritten: HashSet<&str> = returned.iter().map(|(_, slug)| slug.as_str()).collect();
    let seen_rows: Vec<SeenRow<'_>> = stored
        .iter()
        .filter(|r| !rewritten.contains(r.slug))
        .map(|r| SeenRow {
            slug: r.slug,
            meta_kind: r.meta_kind,
            metadata_fetched_at: r.metadata_fetched_at.map(encode_time),
            etag: r.etag,
            last_modified: r.last_modified,
        })
        .collect();
    let mut marked = 0;
    if !seen_rows.is_empty() {
        marked = sqlx::query(MARK_SEEN.as_str())
            .bind(source)
            .bind(&seen_at)
            .bind(to_json("apply_batch", &seen_rows)?)
            .execute(&mut **tx)
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

    let updated = returned.len() as u64;
    Ok(BatchOutcome {
        inserted,
        updated,
        unchanged: rows.len() as u64 - inserted - updated,
        reactivated,
        changes_recorded: 0,
    })
}

#[async_trait]
impl TrackRepository for SqliteTrackRepository {
    async fn snapshot(&self, source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError> {
        let rows = sqlx::query(SNAPSHOT.as_str())
            .bind(source)
            .fetch_all(&self.reader)
            .await
            .map_err(ctx(SQ, "snapshot"))?;
        rows.iter().map(row::snapshot).collect()
    }

    async fn get_tracks(
        &self,
        source: &str,
        slugs: &[String],
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(GET_TRACKS.as_str())
            .bind(source)
            .bind(to_json("get_tracks", &slugs)?)
            .fetch_all(&self.reader)
            .await
            .map_err(ctx(SQ, "get_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn apply_batch(&self, batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError> {
        let prepared = prepare(batch)?;
        let mut tx = self.begin_write("apply_batch: begin").await?;
        // First: a superseded lease writes nothing.
        if let Some(checkpoint) = &batch.checkpoint {
            jobs::sqlite::fence(
                &mut tx,
                &checkpoint.lease,
                Some(&checkpoint.state),
                "apply_batch: checkpoint",
            )
            .await?;
        }
        let mut outcome =
            upsert_tracks(&mut tx, &batch.source, prepared.seen_at, &prepared.rows).await?;
        let changes = changes_with_reactivations(&batch.changes, &outcome.reactivated);
        outcome.changes_recorded = insert_changes(
            &mut tx,
            batch.run_id,
            &batch.source,
            prepared.seen_at,
            &changes,
        )
        .await?;
        if let Some(checkpoint) = &batch.checkpoint {
            let done: Vec<&str> = prepared.rows.iter().map(|r| r.slug).collect();
            jobs::sqlite::record_done(&mut tx, checkpoint.lease.job_id, &done).await?;
        }
        tx.commit().await.map_err(ctx(SQ, "apply_batch: commit"))?;
        Ok(outcome)
    }

    async fn finish_run(&self, finish: &FinishRun) -> Result<FinishOutcome, RepositoryError> {
        let finished_at = micros(finish.finished_at);
        let source = finish.source.as_str();
        let mut tx = self.begin_write("finish_run: begin").await?;
        if let Some(lease) = &finish.lease {
            jobs::sqlite::fence(&mut tx, lease, None, "finish_run: lease").await?;
        }

        // The drift guard's deferred clears.
        let mut cleared = Vec::new();
        for (col, group) in clear_groups(&finish.clear_fields)? {
            let pairs: Vec<(&str, Option<&str>)> = group
                .iter()
                .map(|c| (c.slug.as_str(), c.old_value.as_deref()))
                .collect();
            let rows = sqlx::query(AssertSqlSafe(clear_field_sql(col)))
                .bind(source)
                .bind(to_json("finish_run", &pairs)?)
                .bind(encode_time(finished_at))
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(SQ, "finish_run: clear held fields"))?;
            let done: HashSet<String> = rows
                .iter()
                .map(|r| r.text("source_track_slug"))
                .collect::<Result<_, _>>()?;
            cleared.extend(
                group
                    .into_iter()
                    .filter(|c| done.contains(&c.slug))
                    .cloned(),
            );
        }
        let changes: Vec<ChangeRow<'_>> = cleared.iter().map(ChangeRow::from).collect();
        insert_changes(&mut tx, finish.run_id, source, finished_at, &changes).await?;

        // Missing tracks: counts reset, grown, and the deactivation of those
        // missing for long enough.
        let listed = to_json("finish_run", &finish.listed)?;
        sqlx::query(RESET_MISSING)
            .bind(source)
            .bind(&listed)
            .execute(&mut *tx)
            .await
            .map_err(ctx(SQ, "finish_run: reset missing counts"))?;
        let mut deactivated = Vec::new();
        let mut pending = Vec::new();
        if finish.deactivate {
            sqlx::query(COUNT_MISSING)
                .bind(source)
                .bind(&listed)
                .bind(encode_time(finished_at))
                .bind(run_id_text(finish.run_id))
                .execute(&mut *tx)
                .await
                .map_err(ctx(SQ, "finish_run: count missing tracks"))?;
            let rows = sqlx::query(DEACTIVATE)
                .bind(source)
                .bind(encode_time(finished_at))
                .bind(grace_runs(finish))
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(SQ, "finish_run: deactivate"))?;
            for r in &rows {
                deactivated.push(DeactivatedTrack {
                    slug: r.text("source_track_slug")?,
                    name: r.text("name")?,
                    first_seen_at: r.time("first_seen_at")?,
                    last_seen_at: r.time("last_seen_at")?,
                });
            }
            deactivated.sort_by(|a, b| a.slug.cmp(&b.slug));
            let changes: Vec<ChangeRow<'_>> = deactivated
                .iter()
                .map(|d| deactivation_change(&d.slug))
                .collect();
            insert_changes(&mut tx, finish.run_id, source, finished_at, &changes).await?;
            sqlx::query(DROP_DEACTIVATED_MISSING)
                .bind(source)
                .execute(&mut *tx)
                .await
                .map_err(ctx(SQ, "finish_run: drop counts of deactivated tracks"))?;
            let rows = sqlx::query(PENDING_MISSING)
                .bind(source)
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(SQ, "finish_run: pending deactivations"))?;
            for r in &rows {
                let runs: i64 = r
                    .try_get("missing_runs")
                    .map_err(|e| row::corrupt("missing_runs", e))?;
                pending.push(PendingDeactivation {
                    slug: r.text("source_track_slug")?,
                    name: r.text("name")?,
                    missing_runs: u32::try_from(runs)
                        .map_err(|e| row::corrupt("missing_runs", e))?,
                    last_seen_at: r.time("last_seen_at")?,
                });
            }
        }

        sqlx::query(UPSERT_SYNC_STATE)
            .bind(source)
            .bind(encode_time(finished_at))
            .bind(run_id_text(finish.run_id))
            .execute(&mut *tx)
            .await
            .map_err(ctx(SQ, "finish_run: store sync state"))?;

        tx.commit().await.map_err(ctx(SQ, "finish_run: commit"))?;
        Ok(FinishOutcome {
            deactivated,
            pending,
            cleared,
        })
    }

    async fn sync_state(&self, source: &str) -> Result<Option<SyncState>, RepositoryError> {
        let row = sqlx::query(
            "SELECT source, last_success_at, last_run_id FROM track_sync_state WHERE source = ?1",
        )
        .bind(source)
        .fetch_optional(&self.reader)
        .await
        .map_err(ctx(SQ, "sync_state"))?;
        row.map(|r| {
            let run_id = r.text("last_run_id")?;
            Ok(SyncState {
                source: r.text("source")?,
                last_success_at: r.time("last_success_at")?,
                last_run_id: Uuid::parse_str(&run_id)
                    .map_err(|e| row::corrupt("last_run_id", e))?,
            })
        })
        .transpose()
    }

    async fn list_tracks(
        &self,
        source: &str,
        query: TrackQuery,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        let sql = if query.active_only {
            LIST_ACTIVE.as_str()
        } else {
            LIST_ALL.as_str()
        };
        let rows = sqlx::query(sql)
            .bind(source)
            .bind(i64::from(query.limit))
            .bind(i64::from(query.offset))
            .fetch_all(&self.reader)
            .await
            .map_err(ctx(SQ, "list_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn count_tracks(&self, source: &str, active_only: bool) -> Result<u64, RepositoryError> {
        let sql = if active_only {
            "SELECT count(*) FROM tracks WHERE source = ?1 AND is_active"
        } else {
            "SELECT count(*) FROM tracks WHERE source = ?1"
        };
        let count: i64 = sqlx::query_scalar(sql)
            .bind(source)
            .fetch_one(&self.reader)
            .await
            .map_err(ctx(SQ, "count_tracks"))?;
        u64::try_from(count).map_err(|e| row::corrupt("count", e))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_sort_as_text() {
        let a = Utc
            .timestamp_opt(1_700_000_000, 5_000)
            .single()
            .expect("valid");
        let b = Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .expect("valid");
        let c = Utc.timestamp_opt(1_800_000_000, 0).single().expect("valid");
        let (ea, eb, ec) = (encode_time(a), encode_time(b), encode_time(c));
        assert_eq!(ea, "2023-11-14T22:13:20.000005Z");
        assert_eq!(eb, "2023-11-14T22:13:20.123456Z");
        assert_eq!(ec.len(), 27);
        assert!(ea < eb && eb < ec);
        assert_eq!(decode_time("x", &eb).expect("parses"), micros(b));
        assert!(decode_time("x", "yesterday").is_err());
    }

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
        let value = serde_json::to_value(JsonRow::from(&prepared.rows[0])).expect("json");
        let array = value.as_array().expect("a row is an array");
        assert_eq!(array.len(), JsonRow::COLUMNS.len());
        assert_eq!(array[0], "s");
        assert_eq!(array[3], "n");

        let mut columns = JsonRow::COLUMNS.to_vec();
        let mut expected: Vec<&str> = crate::columns::input_columns()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        columns.sort_unstable();
        expected.sort_unstable();
        assert_eq!(
            columns, expected,
            "the JSON row carries exactly the input columns"
        );
    }
}
