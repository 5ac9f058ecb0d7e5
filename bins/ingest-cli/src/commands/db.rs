//! `ingest-cli db …`: database maintenance.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use ingest_app::config::DatabaseConfig;
use ingest_app::config::redact;

/// The `db` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Apply every pending migration. A SQLite file is created if missing; a
    /// PostgreSQL database must exist already (`createdb NAME`).
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

pub(crate) async fn run(command: DbCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Migrate { database } => {
            let url = database.url();
            ingest_store::migrate(&url).await?;
            writeln!(out, "migrated {}", redact(&url))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
