//! `ingest-cli`: the operator CLI of the LiveRC ingestion service.
//!
//! A composition root: `main` parses the arguments, sets up tracing (to
//! stderr, so stdout carries only command output), and hands the parsed
//! command to its module under [`commands`]. Exit codes: 0 success, 1 the
//! input was read but is not what the command expects (e.g. a page format
//! error) or output failed, 2 the input could not be read or the arguments
//! are invalid; `sync` and `demo` also exit 3 when the deactivation guard
//! refused, and 4 when they did not start because another run holds the
//! source.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod commands;

/// Operator CLI of the LiveRC ingestion service.
#[derive(Debug, Parser)]
#[command(name = "ingest-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level command groups, one per concern.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run one sync of the LiveRC catalogue into the database.
    // Boxed: its settings make it by far the largest variant.
    Sync(Box<commands::sync::SyncArgs>),
    /// A demo sync against the LiveRC simulator, started in this process,
    /// into the embedded database `data/demo.db`. Run it again to see changes.
    Demo(commands::demo::DemoArgs),
    /// The stored catalogue.
    #[command(subcommand)]
    Tracks(commands::tracks::TracksCommand),
    /// Run reports.
    #[command(subcommand)]
    Reports(commands::reports::ReportsCommand),
    /// Database maintenance.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// Probe a `/healthz` URL (the container health check): exit 0 if healthy.
    Health(commands::health::HealthArgs),
    /// Talk to a running `ingest-api` (what cron uses).
    #[command(subcommand)]
    Remote(commands::remote::RemoteCommand),
    /// LiveRC connector tools: parse saved pages offline.
    #[command(subcommand)]
    Liverc(commands::liverc::LivercCommand),
}

fn main() -> ExitCode {
    // `.env` in the working directory, if any, fills variables that are not
    // already set; flags override both.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: .env ignored from the first bad line on: {e}");
    }
    let cli = Cli::parse();
    if let Command::Health(args) = cli.command {
        // The health check stays minimal: no tracing, one request.
        return match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(commands::health::run(args)),
            Err(e) => {
                eprintln!("unhealthy: {e}");
                ExitCode::from(1)
            }
        };
    }
    init_tracing();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ingest-cli: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Sync(args) => commands::sync::run(*args, &mut out).await,
            Command::Demo(args) => commands::demo::run(args, &mut out).await,
            Command::Tracks(c) => commands::tracks::run(c, &mut out).await,
            Command::Reports(c) => commands::reports::run(c, &mut out).await,
            Command::Db(c) => commands::db::run(c, &mut out).await,
            Command::Remote(c) => commands::remote::run(c, &mut out).await,
            Command::Health(args) => Ok(commands::health::run(args).await),
            Command::Liverc(c) => Ok(match commands::liverc::run(c, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    // Whatever was printed so far is flushed before the message.
                    let _ = out.flush();
                    eprintln!("ingest-cli: {error}");
                    error.exit_code()
                }
            }),
        }
    });
    let _ = out.flush();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ingest-cli: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); coloured only
/// on a terminal and never when `NO_COLOR` is set (no-color.org).
fn init_tracing() {
    let colour = std::io::stderr().is_terminal()
        && !ingest_app::runtime::no_color(std::env::var_os("NO_COLOR"));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A subscriber can only be installed once per process; a second call is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_liverc_subcommands() {
        let cli = Cli::try_parse_from([
            "ingest-cli",
            "liverc",
            "parse-catalogue",
            "page.html",
            "--fetched-at",
            "2025-12-06T12:00:00+01:00",
        ])
        .expect("valid arguments");
        let Command::Liverc(commands::liverc::LivercCommand::ParseCatalogue { file, fetched_at }) =
            cli.command
        else {
            panic!("wrong command parsed");
        };
        assert_eq!(file, std::path::PathBuf::from("page.html"));
        assert_eq!(
            fetched_at.map(|t| t.to_rfc3339()),
            Some("2025-12-06T11:00:00+00:00".to_owned())
        );

        assert!(Cli::try_parse_from(["ingest-cli", "liverc", "parse-dashboard", "d.html"]).is_ok());
        assert!(
            Cli::try_parse_from([
                "ingest-cli",
                "liverc",
                "parse-catalogue",
                "p.html",
                "--fetched-at",
                "yesterday"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["ingest-cli", "liverc", "parse-dashboard"]).is_err());
    }
}
