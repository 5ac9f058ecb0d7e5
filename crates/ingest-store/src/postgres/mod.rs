//! The PostgreSQL driver: one pool for reads and writes, values bound in
//! their native types (`uuid`, `timestamptz`, `jsonb`, typed arrays), the
//! clock `now()`, claims that skip each other's rows, the bulk path of a
//! batch (`batch`: binary COPY and a typed-array upsert) and LISTEN/NOTIFY
//! wake-ups (`listen`). The logic is the shared repository and queue.

mod batch;
mod copy;
mod listen;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{BatchOutcome, RepositoryError};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection as _, Postgres, Row};
use uuid::Uuid;

use crate::config::StoreConfig;
use crate::driver::{Arg, Attempt, Driver, NewTracks, Tx};
use crate::error::{Dialect, ctx, map_migrate};
use crate::jobs::queue::Queue;
use crate::prepare::InputRow;
use crate::repository::Repository;
use crate::row::{self, ColumnReader};

const PG: Dialect = Dialect::Postgres;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The PostgreSQL [`Driver`]: a pool.
#[derive(Debug, Clone)]
pub struct PgDriver {
    pool: PgPool,
}

/// The track repository (and report archive) on PostgreSQL.
///
/// Cheap to clone (the pool is reference-counted).
pub type PgTrackRepository = Repository<PgDriver>;

/// The job queue on PostgreSQL.
///
/// Shares the track repository's pool; waiting for work takes one more
/// connection of its own (the listener), opened on the first wait.
pub type PgJobQueue = Queue<PgDriver>;

impl PgTrackRepository {
    /// Open a pool of up to `config.max_connections` connections to `url`
    /// (`postgres://…`). Establishes one connection before returning, so a
    /// wrong URL or a server that is down fails here, as
    /// `RepositoryError::Unavailable`. Does not migrate: see
    /// [`migrate`](Self::migrate) or the crate's `connect`.
    pub async fn connect(url: &str, config: &StoreConfig) -> Result<Self, RepositoryError> {
        // `client_min_messages`: the server's NOTICEs (`relation
        // "_sqlx_migrations" already exists, skipping` at every start) are
        // not the operator's business; warnings and errors still come.
        let options = PgConnectOptions::from_str(url)
            .map_err(ctx(PG, "connect"))?
            .application_name("ingest-store")
            .options([("client_min_messages", "warning")]);
        // One plain connection first: a pool retries a refused or unknown
        // host until its acquire timeout (30 s of silence) and then reports
        // only `pool timed out`. A direct connect fails at once, naming the
        // cause (connection refused, unknown database, bad password). It
        // then becomes the pool's first connection's twin: closed here.
        let first =
            tokio::time::timeout(config.acquire_timeout, PgConnection::connect_with(&options))
                .await
                .map_err(|_| {
                    RepositoryError::Unavailable(format!(
                        "connect: no answer from the server within {:?}",
                        config.acquire_timeout
                    ))
                })?
                .map_err(ctx(PG, "connect"))?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(ctx(PG, "connect"))?;
        Ok(Self::from_pool(pool))
    }

