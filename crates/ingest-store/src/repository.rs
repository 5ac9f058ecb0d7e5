//! The track repository (`ingest_core::TrackRepository`), written once over
//! a [`Driver`]: its statements (built once per dialect from the driver's
//! fragments) and the order of the writes in each transaction.
//!
//! A batch is one write transaction: the lease fence (a job's batch, see
//! `lease`), the driver's bulk write of the tracks, the field changes (the
//! caller's plus an `is_active` row per reactivation), and the checkpoint's
//! done set. When the driver's fast path for new tracks meets a track
//! stored concurrently (Postgres' COPY), nothing of the attempt persists and
//! the batch is applied again with every track through the upsert.
//!
//! `finish_run` is another: the fence (a leased run), the drift guard's
//! deferred clears, the missing-track counts and the deactivations they
//! reach, and the sync state.

use std::collections::HashSet;
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{
    BatchOutcome, DeactivatedTrack, FinishOutcome, FinishRun, PendingDeactivation, RepositoryError,
    StoredTrack, SyncState, TrackChange, TrackQuery, TrackRepository, TrackSnapshot, UpsertBatch,
};
use uuid::Uuid;

use crate::columns::{TRACKS_WITH_SEEN, snapshot_select, stored_track_select};
use crate::driver::{Arg, Attempt, Conn, Driver, NewTracks, PerDialect};
use crate::error;
use crate::lease;
use crate::prepare::{
    ChangeRow, InputRow, PreparedBatch, changes_with_reactivations, clear_groups,
    deactivation_change, grace_runs, micros, prepare,
};
use crate::row::{self, ColumnReader};

/// The track repository over the driver `D` (see `PgTrackRepository` and
/// `SqliteTrackRepository`).
///
/// Cheap to clone (the pools are reference-counted).
#[derive(Debug, Clone)]
pub struct Repository<D> {
    pub(crate) db: D,
    /// Every write transaction of the tracks is rolled back, not committed,
    /// and reports are not archived: see [`crate::open_dry_run`].
    pub(crate) dry_run: bool,
}

impl<D> Repository<D> {
    pub(crate) fn new(db: D) -> Self {
        Repository { db, dry_run: false }
    }

    /// The same repository, writing nothing: each batch and the run's
    /// finish run their statements in a transaction that is then rolled
    /// back, so they answer exactly what they would have written.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }
}

/// Ends a write transaction: commits it, or in a dry run rolls it back.
async fn end<D: Driver>(
    tx: crate::driver::Tx<D>,
    dry_run: bool,
    context: &str,
) -> Result<(), RepositoryError> {
    if dry_run {
        tx.rollback().await.map_err(ctx::<D>(context))
    } else {
        tx.commit().await.map_err(ctx::<D>(context))
    }
}

/// The statements that read tracks: the same text on both backends.
static SNAPSHOT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN} WHERE tr.source = $1 ORDER BY tr.source_track_slug",
        snapshot_select()
    )
});

/// One page of the source's tracks (`$2` limit, `$3` offset), in key
/// order; `filter` narrows them.
fn list_sql(filter: &str) -> String {
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1{filter}
ORDER BY tr.source_track_slug LIMIT $2 OFFSET $3",
        stored_track_select()
    )
}

static LIST_ACTIVE: LazyLock<String> = LazyLock::new(|| list_sql(" AND tr.is_active"));
static LIST_ALL: LazyLock<String> = LazyLock::new(|| list_sql(""));

/// The track browser's search: `$2` is the lower-cased text as a LIKE
/// pattern (`%text%`, its own `%`, `_` and `\\` escaped), `$3` the limit.
static SEARCH: LazyLock<String> = LazyLock::new(|| {
    let like = |col: &str| format!("lower(COALESCE(tr.{col}, '')) LIKE $2 ESCAPE '\\'");
    format!(
        "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1 AND ({})
ORDER BY lower(tr.name), tr.source_track_slug LIMIT $3",
        stored_track_select(),
        [
            "name",
            "source_track_slug",
            "city",
            "state",
            "country",
            "country_code"
        ]
        .map(like)
        .join(" OR ")
    )
});

