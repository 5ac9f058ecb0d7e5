//! `ingest-cli sync`: one synchronous sync run with a progress bar (or
//! periodic log lines when stderr is not a terminal).
//!
//! The run is a job of its own (trigger `cli`), held under a lease like a
//! worker's (`ingest_app::foreground`): while any other run of the source
//! is queued or running, from any entry point, it does not start and exits
//! 4 naming that run. SIGINT/SIGTERM stop it within about a second, what
//! was fetched stored and the job recorded cancelled (exit 7); a second
//! signal quits at once.
//!
//! `--dry-run` runs the whole pipeline against a store that rolls back
//! every write, and writes only the report file (`…-dry-run.md`): no job,
//! no lease, no archived report, no track touched.

use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ingest_app::config::{
    AlertSettings, DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings,
    RunClaimSettings, SyncSettings,
};
use ingest_app::foreground::{Foreground, ForegroundClaim, describe_active, run_in_foreground};
use ingest_app::progress::{LogProgress, TerminalProgress};
use ingest_app::wiring::{SyncApp, build_alert_hook, build_sync_app};
use ingest_app::worker::JobRunResult;
use ingest_core::{ProgressSink, RunStatus, SyncOptions, SyncSummary, Trigger};
use tokio_util::sync::CancellationToken;

/// Arguments of `ingest-cli sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[command(flatten)]
    pub(crate) sync: SyncSettings,
    #[command(flatten)]
    pub(crate) database: DatabaseConfig,
    #[command(flatten)]
    pub(crate) reports: ReportSettings,
    #[command(flatten)]
    pub(crate) liverc: LiveRcSettings,
    #[command(flatten)]
    pub(crate) geocode: GeocodeSettings,
    #[command(flatten)]
    pub(crate) alerts: AlertSettings,
    #[command(flatten)]
    pub(crate) claim: RunClaimSettings,
    /// Public base URL of the API, for report links in alerts.
    #[arg(long = "public-url", env = "MRE_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Print the run summary as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run the whole pipeline and write the report of what would change
    /// (additions, field changes, deactivations, the guards' decisions),
    /// storing nothing: every database write is rolled back. The database
    /// must exist and be migrated.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// Exit code of a run: the one table of [`ingest_app::exit`].
pub(crate) fn exit_code(status: RunStatus) -> ExitCode {
    ExitCode::from(ingest_app::exit::for_status(status))
}

/// Exit code of a run that did not start because another holds the source.
pub(crate) const SKIPPED: u8 = ingest_app::exit::SKIPPED;

pub(crate) async fn run(args: SyncArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // The kill switch stops a run before it exists: no job, no report, no
    // "failed" run for an alert to page about (the API answers 503 alike).
    if !args.liverc.scrape_enabled {
        eprintln!(
            "ingest-cli: the kill switch is on (MRE_SCRAPE_ENABLED=false): no sync started, \
             nothing recorded"
        );
        return Ok(ExitCode::from(SKIPPED));
    }
    if args.dry_run {
        return dry_run(args, out).await;
    }
    let app = build_sync_app(
        &args.database,
        &args.liverc,
        &args.sync,
        &args.reports,
        &args.geocode,
    )
    .await?;
    // Before the run: a bad alert setting stops it before any work.
    let alert_hook = build_alert_hook(&args.alerts, args.public_url.clone())?;
    let options = args.sync.options(Trigger::Cli);
    let claim = ForegroundClaim::new(&args.claim, args.sync.metadata_enabled);
    let summary = match run_held(&app, &options, &claim).await? {
        Ok(summary) => summary,
        Err(code) => return Ok(code),
    };
    print_summary(&summary, args.json, out)?;
    if let Some(hook) = alert_hook {
        // The same alerts a worker raises for the run. Delivery is awaited
        // (the process ends next), bounded by the webhook's timeout and
        // retries; a failure is logged and changes no exit code.
        let alerts = hook.alerts_for(&summary, Trigger::Cli.as_str(), &options.source);
        if !alerts.is_empty()
            && let Err(e) = hook.send(alerts).await
        {
            tracing::warn!(error = %e, "sending alerts stopped");
        }
    }
    Ok(exit_code(summary.status))
}

/// `--dry-run`: the service over a store that writes nothing, run directly
/// (no job: a dry run holds no lease and blocks no other run). Alerts are
/// not sent: nothing happened.
async fn dry_run(args: SyncArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let url = args.database.url();
    let store = ingest_store::open_dry_run(&url).await.with_context(|| {
        format!(
            "opening the database for a dry run ({})",
            ingest_app::config::redact(&url)
        )
    })?;
    let app = ingest_app::wiring::build_sync_app_on(
        store,
        url,
        ingest_app::wiring::sync_metrics("ingest-cli", None),
        &args.liverc,
        &args.sync,
        &args.reports,
        &args.geocode,
    )?;
    let mut options = args.sync.options(Trigger::Cli);
    options.dry_run = true;
    let summary = app
        .service
        .run_sync(
            &options,
            app.report_writer.as_ref(),
            progress_display().as_ref(),
        )
        .await;
    print_summary(&summary, args.json, out)?;
    if !args.json {
        writeln!(out, "  dry run: nothing was stored")?;
    }
    Ok(exit_code(summary.status))
}

