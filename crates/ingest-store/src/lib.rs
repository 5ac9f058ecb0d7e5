#![doc = include_str!("../README.md")]

mod columns;
mod config;
mod driver;
mod error;
mod jobs;
mod lease;
mod postgres;
mod prepare;
mod reports;
mod repository;
mod row;
mod sqlite;

use std::sync::Arc;

use ingest_core::{JobQueue, ReportArchive, RepositoryError, TrackRepository};

use crate::driver::Driver;
use crate::jobs::queue::Queue;
use crate::repository::Repository;

pub use config::{Backend, StoreConfig};
pub use postgres::{PgJobQueue, PgTrackRepository};
pub use sqlite::{SqliteJobQueue, SqliteTrackRepository};

/// Open the repository at `url`, bring its schema up to date and return it as
/// the core's port.
///
/// The backend is chosen by the URL scheme (`postgres://`, `postgresql://`,
/// `sqlite://`, `sqlite:`); see [`Backend::from_url`]. A SQLite file and its
/// parent directory are created when missing. Uses [`StoreConfig::default`].
pub async fn connect(url: &str) -> Result<Arc<dyn TrackRepository>, RepositoryError> {
    connect_with(url, &StoreConfig::default()).await
}

/// [`connect`] with explicit pool settings.
pub async fn connect_with(
    url: &str,
    config: &StoreConfig,
) -> Result<Arc<dyn TrackRepository>, RepositoryError> {
    Ok(open_with(url, config).await?.tracks)
}

/// The ports a database serves: the tracks, the run-report archive and the
/// sync-job queue, sharing one pool.
#[derive(Clone)]
pub struct Store {
    pub tracks: Arc<dyn TrackRepository>,
    /// The same tracks, writing nothing (every batch and finish rolled
    /// back): what a dry run's service stores into.
    pub dry_run_tracks: Arc<dyn TrackRepository>,
    pub reports: Arc<dyn ReportArchive>,
    pub jobs: Arc<dyn JobQueue>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// [`connect`], returning the report archive and the job queue as well.
pub async fn open(url: &str) -> Result<Store, RepositoryError> {
    open_with(url, &StoreConfig::default()).await
}

async fn open_with(url: &str, config: &StoreConfig) -> Result<Store, RepositoryError> {
    open_as(url, config, Mode::Write).await
}

/// [`open`] for a dry run: nothing is written to the database at `url`.
/// The track repository runs every batch and the run's finish in a
/// transaction it rolls back (so it answers what it would have written),
/// and the report archive archives nothing. The database is not migrated
/// either, and a SQLite file that does not exist is an error (not a new
/// empty file): it must have been set up before (`ingest-cli db migrate`,
/// or any real run). The job queue is the real one: a dry run must not use
/// it.
pub async fn open_dry_run(url: &str) -> Result<Store, RepositoryError> {
    if let Some(file) = sqlite_file(url)?
        && !file.exists()
    {
        return Err(RepositoryError::Unavailable(format!(
            "no database at {}: a dry run reads an existing database",
            file.display()
        )));
    }
    open_as(url, &StoreConfig::default(), Mode::DryRun).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Migrated; `tracks` writes, `dry_run_tracks` rolls back.
    Write,
    /// Not migrated; every repository rolls back.
    DryRun,
}

async fn open_as(url: &str, config: &StoreConfig, mode: Mode) -> Result<Store, RepositoryError> {
    fn store<D: Driver>(repo: Repository<D>, jobs: Queue<D>, mode: Mode) -> Store {
        let dry = Arc::new(repo.clone().dry_run());
        let repo = if mode == Mode::DryRun {
            dry.clone()
        } else {
            Arc::new(repo)
        };
        Store {
            tracks: repo.clone(),
            dry_run_tracks: dry,
            reports: repo,
            jobs: Arc::new(jobs),
        }
    }
    match Backend::from_url(url)? {
        Backend::Postgres => {
            let repo = PgTrackRepository::connect(url, config).await?;
            if mode == Mode::Write {
                repo.migrate().await?;
            }
            let jobs = PgJobQueue::new(&repo);
            Ok(store(repo, jobs, mode))
        }
        Backend::Sqlite => {
            let repo = SqliteTrackRepository::connect(url, config).await?;
            if mode == Mode::Write {
                repo.migrate().await?;
            }
            let jobs = SqliteJobQueue::new(&repo);
            Ok(store(repo, jobs, mode))
        }
    }
}

/// The file a SQLite URL names, read the way [`connect`] reads it (`None`
/// for PostgreSQL and for an in-memory database). For callers that must not
/// create a database by opening it (a dry run, a read-only command).
pub fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, RepositoryError> {
    if Backend::from_url(url)? != Backend::Sqlite
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(None);
    }
    let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
        .map_err(|e| RepositoryError::Unavailable(format!("database URL: {e}")))?;
    Ok(Some(options.get_filename().to_path_buf()))
}

/// Apply every pending migration to the database at `url` and close the
/// connection (`ingest-cli db migrate`). Applying them to an up-to-date
/// database does nothing.
pub async fn migrate(url: &str) -> Result<(), RepositoryError> {
    let config = StoreConfig {
        max_connections: 1,
        ..StoreConfig::default()
    };
    match Backend::from_url(url)? {
        Backend::Postgres => {
            let repo = PgTrackRepository::connect(url, &config).await?;
            let result = repo.migrate().await;
            repo.close().await;
            result
        }
        Backend::Sqlite => {
            let repo = SqliteTrackRepository::connect(url, &config).await?;
            let result = repo.migrate().await;
            repo.close().await;
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::sqlite_file;

    #[test]
    fn sqlite_file_reads_urls_as_connect_does() {
        let file = |url| sqlite_file(url).expect("a valid URL");
        assert_eq!(
            file("sqlite://data/tracks.db"),
            Some(PathBuf::from("data/tracks.db"))
        );
        assert_eq!(
            file("sqlite:demo.db?mode=rwc"),
            Some(PathBuf::from("demo.db"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://postgres@127.0.0.1/x"), None);
        assert!(sqlite_file("mysql://x").is_err());
    }
}