/// A track's recorded changes, newest first (`$1` source, `$2` slug, `$3`
/// limit).
const HISTORY: &str = "SELECT run_id, field, old_value, new_value, changed_at
FROM track_changes WHERE source = $1 AND slug = $2
ORDER BY changed_at DESC, id DESC LIMIT $3";

const COUNT_ACTIVE: &str = "SELECT count(*) AS n FROM tracks WHERE source = $1 AND is_active";
const COUNT_ALL: &str = "SELECT count(*) AS n FROM tracks WHERE source = $1";

const SYNC_STATE: &str =
    "SELECT source, last_success_at, last_run_id FROM track_sync_state WHERE source = $1";

/// Deactivate the source's active tracks missing for `$3` runs. The
/// returned `last_seen_at` is the stored mark, read through `track_seen`.
const DEACTIVATE: &str = "UPDATE tracks
SET is_active = false, deactivated_at = $2, updated_at = $2
WHERE source = $1 AND is_active
  AND id IN (SELECT track_id FROM track_missing WHERE missing_runs >= $3)
RETURNING source_track_slug, name, first_seen_at,
    COALESCE((SELECT sn.last_seen_at FROM track_seen AS sn WHERE sn.track_id = tracks.id),
             last_seen_at) AS last_seen_at";

/// The deactivated tracks' counts go with them.
const DROP_DEACTIVATED_MISSING: &str = "DELETE FROM track_missing
WHERE track_id IN (
    SELECT m.track_id FROM track_missing AS m JOIN tracks AS tr ON tr.id = m.track_id
    WHERE tr.source = $1 AND NOT tr.is_active)";

/// Missing tracks still within the grace period.
const PENDING_MISSING: &str = "SELECT tr.source_track_slug, tr.name,
    CAST(m.missing_runs AS bigint) AS missing_runs,
    COALESCE(sn.last_seen_at, tr.last_seen_at) AS last_seen_at
FROM track_missing AS m
JOIN tracks AS tr ON tr.id = m.track_id
LEFT JOIN track_seen AS sn ON sn.track_id = tr.id
WHERE tr.source = $1 AND tr.is_active
ORDER BY tr.source_track_slug";

const UPSERT_SYNC_STATE: &str =
    "INSERT INTO track_sync_state (source, last_success_at, last_run_id)
VALUES ($1, $2, $3)
ON CONFLICT (source) DO UPDATE SET
    last_success_at = excluded.last_success_at,
    last_run_id = excluded.last_run_id";

/// The statements whose text takes a dialect's fragments.
struct Sql {
    /// The listed tracks (`$2` a list).
    get_tracks: String,
    /// Record field changes: `$1` run, `$2` source, `$3` time, `$4…` the
    /// rows. A slug with no stored track leaves `track_id` NULL, which the
    /// NOT NULL constraint refuses: the whole transaction fails. The track
    /// id is a unique-key probe per row.
    insert_changes: String,
    /// Per drift-guarded column: clear it on the listed tracks (`$3…`:
    /// slug, stored value) whose stored value is still the one the run kept
    /// (`$1` source, `$2` time). The column names are the guard's own, so
    /// they are safe in SQL.
    clear_field: Vec<(&'static str, String)>,
}

impl Sql {
    fn new<D: Driver>() -> Self {
        let get_tracks = format!(
            "SELECT {} FROM {TRACKS_WITH_SEEN}
WHERE tr.source = $1 AND {}
ORDER BY tr.source_track_slug",
            stored_track_select(),
            D::in_list("tr.source_track_slug", "$2"),
        );
        let insert_changes = format!(
            "INSERT INTO track_changes
    (run_id, track_id, source, slug, field, old_value, new_value, changed_at)
SELECT $1,
       (SELECT tr.id FROM tracks AS tr WHERE tr.source = $2 AND tr.source_track_slug = c.slug),
       $2, c.slug, c.field, c.old_value, c.new_value, $3
FROM {}
WHERE true
ORDER BY c.ord
ON CONFLICT (run_id, track_id, field) DO NOTHING",
            D::table(4, "c", &["slug", "field", "old_value", "new_value"])
        );
        let clear_field = ingest_core::drift::WATCHED_FIELDS
            .iter()
            .map(|col| {
                let sql = format!(
                    "UPDATE tracks SET {col} = NULL, updated_at = $2
FROM {}
WHERE tracks.source = $1 AND tracks.source_track_slug = c.slug AND tracks.{col} = c.old
RETURNING tracks.source_track_slug",
                    D::table(3, "c", &["slug", "old"])
                );
                (*col, sql)
            })
            .collect();
        Sql {
            get_tracks,
            insert_changes,
            clear_field,
        }
    }

