//! The SQLite driver: one writer connection (write transactions queue in
//! the pool and each runs `BEGIN IMMEDIATE`, so a check-then-write is
//! serialised without row locks) and a few read-only connections beside it
//! (WAL); values bound as SQLite stores them (ids as hyphenated text,
//! timestamps as fixed-width text, see `time`, JSON and lists as JSON
//! text); the clock `'now'` (milliseconds); the bulk path of a batch
//! (`batch`: `json_each`); and in-process wake-ups.
//!
//! Idle workers wait on a `tokio::sync::Notify` shared by every queue this
//! process opens on the same database file (a permit is left for a worker
//! about to wait, so a wake-up is never lost, at the cost of one spurious
//! return). Another process writing the file is not seen until the
//! worker's next poll.

mod batch;
mod time;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{BatchOutcome, JobId, RepositoryError};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::StoreConfig;
use crate::driver::{Arg, Attempt, Driver, NewTracks, Tx};
use crate::error::{Dialect, ctx, map_migrate};
use crate::jobs::queue::{Queue, Wakeups};
use crate::prepare::InputRow;
use crate::repository::Repository;
use crate::row::{self, ColumnReader};

const SQ: Dialect = Dialect::Sqlite;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The SQLite [`Driver`]: the writer and the readers.
#[derive(Debug, Clone)]
pub struct SqliteDriver {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Read-only (`query_only`) connections; the writer itself for an
    /// in-memory database.
    reader: SqlitePool,
}

/// The track repository (and report archive) on SQLite.
///
/// Cheap to clone (the pools are reference-counted).
pub type SqliteTrackRepository = Repository<SqliteDriver>;

/// The job queue on SQLite.
pub type SqliteJobQueue = Queue<SqliteDriver>;

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
        Ok(Repository::new(SqliteDriver { writer, reader }))
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
        let mut tx = self
            .db
            .begin_write()
            .await
            .map_err(ctx(SQ, "migrate: begin"))?;
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

    /// Close every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.db.reader.close().await;
        self.db.writer.close().await;
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

impl SqliteJobQueue {
    /// The queue in the repository's database (migrated, so `sync_jobs`
    /// exists), over the repository's connections.
    pub fn new(repo: &SqliteTrackRepository) -> Self {
        let wakeups = Arc::new(FileWaker(waker_for(&repo.db.writer)));
        Queue::from_driver(repo.db.clone(), wakeups)
    }
}

/// The wake-up of every queue this process opened on one database file.
static WAKERS: LazyLock<Mutex<HashMap<PathBuf, Weak<Notify>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The `Notify` of the database behind `pool`: shared with the other queues
/// of this process on the same file, private for an in-memory database.
fn waker_for(pool: &SqlitePool) -> Arc<Notify> {
    let options = pool.connect_options();
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") || name.contains("mode=memory") {
        return Arc::new(Notify::new());
    }
    let key = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let mut wakers = WAKERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    wakers.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = wakers.get(&key).and_then(Weak::upgrade) {
        return existing;
    }
    let notify = Arc::new(Notify::new());
    wakers.insert(key, Arc::downgrade(&notify));
    notify
}

/// In-process wake-ups through the database file's `Notify`.
#[derive(Debug)]
struct FileWaker(Arc<Notify>);

#[async_trait]
impl Wakeups for FileWaker {
    /// Wake the waiting workers, and leave a permit for one that is about to
    /// wait (it would otherwise miss a job queued between its claim and its
    /// wait).
    async fn wake(&self, _job_id: JobId) {
        self.0.notify_waiters();
        self.0.notify_one();
    }

    async fn wait(&self, timeout: Duration) {
        // Woken or timed out: either way the worker looks for work.
        let _ = tokio::time::timeout(timeout, self.0.notified()).await;
    }
}

impl ColumnReader for SqliteRow {
    row::plain_columns!(
        text: String,
        opt_text: Option<String>,
        int: i64,
        opt_int: Option<i64>,
        opt_float: Option<f64>,
        boolean: bool,
    );

