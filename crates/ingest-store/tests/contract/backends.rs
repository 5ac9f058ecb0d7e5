//! What is specific to one backend or to the factory: URL schemes, file
//! creation, WAL, in-memory SQLite, migrating twice, an unreachable server,
//! how idle job workers are woken (one SQLite file opened twice in a
//! process; a Postgres listener whose connection is killed), a Postgres
//! batch whose new track another writer stores meanwhile.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest_core::{
    BatchOutcome, JobQueue, JobRequest, NewJob, RepositoryError, TrackRepository, Trigger,
};
use ingest_store::{
    PgJobQueue, PgTrackRepository, SqliteJobQueue, SqliteTrackRepository, StoreConfig,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::fixtures::*;
use crate::harness::PgTestDb;

#[tokio::test]
async fn sqlite_factory_creates_the_file_and_directories_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a").join("b").join("tracks.db");
    let url = format!("sqlite:{}", path.display());
    let repo = ingest_store::connect(&url).await.expect("connect");
    assert!(path.exists());
    repo.apply_batch(&batch(run(), t(0), vec![bare("alpha")]))
        .await
        .expect("write");

    let side = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::from_str(&url).expect("url"))
        .await
        .expect("side connection");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&side)
        .await
        .expect("pragma");
    assert_eq!(mode.to_lowercase(), "wal");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN \
         ('tracks', 'track_changes', 'track_sync_state')",
    )
    .fetch_one(&side)
    .await
    .expect("schema");
    assert_eq!(tables, 3);
}

#[tokio::test]
async fn sqlite_in_memory_database_works_on_one_connection() {
    let repo = ingest_store::connect("sqlite::memory:")
        .await
        .expect("connect");
    let result = repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![full("alpha", t(0)), bare("bravo")],
        ))
        .await
        .expect("write");
    assert_eq!(result.inserted, 2);
    // Reads go through the same connection, so they see the writes.
    assert_eq!(repo.count_tracks(SOURCE, true).await.expect("count"), 2);
    assert_eq!(repo.snapshot(SOURCE).await.expect("snapshot").len(), 2);
}

