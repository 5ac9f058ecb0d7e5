//! The seam between the logic written once and the two databases.
//!
//! The repository (`repository`), the report archive (`reports`), the lease
//! fence (`lease`) and the job queue (`jobs::queue`) are each written once,
//! generic over a [`Driver`]; `postgres` and `sqlite` implement it with only
//! what truly differs between the engines:
//! - how a write transaction opens (`BEGIN` on a Postgres pool, `BEGIN
//!   IMMEDIATE` on SQLite's single writer connection) and where reads run;
//! - how a value is bound ([`Arg`]: a job id is a `uuid` or text, a time a
//!   `timestamptz` or the fixed-width text SQLite stores, a list typed arrays
//!   or one JSON array);
//! - a few SQL fragments: the database clock, `FOR UPDATE SKIP LOCKED`, a
//!   bound list as a relation or a membership test, a JSON array aggregate;
//! - the two statements whose efficient form differs by engine (the
//!   missing-track counts), and the bulk write of a batch's tracks (binary
//!   `COPY` and a typed-array upsert with its key-race retry on Postgres,
//!   `json_each` on SQLite).
//!
//! How idle workers are woken (LISTEN/NOTIFY, an in-process `Notify`) is the
//! queue's own seam, `jobs::queue::Wakeups`.
//!
//! Why a trait over our own [`Arg`] values, not code generic over
//! `sqlx::Database`: sqlx binds and runs statements through higher-ranked
//! trait bounds (`for<'c> &'c mut DB::Connection: Executor<'c, Database =
//! DB>`, `Encode<'q, DB> + Type<DB>` for every bound type, `IntoArguments`
//! for the argument buffer), which every generic function, and the `Send`
//! proof of every async-trait future, would have to restate. A
//! `macro_rules!` body instantiated per backend avoids the bounds as well,
//! but it is type-checked only per instantiation and is neither formatted
//! nor navigable as ordinary code. So sqlx stays concrete inside each
//! backend's few statement runners, and the shared code, ordinary generic
//! Rust, hands them `Arg`s. The models are River's driver interface (the
//! queue above knows no database; a driver holds its statements) and Oban's
//! engines (the SQLite engine delegates to the basic one and overrides only
//! where the SQL differs).

use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{BatchOutcome, RepositoryError};
use sqlx::{Database, Transaction};
use uuid::Uuid;

use crate::error::Dialect;
use crate::prepare::InputRow;
use crate::row::ColumnReader;

/// A value bound to a statement's next parameter, in the shape each backend
/// chooses.
#[derive(Debug)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptFloat(Option<f64>),
    /// A job or run id: `uuid` on Postgres, hyphenated text on SQLite.
    Id(Uuid),
    /// `timestamptz` on Postgres, the stored fixed-width text on SQLite.
    Time(DateTime<Utc>),
    /// `jsonb` on Postgres, JSON text on SQLite.
    Json(Option<&'a serde_json::Value>),
    /// A delay in microseconds (negative: in the past), for
    /// [`Driver::now_plus`]: `bigint` on Postgres, a date modifier on SQLite.
    Delay(i64),
    /// Texts, for [`Driver::list`] and [`Driver::in_list`]: a `text[]` on
    /// Postgres, one JSON array on SQLite.
    List(Vec<&'a str>),
    /// Rows of nullable texts, given column by column, for
    /// [`Driver::table`]: Postgres binds one `text[]` per column (this
    /// parameter and the following ones), SQLite one JSON array of rows.
    Table(Vec<Vec<Option<&'a str>>>),
}

/// A backend's connection, as a transaction or a pooled connection
/// dereferences to it.
pub(crate) type Conn<D> = <<D as Driver>::Db as Database>::Connection;

/// A backend's write transaction.
pub(crate) type Tx<D> = Transaction<'static, <D as Driver>::Db>;

/// How [`Driver::write_tracks`] writes a batch's tracks that have no stored
/// row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewTracks {
    /// The backend's fast path (Postgres: a binary `COPY`, which does not
    /// arbitrate conflicts, so a track stored concurrently after the lookup
    /// fails it with [`Attempt::KeyRace`]).
    Fast,
    /// Through the upsert with every other track, which arbitrates
    /// conflicts.
    Merge,
}

/// Why a batch attempt stopped without writing anything.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The fast path met a track a concurrent writer stored after the
    /// lookup; the transaction must roll back, and the batch may be applied
    /// again with [`NewTracks::Merge`].
    KeyRace,
    Failed(RepositoryError),
}

impl From<RepositoryError> for Attempt {
    fn from(err: RepositoryError) -> Self {
        Attempt::Failed(err)
    }
}