    fn clear_field(&self, col: &str) -> Result<&str, RepositoryError> {
        self.clear_field
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, sql)| sql.as_str())
            .ok_or_else(|| RepositoryError::Rejected(format!("finish_run: cannot clear {col}")))
    }
}

static SQL: PerDialect<Sql> = PerDialect::new();

fn sql<D: Driver>() -> &'static Sql {
    SQL.get::<D>(Sql::new::<D>)
}

/// A closure for `map_err` that maps a driver error met while doing
/// `context`.
fn ctx<D: Driver>(context: &str) -> impl FnOnce(sqlx::Error) -> RepositoryError {
    error::ctx(D::DIALECT, context)
}

/// Insert change rows; returns how many were new.
async fn insert_changes<D: Driver>(
    tx: &mut Conn<D>,
    run_id: Uuid,
    source: &str,
    changed_at: DateTime<Utc>,
    changes: &[ChangeRow<'_>],
) -> Result<u64, RepositoryError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let rows = Arg::Table(vec![
        changes.iter().map(|c| Some(&*c.slug)).collect(),
        changes.iter().map(|c| Some(c.field)).collect(),
        changes.iter().map(|c| c.old_value).collect(),
        changes.iter().map(|c| c.new_value).collect(),
    ]);
    let args = vec![
        Arg::Id(run_id),
        Arg::Text(source),
        Arg::Time(changed_at),
        rows,
    ];
    D::execute(tx, &sql::<D>().insert_changes, args)
        .await
        .map_err(ctx::<D>(
            "record field changes (every change must name a stored track)",
        ))
}

/// One attempt at a batch, in one transaction: the lease fence, the track
/// writes, the field changes and the checkpoint's done set.
async fn try_apply_batch<D: Driver>(
    db: &D,
    dry_run: bool,
    batch: &UpsertBatch,
    prepared: &PreparedBatch<'_>,
    new_tracks: NewTracks,
) -> Result<BatchOutcome, Attempt> {
    let mut tx = db
        .begin_write()
        .await
        .map_err(ctx::<D>("apply_batch: begin"))?;
    // First: a superseded lease writes nothing (and holds the job row until
    // commit, so no claim can take it over half-way).
    if let Some(checkpoint) = &batch.checkpoint {
        let (lease, state) = (&checkpoint.lease, Some(&checkpoint.state));
        lease::fence::<D>(&mut tx, lease, state, "apply_batch: checkpoint").await?;
    }
    let source = batch.source.as_str();
    // In key order: every statement probes or extends the unique key row
    // after row, and neighbouring keys share index pages (measured on
    // Postgres: 4% off a fresh load, 10% off a re-sync). New tracks get their
    // ids in this order too.
    let mut rows: Vec<&InputRow<'_>> = prepared.rows.iter().collect();
    rows.sort_unstable_by_key(|r| r.slug);
    let written = if rows.is_empty() {
        Ok(BatchOutcome::default())
    } else {
        D::write_tracks(&mut tx, source, prepared.seen_at, &rows, new_tracks).await
    };
    let mut outcome = match written {
        Ok(outcome) => outcome,
        Err(err) => {
            // Explicitly, so the connection is clean before a retry asks the
            // pool for one.
            if let Err(rollback) = tx.rollback().await {
                tracing::debug!(error = %rollback, "apply_batch: rollback failed");
            }
            return Err(err);
        }
    };
    let changes = changes_with_reactivations(&batch.changes, &outcome.reactivated);
    outcome.changes_recorded =
        insert_changes::<D>(&mut tx, batch.run_id, source, prepared.seen_at, &changes).await?;
    if let Some(checkpoint) = &batch.checkpoint {
        let done = prepared.rows.iter().map(|r| r.slug).collect();
        lease::record_done::<D>(&mut tx, checkpoint.lease.job_id, done).await?;
    }
    end::<D>(tx, dry_run, "apply_batch: commit").await?;
    Ok(outcome)
}

