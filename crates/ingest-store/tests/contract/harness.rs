//! A fresh database per test (`ingest_testdb`), the ports under
//! test (the repository and the job queue, built by the crate's `open`
//! factory, so the factory and the migrations run every time) and a side
//! connection to read what the ports do not expose (`track_changes`).

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest_core::{JobQueue, ReportArchive, TrackRepository};
use ingest_testdb::{self as testing, TestDb};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use uuid::Uuid;

/// Every test database's name starts with this; leftovers can be dropped
/// with `SELECT 'DROP DATABASE ' || datname || ';' FROM pg_database WHERE
/// datname LIKE 'test_ingest_store_%'`.
pub(crate) const TEST_DB_PREFIX: &str = "test_ingest_store_";

/// A case may take this long; a hung statement fails the test instead of
/// stalling the suite.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// One `track_changes` row as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeRecord {
    pub(crate) slug: String,
    pub(crate) field: String,
    pub(crate) old_value: Option<String>,
    pub(crate) new_value: Option<String>,
    pub(crate) changed_at: DateTime<Utc>,
}

enum Raw {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// What a case gets: the repository, the job queue, the database's URL (to
/// open more stores on it) and a side channel into its tables.
pub(crate) struct Harness {
    pub(crate) repo: Arc<dyn TrackRepository>,
    pub(crate) jobs: Arc<dyn JobQueue>,
    pub(crate) reports: Arc<dyn ReportArchive>,
    pub(crate) url: String,
    raw: Raw,
}

impl Harness {
    /// The change rows of `run_id`, in insertion order.
    pub(crate) async fn changes(&self, run_id: Uuid) -> Vec<ChangeRecord> {
        match &self.raw {
            Raw::Postgres(pool) => sqlx::query(
                "SELECT slug, field, old_value, new_value, changed_at FROM track_changes
                 WHERE run_id = $1 ORDER BY id",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await
            .expect("read track_changes")
            .iter()
            .map(|r| ChangeRecord {
                slug: r.get("slug"),
                field: r.get("field"),
                old_value: r.get("old_value"),
                new_value: r.get("new_value"),
                changed_at: r.get("changed_at"),
            })
            .collect(),
            Raw::Sqlite(pool) => sqlx::query(
                "SELECT slug, field, old_value, new_value, changed_at FROM track_changes
                 WHERE run_id = ?1 ORDER BY id",
            )
            .bind(run_id.hyphenated().to_string())
            .fetch_all(pool)
            .await
            .expect("read track_changes")
            .iter()
            .map(|r| ChangeRecord {
                slug: r.get("slug"),
                field: r.get("field"),
                old_value: r.get("old_value"),
                new_value: r.get("new_value"),
                changed_at: DateTime::parse_from_rfc3339(&r.get::<String, _>("changed_at"))
                    .expect("stored timestamp")
                    .with_timezone(&Utc),
            })
            .collect(),
        }
    }

    /// How many change rows there are in all.
    pub(crate) async fn change_count(&self) -> i64 {
        self.count("track_changes").await
    }

    /// How many rows `table` holds (a table name from the test, not input).
    pub(crate) async fn count(&self, table: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"));
        match &self.raw {
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
    }
}

/// Run `case` after `setup`, then `teardown` whatever happened, then
/// re-raise the case's panic.
async fn run_case<C, Fut>(harness: Harness, case: C) -> Result<(), tokio::task::JoinError>
where
    C: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let body = case(harness);
    let task = tokio::spawn(async move {
        tokio::time::timeout(CASE_TIMEOUT, body)
            .await
            .expect("test case timed out");
    });
    task.await
}

/// Re-raise a case's panic (after teardown).
fn reraise(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test case did not finish: {e}"),
        }
    }
}

/// The admin URL (from `MRE_TEST_DATABASE_URL` or the default).
pub(crate) fn admin_url() -> String {
    testing::admin_url(std::env::var("MRE_TEST_DATABASE_URL").ok())
}

/// Fresh Postgres databases for single tests.
pub(crate) struct PgTestDb;

impl PgTestDb {
    /// A fresh, empty Postgres database (dropped by [`TestDb::drop_db`], or
    /// when it is dropped), or a panic saying how to get a server: Postgres
    /// tests must fail, not skip, without one.
    pub(crate) async fn create() -> TestDb {
        TestDb::postgres(&admin_url(), TEST_DB_PREFIX).await
    }
}

/// Run a case on a fresh Postgres database.
pub(crate) async fn with_postgres<C, Fut>(case: C)
where
    C: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = PgTestDb::create().await;
    let outcome = async {
        let store = ingest_store::open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("open + migrate {}: {e}", db.name().unwrap_or_default()));
        let raw = PgPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .expect("side connection");
        run_case(
            Harness {
                repo: store.tracks,
                jobs: store.jobs,
                reports: store.reports,
                url: db.url.clone(),
                raw: Raw::Postgres(raw),
            },
            case,
        )
        .await
    }
    .await;
    db.drop_db().await;
    reraise(outcome);
}

/// Run a case on a fresh SQLite file (in a directory the factory must
/// create).
pub(crate) async fn with_sqlite<C, Fut>(case: C)
where
    C: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDb::sqlite();
    let path = db.dir().join("data").join("tracks.db");
    let url = format!("sqlite://{}", path.display());
    let store = ingest_store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("open + migrate {url}: {e}"));
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::from_str(&url).expect("sqlite URL"))
        .await
        .expect("side connection");
    let outcome = run_case(
        Harness {
            repo: store.tracks,
            jobs: store.jobs,
            reports: store.reports,
            url: url.clone(),
            raw: Raw::Sqlite(raw),
        },
        case,
    )
    .await;
    drop(db);
    reraise(outcome);
}
