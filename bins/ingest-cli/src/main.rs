//! `ingest-cli`: the operator CLI of the LiveRC ingestion service.
//!
//! A composition root: `main` parses the arguments, sets up tracing (to
//! stderr, so stdout carries only command output), and hands the parsed
//! command to its module under [`commands`]. Exit codes: `sync`, `demo` and
//! `remote sync` share the table of [`ingest_app::exit`] (in their
//! `--help`); every other command exits 0 on success, 1 on failure and 2 on
//! invalid arguments (`liverc parse-*`: 1 the page is not what the command
//! expects, 2 it could not be read).

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod commands;

/// Operator CLI of the LiveRC ingestion service.
#[derive(Debug, Parser)]
#[command(name = "ingest-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output: `-v` the run's info lines, `-vv` debug. On a
    /// terminal the default is warnings and errors only, beside the bar.
    /// `RUST_LOG` overrides both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

/// Top-level command groups, one per concern.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run one sync of the LiveRC catalogue into the database.
    // Boxed: its settings make it by far the largest variant.
    #[command(after_help = ingest_app::exit::HELP)]
    Sync(Box<commands::sync::SyncArgs>),
    /// A demo sync against the LiveRC simulator, started in this process,
    /// into the embedded database `data/demo.db`. Run it again to see changes.
    #[command(after_help = ingest_app::exit::HELP)]
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
    /// Serve the LiveRC simulator: a LiveRC-shaped site (catalogue,
    /// dashboards, robots.txt) with chosen latency and faults, for demos,
    /// tests and the container smoke test. Prints `listening on URL`, runs
    /// until SIGINT or SIGTERM.
    Simulator(liverc_sim::cli::SimArgs),
    /// Print the shell completion script, e.g.
    /// `ingest-cli completions bash > /etc/bash_completion.d/ingest-cli`.
    Completions(commands::shell::CompletionsArgs),
    /// Print the manual page (roff), e.g. `ingest-cli man | man -l -`, or
    /// write one page per command with `--out-dir`.
    Man(commands::shell::ManArgs),
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
    // Generated from the definition above; no runtime, no logs.
    let generated = match &cli.command {
        Command::Completions(args) => Some(commands::shell::completions(
            args,
            Cli::command(),
            &mut std::io::stdout().lock(),
        )),
        Command::Man(args) => Some(commands::shell::man(
            args,
            Cli::command(),
            &mut std::io::stdout().lock(),
        )),
        _ => None,
    };
    if let Some(result) = generated {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ingest-cli: {e:#}");
                ExitCode::from(ingest_app::exit::FAILED)
            }
        };
    }
    init_tracing(cli.verbose, cli.quiet);

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
            Command::Simulator(args) => liverc_sim::cli::serve(&args)
                .await
                .map(|()| ExitCode::SUCCESS),
            // Handled before the runtime started.
            Command::Completions(_) | Command::Man(_) => Ok(ExitCode::SUCCESS),
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
            ExitCode::from(ingest_app::exit::FAILED)
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG`, else by the flags: cargo's
/// manners on a terminal (warnings and errors around one live bar, `-v` for
/// the run's info lines), info lines when stderr is a pipe or a file (they
/// are the progress there). Coloured only on a terminal and never when
/// `NO_COLOR` is set (no-color.org). On a terminal the lines are short: no
/// timestamp or span fields (`-vv` brings them back).
fn init_tracing(verbose: u8, quiet: bool) {
    let terminal = std::io::stderr().is_terminal();
    let colour = terminal && !ingest_app::runtime::no_color(std::env::var_os("NO_COLOR"));
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if terminal => "warn",
        (false, 0 | 1) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ingest_app::progress::StderrAroundBar)
        .with_ansi(colour)
        .with_target(false);
    // A subscriber can only be installed once per process; a second call is harmless.
    let _ = if terminal && verbose < 2 {
        builder
            .without_time()
            .compact()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NONE)
            .try_init()
    } else {
        builder.try_init()
    };
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
