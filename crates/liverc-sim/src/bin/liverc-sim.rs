//! `liverc-sim`: a LiveRC-shaped site on loopback.
//!
//! Parses its flags ([`liverc_sim::cli::SimArgs`]), starts the simulator,
//! prints `listening on http://127.0.0.1:PORT` as the first line on stdout,
//! logs to stderr, and runs until SIGINT or SIGTERM.

use clap::Parser;
use liverc_sim::cli::SimArgs;

/// A LiveRC-shaped site on loopback for tests, demos and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "liverc-sim", version, about)]
struct Args {
    #[command(flatten)]
    sim: SimArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    liverc_sim::cli::serve(&Args::parse().sim).await
}
