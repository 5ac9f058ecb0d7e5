//! `ingest-api`: the admin HTTP API of the LiveRC ingestion service.
//!
//! A composition root: parse the configuration (flags with `MRE_*`
//! environment fallbacks, `.env` in development), open the database, build
//! the router of crate `ingest-http`, bind, print `listening on
//! http://HOST:PORT` as the first line on stdout, and serve until
//! `SIGTERM`/`SIGINT`. With `--with-worker` a job worker runs in the same
//! process (one-box deployments and the embedded SQLite database, which only
//! one process may write).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ingest_app::config::{
    AlertSettings, ApiSettings, DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings,
    SyncSettings, WorkerSettings,
};
use ingest_app::runtime::{announce_listening, init_tracing, no_color, run_main, shutdown_signal};
use ingest_app::wiring::{build_sync_app_on, build_worker, open_database};

/// The admin HTTP API: sync jobs, reports, the catalogue, metrics.
#[derive(Debug, Parser)]
#[command(name = "ingest-api", version, about, long_about = None)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long = "addr", env = "MRE_API_ADDR", default_value = "0.0.0.0:8080")]
    addr: SocketAddr,
    /// Run a job worker inside this process too.
    #[arg(long = "with-worker", env = "MRE_API_WITH_WORKER", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    with_worker: bool,
    /// Log JSON lines (`true`) or text (`false`); unset: JSON unless stderr
    /// is a terminal (containers, systemd, log shippers get JSON).
    #[arg(long = "log-json", env = "MRE_LOG_JSON", action = clap::ArgAction::Set)]
    log_json: Option<bool>,
    /// Public base URL of this API, for report links in alerts.
    #[arg(long = "public-url", env = "MRE_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    api: ApiSettings,
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
    run_main("ingest-api", run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let tokens = ingest_http::AdminTokens::parse_list(&args.api.admin_tokens)
        .map_err(|e| anyhow::anyhow!("MRE_ADMIN_API_TOKENS: {e}"))?;
    let (store, database_url) = open_database(&args.database).await?;
    // The LiveRC client, the geocoder and the service only where syncs run:
    // without a worker, a setting only they read cannot stop the API. Nor
    // does an API without a worker export run metrics: it runs none, and a
    // Prometheus would believe its zeros. The queue's series it exports
    // either way: it owns the queue, and reads it on every scrape.
    let (worker, http_metrics, queue_metrics, render_metrics): (
        _,
        _,
        _,
        Box<dyn Fn() -> String + Send + Sync>,
    ) = if args.with_worker {
        let mut metrics = ingest_metrics::Metrics::new().with_sla(args.alerts.sla());
        ingest_metrics::register_build_info(metrics.registry_mut(), "ingest-api");
        let http = ingest_http::HttpMetrics::register(metrics.registry_mut());
        let queue = ingest_http::QueueMetrics::register(metrics.registry_mut());
        let metrics = Arc::new(metrics);
        let app = build_sync_app_on(
            store.clone(),
            database_url,
            metrics.clone(),
            &args.liverc,
            &args.sync,
            &args.reports,
            &args.geocode,
        )?;
        let worker = build_worker(
            &app,
            &args.worker,
            &args.sync,
            &args.alerts,
            args.public_url.clone(),
        )?;
        (
            Some(worker),
            http,
            queue,
            Box::new(move || metrics.render()),
        )
    } else {
        let mut registry = ingest_metrics::prometheus_client::registry::Registry::default();
        ingest_metrics::register_build_info(&mut registry, "ingest-api");
        let http = ingest_http::HttpMetrics::register(&mut registry);
        let queue = ingest_http::QueueMetrics::register(&mut registry);
        (
            None,
            http,
            queue,
            Box::new(move || ingest_metrics::render(&registry)),
        )
    };
    let state = ingest_http::ApiState {
        jobs: store.jobs.clone(),
        tracks: store.tracks.clone(),
        reports: store.reports.clone(),
        metrics: ingest_http::MetricsEndpoint::new(ingest_metrics::CONTENT_TYPE, render_metrics)
            .with_http_metrics(http_metrics)
            .with_queue_metrics(queue_metrics),
        admin_tokens: tokens,
        job_defaults: ingest_http::JobDefaults {
            max_attempts: args.worker.max_attempts,
            metadata: args.sync.metadata,
            ..ingest_http::JobDefaults::default()
        },
        scrape_enabled: args.liverc.scrape_enabled,
        body_limit: args.api.body_limit_bytes,
        request_timeout: args.api.request_timeout(),
        database_timeout: args.api.database_timeout(),
        clock: Arc::new(ingest_core::SystemClock),
    };
    let server_config = ingest_http::ServerConfig {
        header_read_timeout: args.api.header_read_timeout(),
        max_connections: usize::try_from(args.api.max_connections).unwrap_or(usize::MAX),
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    announce_listening(addr)?;

    let shutdown = shutdown_signal();
    let server = ingest_http::serve(
        listener,
        ingest_http::router(state),
        server_config,
        shutdown.clone().cancelled_owned(),
    );
    if let Some(worker) = worker {
        let (server, ()) = tokio::join!(server, worker.run(shutdown));
        server?;
    } else {
        server.await?;
    }
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
