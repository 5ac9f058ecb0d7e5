//! `ingest-worker`: claims queued sync jobs from the database and runs them.
//!
//! A composition root: parse the configuration (flags with `MRE_*`
//! environment fallbacks, `.env` in development), wire the adapters, bind the
//! metrics address, print `listening on http://HOST:PORT` as the first line
//! on stdout, then run the worker until `SIGTERM`/`SIGINT`. On a signal it
//! stops claiming, lets the job in hand store its current batch, releases
//! that job to the queue with its checkpoint, and exits 0.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use ingest_app::config::{
    AlertSettings, DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, SyncSettings,
    WorkerSettings,
};
use ingest_app::runtime::{
    announce_listening, init_tracing, metrics_router, no_color, run_main, shutdown_signal,
};
use ingest_app::wiring::{build_sync_app_on, build_worker, open_database, sync_metrics};

/// Runs queued LiveRC sync jobs; many workers may share one Postgres.
#[derive(Debug, Parser)]
#[command(name = "ingest-worker", version, about, long_about = None)]
struct Args {
    /// Address of the worker's `/metrics` and `/healthz` (port 0: any free port).
    #[arg(
        long = "metrics-addr",
        env = "MRE_WORKER_METRICS_ADDR",
        default_value = "0.0.0.0:9090"
    )]
    metrics_addr: SocketAddr,
    /// Log JSON lines (`true`) or text (`false`); unset: JSON unless stderr
    /// is a terminal (containers, systemd, log shippers get JSON).
    #[arg(long = "log-json", env = "MRE_LOG_JSON", action = clap::ArgAction::Set)]
    log_json: Option<bool>,
    /// Public base URL of the API, for report links in alerts.
    #[arg(long = "public-url", env = "MRE_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    worker: WorkerSettings,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    liverc: LiveRcSettings,
    #[command(flatten)]
    sync: SyncSettings,
    #[command(flatten)]
    reports: ReportSettings,
    #[command(flatten)]
    geocode: GeocodeSettings,
    #[command(flatten)]
    alerts: AlertSettings,
}

fn main() -> ExitCode {
    // `.env` fills variables not already set; a file that does not parse is
    // reported, since every line after the bad one would be silently lost.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: .env ignored from the first bad line on: {e}");
    }
    let args = Args::parse();
    init_tracing(args.log_json, no_color(std::env::var_os("NO_COLOR")));
    run_main("ingest-worker", run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (store, database_url) = open_database(&args.database).await?;
    let app = build_sync_app_on(
        store,
        database_url,
        sync_metrics("ingest-worker", args.alerts.sla()),
        &args.liverc,
        &args.sync,
        &args.reports,
        &args.geocode,
    )?;
    let listener = tokio::net::TcpListener::bind(args.metrics_addr).await?;
    let addr = listener.local_addr()?;
    announce_listening(addr)?;

    let shutdown = shutdown_signal();
    let server = axum::serve(listener, metrics_router(app.metrics.clone()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let worker = build_worker(
        &app,
        &args.worker,
        &args.sync,
        &args.alerts,
        args.public_url.clone(),
    )?;
    let (server, ()) = tokio::join!(server, worker.run(shutdown));
    server?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }
}