    /// Wrap an existing pool (its database must be migrated).
    pub fn from_pool(pool: PgPool) -> Self {
        Repository::new(PgDriver { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Apply every pending migration of `migrations/postgres`. Takes an
    /// advisory lock, so concurrent callers apply each migration once.
    pub async fn migrate(&self) -> Result<(), RepositoryError> {
        MIGRATOR
            .run(self.pool())
            .await
            .map_err(|e| map_migrate(PG, e))
    }

    /// Close every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool().close().await;
    }
}

impl PgJobQueue {
    /// The queue in the repository's database (migrated, so `sync_jobs`
    /// exists), over the repository's pool.
    pub fn new(repo: &PgTrackRepository) -> Self {
        Self::from_pool(repo.pool().clone())
    }

    /// The queue over an existing pool (its database must be migrated).
    pub fn from_pool(pool: PgPool) -> Self {
        let wakeups = Arc::new(listen::Listener::new(pool.clone()));
        Queue::from_driver(PgDriver { pool }, wakeups)
    }
}

impl ColumnReader for PgRow {
    row::plain_columns!(
        text: String,
        opt_text: Option<String>,
        int: i64,
        opt_int: Option<i64>,
        opt_float: Option<f64>,
        boolean: bool,
        time: DateTime<Utc>,
        opt_time: Option<DateTime<Utc>>,
        uuid: Uuid,
    );

    fn json(&self, col: &str) -> Result<Option<serde_json::Value>, RepositoryError> {
        let value: Option<Json<serde_json::Value>> =
            self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        Ok(value.map(|j| j.0))
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A statement with its arguments bound in Postgres' types.
fn query(sql: &'static str, args: Vec<Arg<'_>>) -> PgQuery<'static> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Int(v) | Arg::Delay(v) => query.bind(v),
            Arg::OptFloat(v) => query.bind(v),
            Arg::Id(v) => query.bind(v),
            Arg::Time(v) => query.bind(v),
            Arg::Json(v) => query.bind(v.map(Json)),
            Arg::List(v) => query.bind(v),
            Arg::Table(columns) => columns.into_iter().fold(query, |q, col| q.bind(col)),
        };
    }
    query
}

#[async_trait]
impl Driver for PgDriver {
    type Db = Postgres;
    type Row = PgRow;
    const DIALECT: Dialect = PG;

    const NOW: &'static str = "now()";

    fn now_plus(param: &str) -> String {
        format!("(now() + {param}::bigint * interval '1 microsecond')")
    }

    fn seconds_since(expr: &str) -> String {
        format!("EXTRACT(EPOCH FROM (now() - {expr}))::double precision")
    }

    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn in_list(col: &str, param: &str) -> String {
        format!("{col} = ANY({param})")
    }

    fn list(param: &str, alias: &str) -> String {
        format!("UNNEST({param}::text[]) AS {alias}(value)")
    }

    fn table(first: usize, alias: &str, cols: &[&str]) -> String {
        let arrays: Vec<String> = (first..first + cols.len())
            .map(|n| format!("${n}::text[]"))
            .collect();
        format!(
            "UNNEST({}) WITH ORDINALITY AS {alias}({}, ord)",
            arrays.join(", "),
            cols.join(", ")
        )
    }

    fn json_agg(expr: &str) -> String {
        format!("json_agg({expr})")
    }

    /// Listed tracks are missing no longer: their counts go. (`track_missing`
    /// holds only missing tracks: a handful of rows joined to the
    /// catalogue.)
    const RESET_MISSING: &'static str = "DELETE FROM track_missing AS m
USING tracks AS tr, UNNEST($2::text[]) AS keep(slug)
WHERE m.track_id = tr.id AND tr.source = $1 AND tr.source_track_slug = keep.slug";

    /// An anti-join against the listed slugs, not `NOT (slug = ANY($2))`,
    /// which would compare every track with every listed slug.
    const COUNT_MISSING: &'static str = "INSERT INTO track_missing AS m
    (track_id, missing_runs, first_missing_at, last_run_id)
SELECT tr.id, 1, $3, $4 FROM tracks AS tr
WHERE tr.source = $1 AND tr.is_active
  AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[]) AS keep(slug) WHERE keep.slug = tr.source_track_slug)
ON CONFLICT (track_id) DO UPDATE SET
    missing_runs = m.missing_runs + 1, last_run_id = excluded.last_run_id
WHERE m.last_run_id <> excluded.last_run_id";

    async fn begin_write(&self) -> Result<Tx<Self>, sqlx::Error> {
        self.pool.begin().await
    }

    fn reader(&self) -> &sqlx::Pool<Self::Db> {
        &self.pool
    }

    async fn fetch_all(
        conn: &mut PgConnection,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        query(sql, args).fetch_all(conn).await
    }

    async fn execute(
        conn: &mut PgConnection,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<u64, sqlx::Error> {
        Ok(query(sql, args).execute(conn).await?.rows_affected())
    }

    async fn write_tracks(
        tx: &mut PgConnection,
        source: &str,
        seen_at: DateTime<Utc>,
        rows: &[&InputRow<'_>],
        new_tracks: NewTracks,
    ) -> Result<BatchOutcome, Attempt> {
        batch::write_tracks(tx, source, seen_at, rows, new_tracks).await
    }
}
