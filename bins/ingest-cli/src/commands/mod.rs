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
pub(crate) mod sync;
pub(crate) mod tracks;

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
