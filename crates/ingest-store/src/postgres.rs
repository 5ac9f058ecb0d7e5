//! The repository on PostgreSQL: a batch is a fixed handful of round trips
//! in one transaction, whatever its size. Its new tracks are streamed into
//! `tracks` with a binary `COPY` (`pg_copy`); its stored tracks are merged
//! by set-based statements over typed arrays (one `$n::type[]` parameter per
//! column, unnested server-side). A job's batch (or `finish_run`) starts that
//! transaction with the lease fence of `jobs::postgres`, and a batch ends it
//! by adding its slugs to the job's checkpoint.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{
    BatchOutcome, DeactivatedTrack, FinishOutcome, FinishRun, PendingDeactivation, RepositoryError,
    StoredTrack, SyncState, TrackQuery, TrackRepository, TrackSnapshot, UpsertBatch,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::columns::{
    SEEN_MARKS, TRACKS_WITH_SEEN, input_columns, mark_seen_parts, new_track_columns, pg_distinct,
    seen_value, snapshot_select, stored_track_select, upsert_parts,
};
use crate::config::StoreConfig;
use crate::error::{Dialect, ctx, map, map_migrate};
use crate::jobs;
use crate::pg_copy::CopyEncoder;
use crate::prepare::{
    ChangeRow, InputRow, PreparedBatch, changes_with_reactivations, clear_groups,
    deactivation_change, grace_runs, micros, prepare,
};
use crate::row::{self, ColumnReader};

const PG: Dialect = Dialect::Postgres;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The track repository on PostgreSQL.
///
/// Cheap to clone (the pool is reference-counted).
#[derive(Debug, Clone)]
pub struct PgTrackRepository {
    pool: PgPool,
}

impl PgTrackRepository {
    /// Open a pool of up to `config.max_connections` connections to `url`
    /// (`postgres://…`). Establishes one connection before returning, so a
    /// wrong URL or a server that is down fails here, as
    /// `RepositoryError::Unavailable`. Does not migrate: see
    /// [`migrate`](Self::migrate) or the crate's `connect`.
    pub async fn connect(url: &str, config: &StoreConfig) -> Result<Self, RepositoryError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(ctx(PG, "connect"))?
            .application_name("ingest-store");
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(ctx(PG, "connect"))?;
        Ok(PgTrackRepository { pool })
    }

    /// Wrap an existing pool (its database must be migrated).
    pub fn from_pool(pool: PgPool) -> Self {
        PgTrackRepository { pool }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Apply every pending migration of `migrations/postgres`. Takes an
    /// advisory lock, so concurrent callers apply each migration once.
    pub async fn migrate(&self) -> Result<(), RepositoryError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| map_migrate(PG, e))
    }

    /// Close every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The upsert of the batch's stored tracks (of all its tracks, when a COPY
/// met a concurrent insert): one statement (its shape is explained at
/// `columns::UpsertParts`). `xmax = 0` tells a fresh insert from an update.
/// A rewritten track's marks are on its row again, so the same statement
/// deletes its `track_seen` row (see `columns::SEEN_MARKS`), by primary-key
/// probes: joined to the CTE instead, the planner hashes the whole of
/// `track_seen` for every batch (it cannot know how few rows were written).
///
/// Two measured choices:
/// - the input relation `t` unnests the typed arrays in the select list: a
///   ProjectSet zips them, where `FROM UNNEST(a, b, …)` (ROWS FROM)
///   materialises each of the 43 arrays first (3-5× slower);
/// - the stored row `cur` is fetched by a `LATERAL … LIMIT 1` probe of the
///   unique key, which the planner cannot turn into a hash join. With the
///   statistics of a freshly loaded table (`source = $1` gets the default
///   0.5% selectivity though every row matches) it would otherwise hash the
///   whole source for every batch: 361 ms instead of 6 ms for 1,000 tracks
///   against 100,000 stored.
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    let inputs = input_columns();
    let unnest: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, (col, ty))| format!("unnest(${}::{ty}[]) AS {col}", i + 3))
        .collect();
    let parts = upsert_parts(
        "$1::text",
        "$2::timestamptz",
        "true",
        pg_distinct,
        stored_mark,
    );
    format!(
        "WITH up AS (
INSERT INTO tracks ({insert})
SELECT {select}
FROM (SELECT {unnest}) AS t
LEFT JOIN LATERAL (
    SELECT {stored} FROM {TRACKS_WITH_SEEN}
    WHERE tr.source = $1 AND tr.source_track_slug = t.slug LIMIT 1
) AS cur ON true
WHERE {changed}
ON CONFLICT (source, source_track_slug) DO UPDATE SET
    {update}
WHERE {conflict}
RETURNING id, source_track_slug, (xmax = 0) AS inserted
), cleared AS (
DELETE FROM track_seen WHERE track_id = ANY (ARRAY(SELECT id FROM up))
)
SELECT source_track_slug, inserted FROM up",
        stored = stored_track_select(),
        insert = parts.insert_columns,
        select = parts.select_list,
        unnest = unnest.join(",\n        "),
        changed = parts.changed_filter,
        update = parts.update_set,
        conflict = parts.conflict_filter,
    )
});

