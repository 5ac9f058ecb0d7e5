//! The CLI's commands, one module per concern, and the error type that maps
//! their failures to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) mod db;
pub(crate) mod demo;
pub(crate) mod health;
pub(crate) mod liverc;
pub(crate) mod remote;
pub(crate) mod reports;
pub(crate) mod shell;
pub(crate) mod sync;
pub(crate) mod tracks;

/// The embedded database `demo` writes to.
pub(crate) const DEMO_DATABASE: &str = "data/demo.db";

/// The database a read-only command (`tracks list`, `reports …`) reads:
/// opened and migrated like any other, except that a SQLite file that does
/// not exist is an error naming it (instead of a new empty database and
/// "0 tracks"), with a pointer to the demo's database when that is there.
pub(crate) async fn open_existing(
    database: &ingest_app::config::DatabaseConfig,
) -> anyhow::Result<ingest_store::Store> {
    let url = database.url();
    if let Some(path) = ingest_store::sqlite_file(&url)?
        && !path.exists()
    {
        let demo = std::path::Path::new(DEMO_DATABASE);
        let hint = if database.database_url.is_none() && demo.exists() {
            format!(
                "; the demo's tracks are in {DEMO_DATABASE}: add --database-url sqlite://{DEMO_DATABASE}"
            )
        } else {
            "; run a sync (or `ingest-cli db migrate`) first".to_owned()
        };
        anyhow::bail!("no database at {}{hint}", path.display());
    }
    let (store, _) = ingest_app::wiring::open_database(database).await?;
    Ok(store)
}

/// Why a command failed, sorted by exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// The input file could not be read (exit code 2).
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input was read but is not a page of the expected kind (exit code 1).
    #[error("{}: {source}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: ::liverc::FormatError,
    },
    /// Anything else, e.g. stdout closed (exit code 1).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CommandError {
    /// The process exit code for this failure.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CommandError::Unreadable { .. } => ExitCode::from(2),
            CommandError::Format { .. } | CommandError::Other(_) => ExitCode::from(1),
        }
    }
}