    fn time(&self, col: &str) -> Result<DateTime<Utc>, RepositoryError> {
        let text: String = self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        time::decode_time(col, &text)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, RepositoryError> {
        let text: Option<String> = self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        text.map(|t| time::decode_time(col, &t)).transpose()
    }

    fn uuid(&self, col: &str) -> Result<Uuid, RepositoryError> {
        let text = self.text(col)?;
        Uuid::parse_str(&text).map_err(|e| row::corrupt(col, e))
    }

    fn json(&self, col: &str) -> Result<Option<serde_json::Value>, RepositoryError> {
        self.opt_text(col)?
            .map(|text| serde_json::from_str(&text).map_err(|e| row::corrupt(col, e)))
            .transpose()
    }
}

/// A delay in microseconds as a SQLite date modifier: `+S.ffffff seconds`
/// (or `-…` for a negative one).
fn delay_modifier(micros: i64) -> String {
    let sign = if micros < 0 { '-' } else { '+' };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06} seconds", abs / 1_000_000, abs % 1_000_000)
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// A statement with its arguments bound as SQLite stores them.
fn query(sql: &'static str, args: Vec<Arg<'_>>) -> SqliteQuery<'static> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::OptFloat(v) => query.bind(v),
            Arg::Id(v) => query.bind(v.hyphenated().to_string()),
            Arg::Time(v) => query.bind(time::encode_time(v)),
            Arg::Json(v) => query.bind(v.map(serde_json::Value::to_string)),
            Arg::Delay(v) => query.bind(delay_modifier(v)),
            Arg::List(v) => query.bind(serde_json::Value::from(v).to_string()),
            Arg::Table(columns) => {
                let rows = columns.first().map_or(0, Vec::len);
                let table: Vec<Vec<Option<&str>>> = (0..rows)
                    .map(|i| columns.iter().map(|col| col[i]).collect())
                    .collect();
                query.bind(serde_json::Value::from(table).to_string())
            }
        };
    }
    query
}

#[async_trait]
impl Driver for SqliteDriver {
    type Db = Sqlite;
    type Row = SqliteRow;
    const DIALECT: Dialect = SQ;

    /// `'now'` has milliseconds; the microsecond digits are 0.
    const NOW: &'static str = "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')";

    fn now_plus(param: &str) -> String {
        format!("(strftime('%Y-%m-%dT%H:%M:%f', 'now', {param}) || '000Z')")
    }

    fn seconds_since(expr: &str) -> String {
        format!("((julianday('now') - julianday({expr})) * 86400.0)")
    }

    const SKIP_LOCKED: &'static str = "";

    fn in_list(col: &str, param: &str) -> String {
        format!("{col} IN (SELECT value FROM json_each({param}))")
    }

    fn list(param: &str, alias: &str) -> String {
        format!("json_each({param}) AS {alias}")
    }

    fn table(first: usize, alias: &str, cols: &[&str]) -> String {
        let fields: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(k, col)| format!("j.value ->> {k} AS {col}"))
            .collect();
        format!(
            "(SELECT {}, j.key AS ord FROM json_each(${first}) AS j) AS {alias}",
            fields.join(", ")
        )
    }

    fn json_agg(expr: &str) -> String {
        format!("json_group_array({expr})")
    }

    /// Listed tracks are missing no longer: their counts go.
    const RESET_MISSING: &'static str = "DELETE FROM track_missing
WHERE track_id IN (
    SELECT m.track_id FROM track_missing AS m JOIN tracks AS tr ON tr.id = m.track_id
    WHERE tr.source = $1 AND tr.source_track_slug IN (SELECT value FROM json_each($2)))";

    /// `NOT IN` a subquery, which SQLite reads into a temporary index once.
    const COUNT_MISSING: &'static str = "INSERT INTO track_missing
    (track_id, missing_runs, first_missing_at, last_run_id)
SELECT id, 1, $3, $4 FROM tracks
WHERE source = $1 AND is_active
  AND source_track_slug NOT IN (SELECT value FROM json_each($2))
ON CONFLICT (track_id) DO UPDATE SET
    missing_runs = missing_runs + 1, last_run_id = excluded.last_run_id
WHERE last_run_id <> excluded.last_run_id";

    /// IMMEDIATE takes the write lock up front: a read-then-write
    /// transaction cannot fail half-way with SQLITE_BUSY_SNAPSHOT because
    /// another process wrote in between; contention waits `busy_timeout`.
    async fn begin_write(&self) -> Result<Tx<Self>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    fn reader(&self) -> &sqlx::Pool<Self::Db> {
        &self.reader
    }

    async fn fetch_all(
        conn: &mut SqliteConnection,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        query(sql, args).fetch_all(conn).await
    }

    async fn execute(
        conn: &mut SqliteConnection,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<u64, sqlx::Error> {
        Ok(query(sql, args).execute(conn).await?.rows_affected())
    }

    async fn write_tracks(
        tx: &mut SqliteConnection,
        source: &str,
        seen_at: DateTime<Utc>,
        rows: &[&InputRow<'_>],
        new_tracks: NewTracks,
    ) -> Result<BatchOutcome, Attempt> {
        batch::write_tracks(tx, source, seen_at, rows, new_tracks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::delay_micros;

    #[test]
    fn delays_become_second_modifiers() {
        assert_eq!(
            delay_modifier(delay_micros(Duration::from_micros(1_500_042))),
            "+1.500042 seconds"
        );
        assert_eq!(delay_modifier(0), "+0.000000 seconds");
        assert_eq!(delay_modifier(-1_500_042), "-1.500042 seconds");
    }
}