/// `cur`'s seen mark `col`: the LATERAL projections below already read it
/// through `track_seen`.
fn stored_mark(col: &str) -> String {
    format!("cur.{col}")
}

/// Mark the batch's tracks the upsert did not rewrite as seen, and move their
/// fetch bookkeeping: into their narrow `track_seen` row (inserted or
/// updated), never the `tracks` row, so neither `updated_at` nor the wide
/// row moves. Tracks already holding these values are skipped. Keys are
/// resolved by unique-key probes, for the reason given at [`UPSERT`].
static MARK_SEEN: LazyLock<String> = LazyLock::new(|| {
    let (values, changed) = mark_seen_parts("$2::timestamptz", pg_distinct, stored_mark);
    let marks: Vec<String> = SEEN_MARKS
        .iter()
        .map(|col| format!("{} AS {col}", seen_value("tr", "sn", col)))
        .collect();
    let update: Vec<String> = SEEN_MARKS
        .iter()
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    format!(
        "INSERT INTO track_seen (track_id, {cols})
SELECT cur.id, {values}
FROM (SELECT unnest($3::text[]) AS slug, unnest($4::int2[]) AS meta_kind,
             unnest($5::timestamptz[]) AS metadata_fetched_at,
             unnest($6::text[]) AS etag, unnest($7::text[]) AS last_modified) AS t
CROSS JOIN LATERAL (
    SELECT tr.id, {marks} FROM {TRACKS_WITH_SEEN}
    WHERE tr.source = $1 AND tr.source_track_slug = t.slug LIMIT 1
) AS cur
WHERE {changed}
ON CONFLICT (track_id) DO UPDATE SET {update}",
        cols = SEEN_MARKS.join(", "),
        marks = marks.join(", "),
        update = update.join(", "),
    )
});

/// The stored tracks of a source in a key range, in key order, at most `$4`
/// of them, in the key's byte order (the column's `COLLATE "C"`, which is
/// Rust's `str` order): one range scan of the unique key (index-only where the
/// visibility map allows, since the key carries `is_active`) and no array
/// to send or unpack. The lookup of a batch tries this first, with a limit
/// of one more than the batch's size: a range holding no more stored tracks
/// than the batch has rows is answered whole (a fresh load: none at all),
/// else the lookup probes each slug with [`STORED_IN_BATCH`]. Measured on
/// 100,000 new tracks in one batch: 0.1 ms instead of 0.1 s.
const STORED_IN_RANGE: &str = "SELECT source_track_slug, is_active FROM tracks
WHERE source = $1 AND source_track_slug BETWEEN $2 AND $3
ORDER BY source_track_slug
LIMIT $4";

/// Which of the batch's slugs are stored, and whether active: one probe of
/// the unique key per slug (an index-only scan where the visibility map
/// allows, since the key carries `is_active`), for the reason given at
/// [`UPSERT`].
const STORED_IN_BATCH: &str = "SELECT k.source_track_slug, k.is_active
FROM unnest($2::text[]) AS s(slug)
CROSS JOIN LATERAL (
    SELECT source_track_slug, is_active FROM tracks
    WHERE source = $1 AND source_track_slug = s.slug LIMIT 1
) AS k";

/// Load new tracks: the stream carries every column of
/// `new_track_columns()`, with the values the upsert would give a track
/// that has no stored row (see [`encode_new_track`]).
static COPY_NEW_TRACKS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "COPY tracks ({}) FROM STDIN (FORMAT binary)",
        new_track_columns().join(", ")
    )
});

/// The unique key the COPY of new tracks can collide on.
const KEY_CONSTRAINT: &str = "tracks_source_slug_key";

/// Send the COPY stream in messages of about this size, so the server parses
/// one while the next is encoded.
const COPY_CHUNK: usize = 1 << 20;

