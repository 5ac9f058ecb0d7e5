//! `ingest-cli sync`: one synchronous sync run with a progress bar (or
//! periodic log lines when stderr is not a terminal).

use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ingest_app::config::{
    AlertSettings, DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, SyncSettings,
};
use ingest_app::progress::{LogProgress, TerminalProgress};
use ingest_app::wiring::{SyncApp, build_alert_hook, build_sync_app};
use ingest_core::{ProgressSink, RunStatus, SyncOptions, SyncSummary, Trigger};

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
    /// Public base URL of the API, for report links in alerts.
    #[arg(long = "public-url", env = "MRE_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Print the run summary as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Exit code of a run: 0 ok, 1 format error (the site changed), 2 any other
/// failure, 3 refused by the deactivation guard, 5 markup drift suspected
/// (fields held).
pub(crate) fn exit_code(status: RunStatus) -> ExitCode {
    ExitCode::from(match status {
        RunStatus::Succeeded => 0,
        RunStatus::FormatError => 1,
        RunStatus::Failed | RunStatus::Cancelled => 2,
        RunStatus::GuardRefused => 3,
        RunStatus::DriftSuspected => 5,
    })
}

pub(crate) async fn run(args: SyncArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
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
    let summary = run_with_progress(&app, &options).await;
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

/// Run a sync with the progress display that suits stderr.
pub(crate) async fn run_with_progress(app: &SyncApp, options: &SyncOptions) -> SyncSummary {
    let progress: Box<dyn ProgressSink> = if std::io::stderr().is_terminal() {
        Box::new(TerminalProgress::new())
    } else {
        Box::new(LogProgress::new(Duration::from_secs(5)))
    };
    app.service
        .run_sync(options, app.report_writer.as_ref(), progress.as_ref())
        .await
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