#[async_trait]
impl<D: Driver> TrackRepository for Repository<D> {
    async fn snapshot(&self, source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError> {
        let rows = self
            .db
            .read_all(SNAPSHOT.as_str(), vec![Arg::Text(source)])
            .await
            .map_err(ctx::<D>("snapshot"))?;
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
        let slugs = slugs.iter().map(String::as_str).collect();
        let rows = self
            .db
            .read_all(
                &sql::<D>().get_tracks,
                vec![Arg::Text(source), Arg::List(slugs)],
            )
            .await
            .map_err(ctx::<D>("get_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn apply_batch(&self, batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError> {
        let prepared = prepare(batch)?;
        match try_apply_batch(&self.db, self.dry_run, batch, &prepared, NewTracks::Fast).await {
            Ok(outcome) => return Ok(outcome),
            Err(Attempt::Failed(err)) => return Err(err),
            Err(Attempt::KeyRace) => {}
        }
        // A concurrent writer stored one of the new slugs between the lookup
        // and the fast path; nothing of the attempt persisted. Again, with
        // every track through the upsert, which arbitrates such conflicts.
        tracing::info!(
            source = %batch.source,
            "apply_batch: a new track was stored concurrently; merging the batch instead"
        );
        match try_apply_batch(&self.db, self.dry_run, batch, &prepared, NewTracks::Merge).await {
            Ok(outcome) => Ok(outcome),
            Err(Attempt::Failed(err)) => Err(err),
            Err(Attempt::KeyRace) => Err(RepositoryError::Unavailable(
                "apply_batch: concurrent inserts of the same tracks; retry".to_owned(),
            )),
        }
    }

    async fn finish_run(&self, finish: &FinishRun) -> Result<FinishOutcome, RepositoryError> {
        let finished_at = micros(finish.finished_at);
        let (source, run_id) = (finish.source.as_str(), finish.run_id);
        let mut tx = self
            .db
            .begin_write()
            .await
            .map_err(ctx::<D>("finish_run: begin"))?;
        if let Some(lease) = &finish.lease {
            lease::fence::<D>(&mut tx, lease, None, "finish_run: lease").await?;
        }

        // The drift guard's deferred clears.
        let mut cleared = Vec::new();
        for (col, group) in clear_groups(&finish.clear_fields)? {
            let pairs = Arg::Table(vec![
                group.iter().map(|c| Some(c.slug.as_str())).collect(),
                group.iter().map(|c| c.old_value.as_deref()).collect(),
            ]);
            let args = vec![Arg::Text(source), Arg::Time(finished_at), pairs];
            let rows = D::fetch_all(&mut tx, sql::<D>().clear_field(col)?, args)
                .await
                .map_err(ctx::<D>("finish_run: clear held fields"))?;
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
        insert_changes::<D>(&mut tx, run_id, source, finished_at, &changes).await?;

        // Missing tracks: counts reset, grown, and the deactivation of those
        // missing for long enough.
        let listed = || Arg::List(finish.listed.iter().map(String::as_str).collect());
        D::execute(&mut tx, D::RESET_MISSING, vec![Arg::Text(source), listed()])
            .await
            .map_err(ctx::<D>("finish_run: reset missing counts"))?;
        let mut deactivated = Vec::new();
        let mut pending = Vec::new();
        if finish.deactivate {
            let args = vec![
                Arg::Text(source),
                listed(),
                Arg::Time(finished_at),
                Arg::Id(run_id),
            ];
            D::execute(&mut tx, D::COUNT_MISSING, args)
                .await
                .map_err(ctx::<D>("finish_run: count missing tracks"))?;
            let args = vec![
                Arg::Text(source),
                Arg::Time(finished_at),
                Arg::Int(i64::from(grace_runs(finish))),
            ];
            let rows = D::fetch_all(&mut tx, DEACTIVATE, args)
                .await
                .map_err(ctx::<D>("finish_run: deactivate"))?;
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
            insert_changes::<D>(&mut tx, run_id, source, finished_at, &changes).await?;
            D::execute(&mut tx, DROP_DEACTIVATED_MISSING, vec![Arg::Text(source)])
                .await
                .map_err(ctx::<D>("finish_run: drop counts of deactivated tracks"))?;
            let rows = D::fetch_all(&mut tx, PENDING_MISSING, vec![Arg::Text(source)])
                .await
                .map_err(ctx::<D>("finish_run: pending deactivations"))?;
            for r in &rows {
                let runs = r.int("missing_runs")?;
                pending.push(PendingDeactivation {
                    slug: r.text("source_track_slug")?,
                    name: r.text("name")?,
                    missing_runs: u32::try_from(runs)
                        .map_err(|e| row::corrupt("missing_runs", e))?,
                    last_seen_at: r.time("last_seen_at")?,
                });
            }
        }

        let args = vec![Arg::Text(source), Arg::Time(finished_at), Arg::Id(run_id)];
        D::execute(&mut tx, UPSERT_SYNC_STATE, args)
            .await
            .map_err(ctx::<D>("finish_run: store sync state"))?;

        end::<D>(tx, self.dry_run, "finish_run: commit").await?;
        Ok(FinishOutcome {
            deactivated,
            pending,
            cleared,
        })
    }

    async fn sync_state(&self, source: &str) -> Result<Option<SyncState>, RepositoryError> {
        let row = self
            .db
            .read_optional(SYNC_STATE, vec![Arg::Text(source)])
            .await
            .map_err(ctx::<D>("sync_state"))?;
        row.map(|r| {
            Ok(SyncState {
                source: r.text("source")?,
                last_success_at: r.time("last_success_at")?,
                last_run_id: r.uuid("last_run_id")?,
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
        let args = vec![
            Arg::Text(source),
            Arg::Int(i64::from(query.limit)),
            Arg::Int(i64::from(query.offset)),
        ];
        let rows = self
            .db
            .read_all(sql, args)
            .await
            .map_err(ctx::<D>("list_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn search_tracks(
        &self,
        source: &str,
        text: &str,
        limit: u32,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        let escaped: String = text
            .trim()
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let args = vec![
            Arg::Text(source),
            Arg::Text(&pattern),
            Arg::Int(i64::from(limit)),
        ];
        let rows = self
            .db
            .read_all(SEARCH.as_str(), args)
            .await
            .map_err(ctx::<D>("search_tracks"))?;
        rows.iter().map(row::stored_track).collect()
    }

    async fn track_history(
        &self,
        source: &str,
        slug: &str,
        limit: u32,
    ) -> Result<Vec<TrackChange>, RepositoryError> {
        let args = vec![
            Arg::Text(source),
            Arg::Text(slug),
            Arg::Int(i64::from(limit)),
        ];
        let rows = self
            .db
            .read_all(HISTORY, args)
            .await
            .map_err(ctx::<D>("track_history"))?;
        rows.iter()
            .map(|r| {
                Ok(TrackChange {
                    run_id: r.uuid("run_id")?,
                    field: r.text("field")?,
                    old_value: r.opt_text("old_value")?,
                    new_value: r.opt_text("new_value")?,
                    changed_at: r.time("changed_at")?,
                })
            })
            .collect()
    }

    async fn count_tracks(&self, source: &str, active_only: bool) -> Result<u64, RepositoryError> {
        let sql = if active_only { COUNT_ACTIVE } else { COUNT_ALL };
        let row = self
            .db
            .read_optional(sql, vec![Arg::Text(source)])
            .await
            .map_err(ctx::<D>("count_tracks"))?;
        let count = row.map_or(Ok(0), |r| r.int("n"))?;
        u64::try_from(count).map_err(|e| row::corrupt("count", e))
    }
}