/// Of these slugs (the ones the lookup found inactive: a handful at most),
/// the tracks still stored inactive, locked until commit: the batch
/// reactivates exactly these.
const INACTIVE_IN_BATCH: &str = "SELECT source_track_slug FROM tracks
WHERE source = $1 AND source_track_slug = ANY($2) AND NOT is_active
ORDER BY source_track_slug
FOR UPDATE";

/// Record field changes. A slug with no stored track leaves `track_id` NULL,
/// which the NOT NULL constraint refuses: the whole transaction fails.
const INSERT_CHANGES: &str = "INSERT INTO track_changes
    (run_id, track_id, source, slug, field, old_value, new_value, changed_at)
SELECT $1, tr.id, $2, c.slug, c.field, c.old_value, c.new_value, $3
FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[])
    WITH ORDINALITY AS c(slug, field, old_value, new_value, ord)
LEFT JOIN LATERAL (
    SELECT id FROM tracks WHERE source = $2 AND source_track_slug = c.slug LIMIT 1
) AS tr ON true
ORDER BY c.ord
ON CONFLICT (run_id, track_id, field) DO NOTHING";

/// Listed tracks are missing no longer: their counts go. (`track_missing`
/// holds only missing tracks: a handful of rows joined to the catalogue.)
const RESET_MISSING: &str = "DELETE FROM track_missing AS m
USING tracks AS tr, UNNEST($2::text[]) AS keep(slug)
WHERE m.track_id = tr.id AND tr.source = $1 AND tr.source_track_slug = keep.slug";

/// One more complete catalogue without them: the count of every active
/// track of the source not listed grows by one, once per run id.
const COUNT_MISSING: &str = "INSERT INTO track_missing AS m
    (track_id, missing_runs, first_missing_at, last_run_id)
SELECT tr.id, 1, $3, $4 FROM tracks AS tr
WHERE tr.source = $1 AND tr.is_active
  AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[]) AS keep(slug) WHERE keep.slug = tr.source_track_slug)
ON CONFLICT (track_id) DO UPDATE SET
    missing_runs = m.missing_runs + 1, last_run_id = excluded.last_run_id
WHERE m.last_run_id <> excluded.last_run_id";

/// Deactivate the source's active tracks missing for `$3` runs.
const DEACTIVATE: &str = "UPDATE tracks AS tr
SET is_active = false, deactivated_at = $2, updated_at = $2
FROM track_missing AS m
WHERE m.track_id = tr.id AND tr.source = $1 AND tr.is_active AND m.missing_runs >= $3
RETURNING tr.source_track_slug, tr.name, tr.first_seen_at,
    COALESCE((SELECT sn.last_seen_at FROM track_seen AS sn WHERE sn.track_id = tr.id),
             tr.last_seen_at) AS last_seen_at";

/// The deactivated tracks' counts go with them.
const DROP_DEACTIVATED_MISSING: &str = "DELETE FROM track_missing AS m
USING tracks AS tr
WHERE m.track_id = tr.id AND tr.source = $1 AND NOT tr.is_active";

/// Missing tracks still within the grace period.
const PENDING_MISSING: &str = "SELECT tr.source_track_slug, tr.name, m.missing_runs,
    COALESCE(sn.last_seen_at, tr.last_seen_at) AS last_seen_at
FROM track_missing AS m
JOIN tracks AS tr ON tr.id = m.track_id
LEFT JOIN track_seen AS sn ON sn.track_id = tr.id
WHERE tr.source = $1 AND tr.is_active
ORDER BY tr.source_track_slug";

/// Clear one profile column (`{col}`, checked against the drift guard's
/// fields) of the listed tracks whose stored value is still the one the run
/// kept. The column name is safe in SQL: `clear_groups` admits only the
/// guard's own field names.
fn clear_field_sql(col: &str) -> String {
    format!(
        "UPDATE tracks AS tr SET {col} = NULL, updated_at = $3
FROM UNNEST($2::text[], $4::text[]) AS c(slug, old)
WHERE tr.source = $1 AND tr.source_track_slug = c.slug AND tr.{col} = c.old
RETURNING tr.source_track_slug"
    )
}

const UPSERT_SYNC_STATE: &str =
    "INSERT INTO track_sync_state (source, last_success_at, last_run_id)
VALUES ($1, $2, $3)
ON CONFLICT (source) DO UPDATE SET
    last_success_at = excluded.last_success_at,
    last_run_id = excluded.last_run_id";

static SNAPSHOT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN} WHERE tr.source = $1 ORDER BY tr.source_track_slug",
        snapshot_select()
    )
});

static GET_TRACKS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1 AND tr.source_track_slug = ANY($2)
ORDER BY tr.source_track_slug",
        stored_track_select()
    )
});