/// A bar on a terminal, periodic log lines otherwise.
fn progress_display() -> Arc<dyn ProgressSink> {
    if std::io::stderr().is_terminal() {
        Arc::new(TerminalProgress::new(!ingest_app::runtime::no_color(
            std::env::var_os("NO_COLOR"),
        )))
    } else {
        Arc::new(LogProgress::new(Duration::from_secs(5)))
    }
}

/// Run a sync as a job held by this process, with the progress display that
/// suits stderr. `Err(code)`: the run did not start (another holds the
/// source: the message is printed, the code is [`SKIPPED`]).
pub(crate) async fn run_held(
    app: &SyncApp,
    options: &SyncOptions,
    claim: &ForegroundClaim,
) -> anyhow::Result<Result<SyncSummary, ExitCode>> {
    let progress = progress_display();
    let ran = run_in_foreground(app, options, claim, progress, stop_on_signal())
        .await
        .context("starting the run")?;
    let (claimed, attempt) = match ran {
        Foreground::Busy(active) => {
            eprintln!(
                "ingest-cli: not started: source {} already has a sync in progress: {}",
                options.source,
                describe_active(&active)
            );
            return Ok(Err(ExitCode::from(SKIPPED)));
        }
        Foreground::Ran { claimed, attempt } => (claimed, attempt),
    };
    match (attempt.result, attempt.summary) {
        (JobRunResult::Recorded { .. }, Some(summary)) => Ok(Ok(summary)),
        (JobRunResult::Recorded { job, .. }, None) => anyhow::bail!(
            "run {} did not start: {}",
            job.id,
            job.error.as_deref().unwrap_or("unknown error")
        ),
        (JobRunResult::LeaseLost, _) => anyhow::bail!(
            "run {}: its lease passed to another process (this one could not renew it in \
             time), which carries the run on; this process stopped and recorded nothing more",
            claimed.id
        ),
    }
}

/// Cancelled at the first SIGINT/SIGTERM (the run stores the batch in hand
/// and is recorded cancelled); a second one quits at once.
fn stop_on_signal() -> CancellationToken {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        ingest_app::runtime::wait_for_signal().await;
        eprintln!(
            "ingest-cli: stopping after the batch in hand; the run is recorded cancelled \
             (signal again to quit at once)"
        );
        cancel.cancel();
        ingest_app::runtime::wait_for_signal().await;
        std::process::exit(130);
    });
    stop
}

/// The summary as JSON (`--json`) or as a few human lines.
pub(crate) fn print_summary(
    summary: &SyncSummary,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, summary)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "sync {}: {} in {:.1} s",
        summary.run_id.simple(),
        summary.status.as_str(),
        summary.duration_seconds
    )?;
    writeln!(
        out,
        "  tracks: {} in catalogue, {} new, {} updated, {} unchanged, {} churn only, {} deactivated, {} reactivated",
        summary.tracks_total,
        summary.tracks_added,
        summary.tracks_updated,
        summary.tracks_unchanged,
        summary.tracks_churn_only,
        summary.tracks_deactivated,
        summary.tracks_reactivated
    )?;
    if summary.tracks_pending_deactivation > 0 {
        writeln!(
            out,
            "  missing from the catalogue, pending deactivation: {}",
            summary.tracks_pending_deactivation
        )?;
    }
    for f in &summary.drift {
        let what = match f.decision {
            ingest_core::DriftDecision::Held => format!(
                "HELD, kept as stored: vanished from {} of {} tracks that had it",
                f.lost, f.had
            ),
            ingest_core::DriftDecision::Accepted => format!(
                "accepted and cleared: vanished from {} of {} tracks",
                f.lost, f.had
            ),
            ingest_core::DriftDecision::Applied => format!(
                "mass change, applied: changed on {} of {} tracks",
                f.changed, f.had
            ),
        };
        writeln!(out, "  drift: {} {what}", f.field)?;
    }
    writeln!(
        out,
        "  dashboards: {} fetched, {} not modified, {} skipped, {} failed; {} retries; {} validation anomalies",
        summary.metadata_fetched,
        summary.metadata_not_modified,
        summary.metadata_skipped,
        summary.metadata_failures,
        summary.retries,
        summary.validation_anomalies
    )?;
    if let Some(error) = &summary.error {
        writeln!(out, "  error: {error}")?;
    }
    match &summary.report_path {
        Some(path) => writeln!(out, "  report: {path}")?,
        None => writeln!(out, "  report: not written")?,
    }
    Ok(())
}
