//! `ingest-cli remote sync`: start a sync through the API (as cron does) and
//! optionally follow it to the end; the client lives in `ingest_app::remote`.
//!
//! Exit codes: 0 the job succeeded; 2 it failed or was cancelled, or the API
//! could not be used (unreachable, 401, an unexpected answer); 3 it succeeded
//! but the deactivation guard refused; 4 skipped: the kill switch is off or a
//! sync of the source is already queued or running; 5 it succeeded but the
//! markup-drift guard held fields.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use ingest_app::remote::{RemoteSyncArgs, remote_sync};

/// `ingest-cli remote …`
#[derive(Debug, Subcommand)]
pub(crate) enum RemoteCommand {
    /// Enqueue a sync job through the API; with `--wait`, follow it to the end.
    #[command(after_help = ingest_app::exit::HELP)]
    Sync(RemoteSyncArgs),
}

pub(crate) async fn run(cmd: RemoteCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        RemoteCommand::Sync(args) => {
            let code = remote_sync(&args, out, &mut |line| eprintln!("ingest-cli: {line}")).await?;
            Ok(ExitCode::from(code))
        }
    }
}