static LIST_ACTIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1 AND tr.is_active
ORDER BY tr.source_track_slug LIMIT $2 OFFSET $3",
        stored_track_select()
    )
});

static LIST_ALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1
ORDER BY tr.source_track_slug LIMIT $2 OFFSET $3",
        stored_track_select()
    )
});

impl ColumnReader for PgRow {
    row::plain_columns!();

    fn time(&self, col: &str) -> Result<DateTime<Utc>, RepositoryError> {
        self.try_get(col).map_err(|e| row::corrupt(col, e))
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, RepositoryError> {
        self.try_get(col).map_err(|e| row::corrupt(col, e))
    }
}

/// One column of the batch as a Postgres array.
fn column<'a, T>(rows: &[&'a InputRow<'a>], f: impl Fn(&'a InputRow<'a>) -> T) -> Vec<T> {
    rows.iter().map(|r| f(r)).collect()
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Bind the upsert's parameters: source, seen_at, then one array per input
/// column in `input_columns()` order.
fn bind_upsert<'q>(
    query: PgQuery<'q>,
    source: &'q str,
    seen_at: DateTime<Utc>,
    rows: &[&'q InputRow<'q>],
) -> PgQuery<'q> {
    query
        .bind(source)
        .bind(seen_at)
        .bind(column(rows, |r| r.slug))
        .bind(column(rows, |r| r.meta_kind))
        .bind(column(rows, |r| r.geo_kind))
        // CATALOGUE
        .bind(column(rows, |r| r.catalogue.name.as_str()))
        .bind(column(rows, |r| r.catalogue.track_url.as_str()))
        .bind(column(rows, |r| r.catalogue.events_url.as_str()))
        .bind(column(rows, |r| r.catalogue.last_updated_text.as_deref()))
        .bind(column(rows, |r| r.last_updated_at))
        .bind(column(rows, |r| r.catalogue.is_live))
        .bind(column(rows, |r| r.catalogue.live_video))
        .bind(column(rows, |r| r.catalogue.status.as_str()))
        .bind(column(rows, |r| r.catalogue.featured))
        .bind(column(rows, |r| r.catalogue.current_event.as_deref()))
        // DASHBOARD
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.street.as_deref())
        }))
        .bind(column(rows, |r| r.profile.and_then(|p| p.city.as_deref())))
        .bind(column(rows, |r| r.profile.and_then(|p| p.state.as_deref())))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.postal_code.as_deref())
        }))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.country.as_deref())
        }))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.country_code.as_deref())
        }))
        .bind(column(rows, |r| r.profile.and_then(|p| p.phone.as_deref())))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.website.as_deref())
        }))
        .bind(column(rows, |r| r.profile.and_then(|p| p.email.as_deref())))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.description.as_deref())
        }))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.logo_url.as_deref())
        }))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.facebook_url.as_deref())
        }))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.map_query.as_deref())
        }))
        .bind(column(rows, |r| r.profile.and_then(|p| p.total_laps)))
        .bind(column(rows, |r| {
            r.profile.and_then(|p| p.total_practice_sessions)
        }))
        .bind(column(rows, |r| r.profile.and_then(|p| p.total_races)))
        .bind(column(rows, |r| r.profile.and_then(|p| p.total_entries)))
        .bind(column(rows, |r| r.profile.and_then(|p| p.total_events)))
        .bind(column(rows, |r| r.metadata_source_url))
        .bind(column(rows, |r| r.content_hash))
        // GEO
        .bind(column(rows, |r| r.geo.map(|g| g.latitude)))
        .bind(column(rows, |r| r.geo.map(|g| g.longitude)))
        .bind(column(rows, |r| r.geo.map(|g| g.provider.as_str())))
        .bind(column(rows, |r| r.geo.map(|g| g.query.as_str())))
        .bind(column(rows, |r| r.geocoded_at))
        // FETCH
        .bind(column(rows, |r| r.metadata_fetched_at))
        .bind(column(rows, |r| r.etag))
        .bind(column(rows, |r| r.last_modified))
}

/// Bind the mark-seen statement's parameters for these rows.
fn bind_mark_seen<'q>(
    query: PgQuery<'q>,
    source: &'q str,
    seen_at: DateTime<Utc>,
    rows: &[&'q InputRow<'q>],
) -> PgQuery<'q> {
    let slugs: Vec<&str> = rows.iter().map(|r| r.slug).collect();
    let kinds: Vec<i16> = rows.iter().map(|r| r.meta_kind).collect();
    let fetched: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.metadata_fetched_at).collect();
    let etags: Vec<Option<&str>> = rows.iter().map(|r| r.etag).collect();
    let modified: Vec<Option<&str>> = rows.iter().map(|r| r.last_modified).collect();
    query
        .bind(source)
        .bind(seen_at)
        .bind(slugs)
        .bind(kinds)
        .bind(fetched)
        .bind(etags)
        .bind(modified)
}

