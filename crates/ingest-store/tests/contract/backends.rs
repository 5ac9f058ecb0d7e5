//! What is specific to one backend or to the factory: URL schemes, file
//! creation, WAL, in-memory SQLite, migrating twice, an unreachable server.

use std::str::FromStr;
use std::time::{Duration, Instant};

use ingest_core::{RepositoryError, TrackRepository};
use ingest_store::{PgTrackRepository, SqliteTrackRepository, StoreConfig};
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

/// A repository must be usable as the core's `Arc<dyn TrackRepository>`.
#[test]
fn repositories_are_ports() {
    fn port<T: TrackRepository + Clone + 'static>() {}
    port::<PgTrackRepository>();
    port::<SqliteTrackRepository>();
}