#[tokio::test]
async fn sqlite_migrate_is_idempotent_and_repository_reopens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tracks.db").display());
    ingest_store::migrate(&url).await.expect("first migrate");
    ingest_store::migrate(&url).await.expect("second migrate");

    let repo = SqliteTrackRepository::connect(&url, &StoreConfig::default())
        .await
        .expect("connect");
    repo.migrate().await.expect("third migrate");
    repo.apply_batch(&batch(run(), t(0), vec![bare("alpha")]))
        .await
        .expect("write");
    repo.close().await;

    // Data survives reopening; a closed repository is unavailable.
    let reopened = ingest_store::connect(&url).await.expect("reopen");
    assert_eq!(
        reopened.count_tracks(SOURCE, false).await.expect("count"),
        1
    );
    let err = repo
        .count_tracks(SOURCE, false)
        .await
        .expect_err("closed pool");
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn postgres_migrate_is_idempotent_and_repository_reopens() {
    let db = PgTestDb::create().await;
    let url = db.url.clone();
    let result = async {
        ingest_store::migrate(&url).await?;
        ingest_store::migrate(&url).await?;
        let repo = PgTrackRepository::connect(&url, &StoreConfig::default()).await?;
        repo.migrate().await?;
        repo.apply_batch(&batch(run(), t(0), vec![bare("alpha")]))
            .await?;
        repo.close().await;
        let reopened = ingest_store::connect(&url).await?;
        let count = reopened.count_tracks(SOURCE, false).await?;
        let closed = repo.count_tracks(SOURCE, false).await;
        Ok::<_, RepositoryError>((count, closed))
    }
    .await;
    db.drop_db().await;
    let (count, closed) = result.expect("migrate, write, reopen");
    assert_eq!(count, 1);
    assert!(closed.expect_err("closed pool").is_transient());
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    // A refused connection is retried (the server may be starting) until
    // the acquire timeout.
    let config = StoreConfig {
        acquire_timeout: Duration::from_millis(500),
        ..StoreConfig::default()
    };
    let started = Instant::now();
    let err = ingest_store::connect_with("postgres://postgres@127.0.0.1:1/nowhere", &config)
        .await
        .map(|_| ())
        .expect_err("nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(err, RepositoryError::Unavailable(_)),
        "expected Unavailable, got {err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn missing_postgres_database_is_unavailable() {
    let mut url = url::Url::parse(&crate::harness::admin_url()).expect("admin URL");
    url.set_path("test_ingest_store_does_not_exist");
    let err = ingest_store::connect(url.as_str())
        .await
        .map(|_| ())
        .expect_err("no such database");
    assert!(
        matches!(err, RepositoryError::Unavailable(ref m) if m.contains("does not exist")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unsupported_scheme_is_refused_without_echoing_the_url() {
    let err = ingest_store::connect("mysql://root:hunter2@localhost/db")
        .await
        .map(|_| ())
        .expect_err("mysql is not supported");
    assert!(err.to_string().contains("mysql"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// A repository must be usable as the core's `Arc<dyn TrackRepository>`,
/// a queue as its `Arc<dyn JobQueue>`.
#[test]
fn repositories_and_queues_are_ports() {
    fn port<T: TrackRepository + Clone + 'static>() {}
    port::<PgTrackRepository>();
    port::<SqliteTrackRepository>();
    fn queue<T: JobQueue + 'static>() {}
    queue::<PgJobQueue>();
    queue::<SqliteJobQueue>();
}

fn job(source: &str) -> NewJob {
    NewJob {
        source: source.into(),
        trigger: Trigger::Cli,
        request: JobRequest::default(),
        max_attempts: 1,
    }
}

/// Spawn a worker waiting (up to 30 s) for work; returns when it woke.
fn idle_worker(jobs: Arc<dyn JobQueue>) -> tokio::task::JoinHandle<Instant> {
    tokio::spawn(async move {
        jobs.wait_for_work(Duration::from_secs(30)).await;
        Instant::now()
    })
}

/// The worker is still waiting after a moment; the enqueue wakes it quickly.
async fn assert_enqueue_wakes(
    waiter: tokio::task::JoinHandle<Instant>,
    queue: &dyn JobQueue,
    source: &str,
) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the worker waits");
    let enqueued = Instant::now();
    queue.enqueue(&job(source)).await.expect("enqueue");
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the enqueue wakes the worker")
        .expect("waiter");
    let latency = woke.saturating_duration_since(enqueued);
    assert!(
        latency < Duration::from_millis(500),
        "woke after {latency:?}"
    );
}

#[tokio::test]
async fn sqlite_in_memory_store_serves_the_job_queue() {
    let store = ingest_store::open("sqlite::memory:").await.expect("open");
    let queued = store.jobs.enqueue(&job("liverc")).await.expect("enqueue");
    let claimed = store
        .jobs
        .claim("w1", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.job.id, queued.id);
    assert_eq!(store.jobs.list(10).await.expect("list").len(), 1);
}

#[tokio::test]
async fn sqlite_stores_of_one_file_wake_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let api = ingest_store::open(&url).await.expect("open for the API");
    let worker = ingest_store::open(&url).await.expect("open for the worker");
    let waiter = idle_worker(worker.jobs.clone());
    assert_enqueue_wakes(waiter, api.jobs.as_ref(), "liverc").await;

    // Another file is another database: its enqueues wake nobody here.
    let other_url = format!("sqlite://{}", dir.path().join("other.db").display());
    let other = ingest_store::open(&other_url).await.expect("open other");
    // (The first enqueue left this process's wake-up a permit; use it up.)
    worker.jobs.wait_for_work(Duration::from_millis(50)).await;
    let waiter = idle_worker(worker.jobs.clone());
    other.jobs.enqueue(&job("liverc")).await.expect("enqueue");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "not woken by another database");
    waiter.abort();
}

#[tokio::test]
async fn postgres_listener_recovers_after_losing_its_connection() {
    let db = PgTestDb::create().await;
    let url = db.url.clone();
    let outcome = tokio::spawn(async move {
        let store = ingest_store::open(&url).await.expect("open");
        let side = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("side connection");
        // The first wait starts the listener (and returns at once: it cannot
        // know what was queued before it listened).
        store.jobs.wait_for_work(Duration::from_secs(5)).await;
        let waiter = idle_worker(store.jobs.clone());
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Kill the listener's connection. The listener comes back either
        // way: sqlx reconnects it, or the wait that meets the error drops it
        // (sleeping out its timeout) and the next wait listens anew.
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'ingest-store-listener'",
        )
        .fetch_all(&side)
        .await
        .expect("terminate the listener");
        assert_eq!(killed, [true], "one listener connection");
        waiter.abort();
        store.jobs.wait_for_work(Duration::from_millis(300)).await;
        store.jobs.wait_for_work(Duration::from_secs(2)).await;

        let waiter = idle_worker(store.jobs.clone());
        assert_enqueue_wakes(waiter, store.jobs.as_ref(), "liverc").await;
    })
    .await;
    db.drop_db().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// On Postgres a batch's new tracks are streamed in with COPY, which does
/// not arbitrate conflicts. When another writer stores one of them between
/// the batch's lookup and its COPY, the batch is not refused: it is applied
/// again with every track through the upsert, which merges into the row the
/// other writer stored.
#[tokio::test]
async fn postgres_new_track_stored_concurrently_is_merged() {
    let db = PgTestDb::create().await;
    let url = db.url.clone();
    let outcome = tokio::spawn(async move {
        let repo = ingest_store::connect(&url).await.expect("connect");
        let side = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("side connections");

        // The other writer stores alpha and keeps its transaction open.
        let mut other = side.begin().await.expect("begin");
        sqlx::query(
            "INSERT INTO tracks (source, source_track_slug, name, track_url, events_url,
                 is_live, live_video, status, featured,
                 first_seen_at, last_seen_at, created_at, updated_at)
             VALUES ($1, 'alpha', 'Other Writer', 'u', 'e', false, false, 'idle', false,
                 $2, $2, $2, $2)",
        )
        .bind(SOURCE)
        .bind(us(t(-1)))
        .execute(&mut *other)
        .await
        .expect("the other writer's insert");

        // The batch cannot see alpha yet, so it streams it: the COPY waits
        // on the other transaction's key.
        let writer = repo.clone();
        let applying = tokio::spawn(async move {
            writer
                .apply_batch(&batch(
                    run(),
                    t(0),
                    vec![full("alpha", t(0)), bare("bravo")],
                ))
                .await
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'ingest-store'
                   AND wait_event_type = 'Lock' AND query LIKE 'COPY tracks%'",
            )
            .fetch_one(&side)
            .await
            .expect("pg_stat_activity");
            if waiting == 1 {
                break;
            }
            assert!(
                !applying.is_finished(),
                "the batch did not wait for the key"
            );
            assert!(Instant::now() < deadline, "the COPY never waited");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        other.commit().await.expect("the other writer commits");

        let result = applying
            .await
            .expect("batch task")
            .expect("the batch is applied, not refused");
        assert_eq!(
            result,
            BatchOutcome {
                inserted: 1,
                updated: 1,
                unchanged: 0,
                reactivated: Vec::new(),
                changes_recorded: 0,
            }
        );
        let rows = repo
            .get_tracks(SOURCE, &slugs(&["alpha", "bravo"]))
            .await
            .expect("get_tracks");
        assert_eq!(rows.len(), 2);
        assert_catalogue(&rows[0], &catalogue("alpha"));
        assert_eq!(rows[0].first_seen_at, us(t(-1)), "the other writer's row");
        assert_eq!(rows[0].last_seen_at, us(t(0)));
        assert_eq!(rows[0].updated_at, us(t(0)));
        assert_catalogue(&rows[1], &bare("bravo").catalogue);
        assert_eq!(rows[1].created_at, us(t(0)));
    })
    .await;
    db.drop_db().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