/// Insert change rows; returns how many were new.
async fn insert_changes(
    tx: &mut Transaction<'static, Postgres>,
    run_id: Uuid,
    source: &str,
    changed_at: DateTime<Utc>,
    changes: &[ChangeRow<'_>],
) -> Result<u64, RepositoryError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(INSERT_CHANGES)
        .bind(run_id)
        .bind(source)
        .bind(changed_at)
        .bind(changes.iter().map(|c| &*c.slug).collect::<Vec<&str>>())
        .bind(changes.iter().map(|c| c.field).collect::<Vec<&str>>())
        .bind(changes.iter().map(|c| c.old_value).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.new_value).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .map_err(ctx(
            PG,
            "record field changes (every change must name a stored track)",
        ))?;
    Ok(result.rows_affected())
}

/// Append one new track to the COPY stream, in `new_track_columns()` order,
/// with exactly the values the upsert's merge gives a track with no stored
/// row (`cur` all NULL): the catalogue; the dashboard when fetched, else
/// NULL; the coordinates when set, else NULL; the fetch bookkeeping as given
/// (`InputRow` carries none for `Unknown`); active, first and last seen,
/// created and updated at `seen_at`.
fn encode_new_track(enc: &mut CopyEncoder, source: &str, seen_at: DateTime<Utc>, r: &InputRow<'_>) {
    let c = r.catalogue;
    let p = r.profile;
    enc.row();
    enc.text(source);
    enc.text(r.slug);
    // CATALOGUE
    enc.text(&c.name);
    enc.text(&c.track_url);
    enc.text(&c.events_url);
    enc.opt_text(c.last_updated_text.as_deref());
    enc.opt_time(r.last_updated_at);
    enc.bool(c.is_live);
    enc.bool(c.live_video);
    enc.text(&c.status);
    enc.bool(c.featured);
    enc.opt_text(c.current_event.as_deref());
    // DASHBOARD
    enc.opt_text(p.and_then(|p| p.street.as_deref()));
    enc.opt_text(p.and_then(|p| p.city.as_deref()));
    enc.opt_text(p.and_then(|p| p.state.as_deref()));
    enc.opt_text(p.and_then(|p| p.postal_code.as_deref()));
    enc.opt_text(p.and_then(|p| p.country.as_deref()));
    enc.opt_text(p.and_then(|p| p.country_code.as_deref()));
    enc.opt_text(p.and_then(|p| p.phone.as_deref()));
    enc.opt_text(p.and_then(|p| p.website.as_deref()));
    enc.opt_text(p.and_then(|p| p.email.as_deref()));
    enc.opt_text(p.and_then(|p| p.description.as_deref()));
    enc.opt_text(p.and_then(|p| p.logo_url.as_deref()));
    enc.opt_text(p.and_then(|p| p.facebook_url.as_deref()));
    enc.opt_text(p.and_then(|p| p.map_query.as_deref()));
    enc.opt_i64(p.and_then(|p| p.total_laps));
    enc.opt_i64(p.and_then(|p| p.total_practice_sessions));
    enc.opt_i64(p.and_then(|p| p.total_races));
    enc.opt_i64(p.and_then(|p| p.total_entries));
    enc.opt_i64(p.and_then(|p| p.total_events));
    enc.opt_text(r.metadata_source_url);
    enc.opt_text(r.content_hash);
    // GEO
    enc.opt_f64(r.geo.map(|g| g.latitude));
    enc.opt_f64(r.geo.map(|g| g.longitude));
    enc.opt_text(r.geo.map(|g| g.provider.as_str()));
    enc.opt_text(r.geo.map(|g| g.query.as_str()));
    enc.opt_time(r.geocoded_at);
    // FETCH
    enc.opt_time(r.metadata_fetched_at);
    enc.opt_text(r.etag);
    enc.opt_text(r.last_modified);
    // LIFECYCLE: is_active, deactivated_at, first_seen_at, last_seen_at,
    // created_at, updated_at
    enc.bool(true);
    enc.null();
    for _ in 0..4 {
        enc.time(seen_at);
    }
}

