//! Which backend a database URL names, and the pool settings both backends
//! take. Built by the binaries; this crate reads no environment variables.

use std::time::Duration;

use ingest_core::RepositoryError;

/// The database engines the repository runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// Embedded SQLite (the default for a single machine).
    Sqlite,
}

impl Backend {
    /// The backend named by a database URL's scheme: `postgres://` or
    /// `postgresql://` for Postgres, `sqlite://` or `sqlite:` (including
    /// `sqlite::memory:`) for SQLite.
    ///
    /// The error names only the scheme, never the URL (which may carry a
    /// password).
    pub fn from_url(url: &str) -> Result<Self, RepositoryError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            _ => Err(RepositoryError::Unavailable(format!(
                "unsupported database URL scheme {scheme:?}: expected postgres://, postgresql://, \
                 sqlite:// or sqlite:"
            ))),
        }
    }
}

/// Connection-pool settings.
///
/// SQLite always gets exactly one writer connection (SQLite serialises writers
/// anyway; one connection makes every write transaction queue in the pool
/// instead of failing with `SQLITE_BUSY`) plus `max_connections` read-only
/// connections, which WAL lets run beside the writer. An in-memory SQLite
/// database uses the single writer connection for everything.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Postgres: pool size. SQLite: number of reader connections.
    pub max_connections: u32,
    /// How long a call waits for a free connection (including establishing a
    /// new one) before failing with `RepositoryError::Unavailable`.
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for another process's lock.
    pub sqlite_busy_timeout: Duration,
}

impl Default for StoreConfig {
    /// Four connections (the sync writes from one task; the API reads from a
    /// few), 30 s to acquire (a 100,000-row SQLite batch holds the writer for
    /// seconds), 10 s busy timeout.
    fn default() -> Self {
        StoreConfig {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(30),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_backend() {
        for (url, backend) in [
            ("postgres://postgres@127.0.0.1:5432/db", Backend::Postgres),
            ("postgresql://u:p@host/db", Backend::Postgres),
            ("POSTGRES://host/db", Backend::Postgres),
            ("sqlite://data/tracks.db", Backend::Sqlite),
            ("sqlite:tracks.db", Backend::Sqlite),
            ("sqlite::memory:", Backend::Sqlite),
        ] {
            assert_eq!(Backend::from_url(url).ok(), Some(backend), "{url}");
        }
    }

    #[test]
    fn unknown_schemes_are_refused_without_echoing_the_url() {
        for url in ["mysql://root:hunter2@host/db", "tracks.db", "", "http://x"] {
            let err = Backend::from_url(url).expect_err(url);
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(err.to_string().contains("unsupported"), "{err}");
        }
    }
}