/// What a database backend provides to the code written once. The shared
/// statements use `$n` placeholders, which SQLite reads as parameter `n`
/// too.
#[async_trait]
pub(crate) trait Driver: Clone + std::fmt::Debug + Send + Sync + 'static {
    type Db: Database;
    type Row: ColumnReader + Send;
    /// Which error codes apply; also the key of the per-dialect statement
    /// caches ([`PerDialect`]).
    const DIALECT: Dialect;

    /// The database clock, in the form timestamps are stored.
    const NOW: &'static str;
    /// The database clock plus the [`Arg::Delay`] bound at `param`.
    fn now_plus(param: &str) -> String;
    /// Seconds from the timestamp `expr` to the database clock, as a
    /// double (NULL for NULL).
    fn seconds_since(expr: &str) -> String;
    /// Ends a subquery that selects rows to update: concurrent claimers skip
    /// each other's rows (Postgres), or nothing (SQLite's single writer).
    const SKIP_LOCKED: &'static str;
    /// `col` is one of the [`Arg::List`] bound at `param`.
    fn in_list(col: &str, param: &str) -> String;
    /// The [`Arg::List`] bound at `param`, as the relation `alias(value)`.
    fn list(param: &str, alias: &str) -> String;
    /// The [`Arg::Table`] bound from parameter `first` on, as the relation
    /// `alias(cols…, ord)`, `ord` giving the rows' order.
    fn table(first: usize, alias: &str, cols: &[&str]) -> String;
    /// A JSON array of `expr` over a group (NULL or `[]` for none).
    fn json_agg(expr: &str) -> String;

    /// `finish_run`: delete the missing counts of the tracks the catalogue
    /// lists (`$1` source, `$2` the listed slugs).
    const RESET_MISSING: &'static str;
    /// `finish_run`: one more complete catalogue without them; the count of
    /// every active track of `$1` not in `$2` grows by one, once per run id
    /// `$4` (`$3` the finish time).
    const COUNT_MISSING: &'static str;

    /// Open a write transaction.
    async fn begin_write(&self) -> Result<Tx<Self>, sqlx::Error>;

    /// The pool reads run on.
    fn reader(&self) -> &sqlx::Pool<Self::Db>;

    /// Run a statement on `conn`: its rows, or how many rows it changed.
    async fn fetch_all(
        conn: &mut Conn<Self>,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Vec<Self::Row>, sqlx::Error>;
    async fn execute(
        conn: &mut Conn<Self>,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<u64, sqlx::Error>;

    /// Run a statement of at most one row on `conn`.
    async fn fetch_optional(
        conn: &mut Conn<Self>,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Option<Self::Row>, sqlx::Error> {
        Ok(Self::fetch_all(conn, sql, args).await?.into_iter().next())
    }

    /// Run one write statement in a write transaction of its own: its row,
    /// if any.
    async fn write_optional(
        &self,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Option<Self::Row>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let row = Self::fetch_optional(&mut tx, sql, args).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Run one write statement in a write transaction of its own: how many
    /// rows it changed.
    async fn write(&self, sql: &'static str, args: Vec<Arg<'_>>) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let changed = Self::execute(&mut tx, sql, args).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Run a read on a reader connection.
    async fn read_all(
        &self,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Vec<Self::Row>, sqlx::Error> {
        let mut conn = self.reader().acquire().await?;
        Self::fetch_all(&mut conn, sql, args).await
    }

    /// Run a read of at most one row on a reader connection.
    async fn read_optional(
        &self,
        sql: &'static str,
        args: Vec<Arg<'_>>,
    ) -> Result<Option<Self::Row>, sqlx::Error> {
        Ok(self.read_all(sql, args).await?.into_iter().next())
    }

    /// The track writes of a batch (`rows`: not empty, in key order), in the
    /// caller's transaction: look up which of its tracks are stored (and
    /// which of those are inactive: the batch reactivates them), write the
    /// new ones, upsert the stored ones (rewriting only those whose content
    /// changed) and mark the others seen. `changes_recorded` is left at 0.
    async fn write_tracks(
        tx: &mut Conn<Self>,
        source: &str,
        seen_at: DateTime<Utc>,
        rows: &[&InputRow<'_>],
        new_tracks: NewTracks,
    ) -> Result<BatchOutcome, Attempt>;
}

/// Statements built once per dialect, from its fragments, at first use.
#[derive(Debug)]
pub(crate) struct PerDialect<T>([OnceLock<T>; 2]);

impl<T> PerDialect<T> {
    pub(crate) const fn new() -> Self {
        PerDialect([OnceLock::new(), OnceLock::new()])
    }

    /// `D`'s value, built by `build` the first time.
    pub(crate) fn get<D: Driver>(&'static self, build: fn() -> T) -> &'static T {
        self.0[D::DIALECT as usize].get_or_init(build)
    }
}