/// Stream `rows` (tracks with no stored row) into `tracks`; returns how many
/// were written. The caller maps the error: a unique violation on the key
/// means a concurrent writer stored one of these slugs first.
async fn copy_new_tracks(
    tx: &mut Transaction<'static, Postgres>,
    source: &str,
    seen_at: DateTime<Utc>,
    rows: &[&InputRow<'_>],
) -> Result<u64, sqlx::Error> {
    let fields = new_track_columns().len();
    let mut enc = CopyEncoder::new(fields, COPY_CHUNK + COPY_CHUNK / 4);
    // On an error before `finish`, dropping `copy` sends CopyFail, and the
    // transaction rolls back.
    let mut copy = tx.copy_in_raw(COPY_NEW_TRACKS.as_str()).await?;
    for row in rows {
        encode_new_track(&mut enc, source, seen_at, row);
        if enc.pending().len() >= COPY_CHUNK {
            copy.send(enc.pending()).await?;
            enc.clear();
        }
    }
    enc.finish();
    copy.send(enc.pending()).await?;
    copy.finish().await
}

/// Whether `err` is the COPY of new tracks meeting a slug stored meanwhile.
fn is_key_race(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(KEY_CONSTRAINT))
}

/// How a batch's tracks with no stored row are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewTracks {
    /// Streamed by COPY: no conflict arbitration, so a slug stored by a
    /// concurrent writer after the lookup fails the COPY.
    Copy,
    /// Through the upsert with every other row, which arbitrates conflicts.
    Upsert,
}

/// Why a batch attempt stopped without writing anything.
#[derive(Debug)]
enum AttemptError {
    /// The COPY of new tracks met a slug a concurrent writer stored after
    /// the lookup; the transaction rolled back.
    KeyRace,
    Repository(RepositoryError),
}

impl From<RepositoryError> for AttemptError {
    fn from(err: RepositoryError) -> Self {
        AttemptError::Repository(err)
    }
}

/// Which of the batch's slugs (`sorted`: in key order, no duplicates) are
/// stored, and whether active: the stored keys of the batch's key range when
/// there are no more of them than the batch has rows, else a probe per slug
/// (see [`STORED_IN_RANGE`]).
async fn stored_in_batch(
    tx: &mut Transaction<'static, Postgres>,
    source: &str,
    sorted: &[&InputRow<'_>],
) -> Result<Vec<(String, bool)>, RepositoryError> {
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return Ok(Vec::new());
    };
    let limit = sorted.len() + 1;
    let in_range: Vec<(String, bool)> = sqlx::query_as(STORED_IN_RANGE)
        .bind(source)
        .bind(first.slug)
        .bind(last.slug)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut **tx)
        .await
        .map_err(ctx(
            PG,
            "apply_batch: find stored tracks in the batch's range",
        ))?;
    if in_range.len() < limit {
        // Every stored key of the range is here; keep the batch's.
        return Ok(in_range
            .into_iter()
            .filter(|(slug, _)| {
                sorted
                    .binary_search_by(|r| r.slug.cmp(slug.as_str()))
                    .is_ok()
            })
            .collect());
    }
    sqlx::query_as(STORED_IN_BATCH)
        .bind(source)
        .bind(column(sorted, |r| r.slug))
        .fetch_all(&mut **tx)
        .await
        .map_err(ctx(PG, "apply_batch: find stored tracks"))
}

