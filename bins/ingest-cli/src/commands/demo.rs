//! `ingest-cli demo`: the whole sync against the LiveRC simulator started in
//! this process, into an embedded SQLite database. Run it again and the
//! simulated site is mutated first (tracks added, removed, renamed, contacts
//! changed), so the second report shows real changes.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ingest_app::config::{
    DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, RunClaimSettings, SyncSettings,
};
use ingest_app::foreground::ForegroundClaim;
use ingest_app::wiring::build_sync_app;
use ingest_core::{SOURCE_LIVERC, Trigger};
use liverc_sim::{SimConfig, Simulator};

use super::sync::{exit_code, print_summary, run_held};

/// Where the demo keeps its tracks unless `--database-url` says otherwise:
/// apart from the real catalogue in `data/tracks.db`.
pub(crate) const DEMO_DATABASE_URL: &str = "sqlite://data/demo.db";

/// Arguments of `ingest-cli demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Tracks on the simulated site.
    #[arg(long, default_value_t = 1_090)]
    pub(crate) tracks: usize,
    /// Simulated latency per page, in milliseconds (plus up to half as much jitter).
    #[arg(long = "latency-ms", default_value_t = 20)]
    pub(crate) latency_ms: u64,
    /// Random changes applied to the site before a repeated run.
    #[arg(long = "mutations", default_value_t = 12)]
    pub(crate) mutations: usize,
    /// Database URL (default: the embedded `data/demo.db`).
    #[arg(long = "database-url")]
    pub(crate) database_url: Option<String>,
    /// Directory for the run reports.
    #[arg(long = "report-dir", default_value = "docs/reports")]
    pub(crate) report_dir: std::path::PathBuf,
    /// Dashboards in flight at once.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=ingest_app::config::CONCURRENCY_ARG_MAX))]
    pub(crate) concurrency: u16,
    /// Print the run summary as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(args: DemoArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let sim = Simulator::start(
        SimConfig {
            tracks: args.tracks,
            latency: Duration::from_millis(args.latency_ms),
            jitter: Duration::from_millis(args.latency_ms / 2),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let database = DatabaseConfig {
        database_url: Some(
            args.database_url
                .clone()
                .unwrap_or_else(|| DEMO_DATABASE_URL.to_owned()),
        ),
    };
    let liverc = LiveRcSettings {
        scrape_enabled: true,
        catalogue_url: sim.catalogue_url(),
        track_url_template: sim.track_url_template(),
        user_agent: None,
        min_request_spacing_ms: 0,
        request_timeout_secs: 10,
        max_retries: 3,
        max_body_mib: 5,
        respect_robots: true,
    };
    let sync = SyncSettings {
        metadata: ingest_core::MetadataMode::All,
        metadata_enabled: true,
        concurrency: args.concurrency,
        batch_size: 100,
        guard_max_share: 0.10,
        metadata_ttl_hours: 168,
        force: false,
        ..SyncSettings::default()
    };
    let reports = ReportSettings {
        report_dir: args.report_dir.clone(),
        retention_days: 90,
    };
    let app = build_sync_app(
        &database,
        &liverc,
        &sync,
        &reports,
        &GeocodeSettings::default(),
    )
    .await?;

    // A repeated demo mutates the site first, so the report has something to say.
    let stored = app.repository.count_tracks(SOURCE_LIVERC, false).await?;
    if stored > 0 && args.mutations > 0 {
        let seed = chrono::Utc::now().timestamp() as u64;
        let log = sim.site().mutate_random(seed, args.mutations);
        let note = format!(
            "demo: {stored} tracks already stored; mutated the simulated site first (seed {seed}): {} added, {} removed, {} renamed, {} field changes",
            log.added.len(),
            log.removed.len(),
            log.renamed.len(),
            log.changed.len()
        );
        say(out, args.json, &note)?;
    } else {
        let note = format!(
            "demo: first run: syncing {} simulated tracks from {} into {}",
            args.tracks,
            sim.base_url(),
            app.database_url
        );
        say(out, args.json, &note)?;
    }

    // Held like `sync`: a second demo on the same database exits 4.
    let claim = ForegroundClaim::new(&RunClaimSettings::default(), sync.metadata_enabled);
    let summary = match run_held(&app, &sync.options(Trigger::Cli), &claim).await? {
        Ok(summary) => summary,
        Err(code) => {
            sim.shutdown().await?;
            return Ok(code);
        }
    };
    print_summary(&summary, args.json, out)?;
    let stats = sim.stats();
    if !args.json {
        writeln!(
            out,
            "  simulator: {} requests, at most {} in flight",
            stats.total, stats.max_in_flight
        )?;
    }
    sim.shutdown().await?;
    Ok(exit_code(summary.status))
}

/// Demo narration: on stdout, or on stderr when stdout carries JSON.
fn say(out: &mut dyn Write, json: bool, line: &str) -> std::io::Result<()> {
    if json {
        let mut err = std::io::stderr().lock();
        writeln!(err, "{line}")
    } else {
        writeln!(out, "{line}")
    }
}