/// The track writes of a batch, `changes_recorded` left at 0:
/// 1. look up which of its slugs are stored (and whether active); lock the
///    inactive ones, which this batch reactivates;
/// 2. write the tracks with no stored row (COPY, or the upsert below);
/// 3. upsert the stored ones (one statement, which rewrites only those whose
///    content changed), then mark seen those it did not rewrite (one
///    statement).
async fn upsert_tracks(
    tx: &mut Transaction<'static, Postgres>,
    source: &str,
    seen_at: DateTime<Utc>,
    rows: &[InputRow<'_>],
    new_tracks: NewTracks,
) -> Result<BatchOutcome, AttemptError> {
    if rows.is_empty() {
        return Ok(BatchOutcome::default());
    }
    // In key order: every statement below probes or extends the unique key
    // row after row, and neighbouring keys share index pages (measured: 4%
    // off a fresh load, 10% off a re-sync). New tracks get their ids in this
    // order too.
    let mut all: Vec<&InputRow<'_>> = rows.iter().collect();
    all.sort_unstable_by_key(|r| r.slug);
    let stored = stored_in_batch(tx, source, &all).await?;
    let mut reactivated = Vec::new();
    if stored.iter().any(|(_, active)| !active) {
        let inactive: Vec<&str> = stored
            .iter()
            .filter(|(_, active)| !active)
            .map(|(slug, _)| slug.as_str())
            .collect();
        reactivated = sqlx::query_scalar(INACTIVE_IN_BATCH)
            .bind(source)
            .bind(inactive)
            .fetch_all(&mut **tx)
            .await
            .map_err(ctx(PG, "apply_batch: lock inactive tracks"))?;
    }
    let stored: HashSet<&str> = stored.iter().map(|(slug, _)| slug.as_str()).collect();
    let (existing, new): (Vec<&InputRow<'_>>, Vec<&InputRow<'_>>) = all
        .into_iter()
        .partition(|r| new_tracks == NewTracks::Upsert || stored.contains(r.slug));

    let mut copied = 0;
    if !new.is_empty() {
        copied = copy_new_tracks(tx, source, seen_at, &new)
            .await
            .map_err(|err| {
                if is_key_race(&err) {
                    AttemptError::KeyRace
                } else {
                    map(PG, "apply_batch: upsert tracks: copy new tracks", err).into()
                }
            })?;
    }

    let mut merged_inserted = 0u64;
    let mut rewritten = HashSet::new();
    let mut marked = 0;
    if !existing.is_empty() {
        let returned = bind_upsert(sqlx::query(UPSERT.as_str()), source, seen_at, &existing)
            .fetch_all(&mut **tx)
            .await
            .map_err(ctx(PG, "apply_batch: upsert tracks"))?;
        rewritten.reserve(returned.len());
        for row in &returned {
            if row
                .try_get::<bool, _>("inserted")
                .map_err(|e| row::corrupt("inserted", e))?
            {
                merged_inserted += 1;
            }
            rewritten.insert(row.text("source_track_slug")?);
        }

        // The rows the upsert rewrote took last_seen_at and the bookkeeping
        // there.
        let untouched: Vec<&InputRow<'_>> = existing
            .iter()
            .copied()
            .filter(|r| !rewritten.contains(r.slug))
            .collect();
        if !untouched.is_empty() {
            marked = bind_mark_seen(sqlx::query(MARK_SEEN.as_str()), source, seen_at, &untouched)
                .execute(&mut **tx)
                .await
                .map_err(ctx(PG, "apply_batch: mark seen"))?
                .rows_affected();
        }
    }
    tracing::debug!(
        rows = rows.len(),
        copied,
        rewritten = rewritten.len(),
        seen_marked = marked,
        "tracks upserted"
    );

    let inserted = copied + merged_inserted;
    let updated = rewritten.len() as u64 - merged_inserted;
    Ok(BatchOutcome {
        inserted,
        updated,
        unchanged: rows.len() as u64 - inserted - updated,
        reactivated,
        changes_recorded: 0,
    })
}

impl PgTrackRepository {
    /// One attempt at a batch, in one transaction: the lease fence, the
    /// track writes, the field changes and the checkpoint's done set.
    async fn try_apply_batch(
        &self,
        batch: &UpsertBatch,
        prepared: &PreparedBatch<'_>,
        new_tracks: NewTracks,
    ) -> Result<BatchOutcome, AttemptError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(ctx(PG, "apply_batch: begin"))?;
        // First: a superseded lease writes nothing (and holds the job row
        // until commit, so no claim can take it over half-way).
        if let Some(checkpoint) = &batch.checkpoint {
            jobs::postgres::fence(
                &mut tx,
                &checkpoint.lease,
                Some(&checkpoint.state),
                "apply_batch: checkpoint",
            )
            .await?;
        }
        let mut outcome = match upsert_tracks(
            &mut tx,
            &batch.source,
            prepared.seen_at,
            &prepared.rows,
            new_tracks,
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(err) => {
                // Explicitly, so the connection is clean before a retry
                // asks the pool for one.
                if let Err(rollback) = tx.rollback().await {
                    tracing::debug!(error = %rollback, "apply_batch: rollback failed");
                }
                return Err(err);
            }
        };
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
            jobs::postgres::record_done(&mut tx, checkpoint.lease.job_id, &done).await?;
        }
        tx.commit().await.map_err(ctx(PG, "apply_batch: commit"))?;
        Ok(outcome)
    }
}

#[async_trait]
impl TrackRepository for PgTrackRepository {
    async fn snapshot(&self, source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError> {
        let rows = sqlx::query(SNAPSHOT.as_str())
            .bind(source)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx(PG, "snapshot"))?;
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
            .bind(slugs)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx(PG, "get_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn apply_batch(&self, batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError> {
        let prepared = prepare(batch)?;
        match self
            .try_apply_batch(batch, &prepared, NewTracks::Copy)
            .await
        {
            Ok(outcome) => return Ok(outcome),
            Err(AttemptError::Repository(err)) => return Err(err),
            Err(AttemptError::KeyRace) => {}
        }
        // A concurrent writer stored one of the new slugs between the lookup
        // and the COPY; nothing of the attempt persisted. Again, with every
        // track through the upsert, which arbitrates such conflicts.
        tracing::info!(
            source = %batch.source,
            "apply_batch: a new track was stored concurrently; merging the batch instead"
        );
        match self
            .try_apply_batch(batch, &prepared, NewTracks::Upsert)
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(AttemptError::Repository(err)) => Err(err),
            Err(AttemptError::KeyRace) => Err(RepositoryError::Unavailable(
                "apply_batch: concurrent inserts of the same tracks; retry".to_owned(),
            )),
        }
    }

    async fn finish_run(&self, finish: &FinishRun) -> Result<FinishOutcome, RepositoryError> {
        let finished_at = micros(finish.finished_at);
        let source = finish.source.as_str();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(ctx(PG, "finish_run: begin"))?;
        if let Some(lease) = &finish.lease {
            jobs::postgres::fence(&mut tx, lease, None, "finish_run: lease").await?;
        }

        // The drift guard's deferred clears.
        let mut cleared = Vec::new();
        for (col, group) in clear_groups(&finish.clear_fields)? {
            let rows = sqlx::query(AssertSqlSafe(clear_field_sql(col)))
                .bind(source)
                .bind(group.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>())
                .bind(finished_at)
                .bind(
                    group
                        .iter()
                        .map(|c| c.old_value.as_deref())
                        .collect::<Vec<_>>(),
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(PG, "finish_run: clear held fields"))?;
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
        sqlx::query(RESET_MISSING)
            .bind(source)
            .bind(&finish.listed)
            .execute(&mut *tx)
            .await
            .map_err(ctx(PG, "finish_run: reset missing counts"))?;
        let mut deactivated = Vec::new();
        let mut pending = Vec::new();
        if finish.deactivate {
            sqlx::query(COUNT_MISSING)
                .bind(source)
                .bind(&finish.listed)
                .bind(finished_at)
                .bind(finish.run_id)
                .execute(&mut *tx)
                .await
                .map_err(ctx(PG, "finish_run: count missing tracks"))?;
            let rows = sqlx::query(DEACTIVATE)
                .bind(source)
                .bind(finished_at)
                .bind(grace_runs(finish))
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(PG, "finish_run: deactivate"))?;
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
                .map_err(ctx(PG, "finish_run: drop counts of deactivated tracks"))?;
            let rows = sqlx::query(PENDING_MISSING)
                .bind(source)
                .fetch_all(&mut *tx)
                .await
                .map_err(ctx(PG, "finish_run: pending deactivations"))?;
            for r in &rows {
                let runs: i32 = r
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
            .bind(finished_at)
            .bind(finish.run_id)
            .execute(&mut *tx)
            .await
            .map_err(ctx(PG, "finish_run: store sync state"))?;

        tx.commit().await.map_err(ctx(PG, "finish_run: commit"))?;
        Ok(FinishOutcome {
            deactivated,
            pending,
            cleared,
        })
    }

    async fn sync_state(&self, source: &str) -> Result<Option<SyncState>, RepositoryError> {
        let row = sqlx::query(
            "SELECT source, last_success_at, last_run_id FROM track_sync_state WHERE source = $1",
        )
        .bind(source)
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx(PG, "sync_state"))?;
        row.map(|r| {
            Ok(SyncState {
                source: r.text("source")?,
                last_success_at: r.time("last_success_at")?,
                last_run_id: r
                    .try_get("last_run_id")
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
            .fetch_all(&self.pool)
            .await
            .map_err(ctx(PG, "list_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn count_tracks(&self, source: &str, active_only: bool) -> Result<u64, RepositoryError> {
        let sql = if active_only {
            "SELECT count(*) FROM tracks WHERE source = $1 AND is_active"
        } else {
            "SELECT count(*) FROM tracks WHERE source = $1"
        };
        let count: i64 = sqlx::query_scalar(sql)
            .bind(source)
            .fetch_one(&self.pool)
            .await
            .map_err(ctx(PG, "count_tracks"))?;
        u64::try_from(count).map_err(|e| row::corrupt("count", e))
    }
}
