//! Closing a run, on every path (failures, cancellation and a lost lease
//! included): the counters, completeness, the report written, the metrics,
//! and the summary the caller gets.
//!
//! Architecture invariant: runs once per run, whatever stopped it. The
//! report and the metrics are built from the same `RunReport`; a run whose
//! lease passed to another worker writes no report.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::domain::report::{Completeness, SyncSummary, add_tallies};
use crate::domain::run::Stage;
use crate::ports::report::{ReportError, ReportWriter};
use crate::service::lists::{by_name_then_slug, by_slug, by_slug_then_field, first_entries};
use crate::service::run::{Adapters, Run, timing};

/// The previous successful run's completeness, for the report's comparison.
pub(super) async fn previous_completeness(
    report_writer: &dyn ReportWriter,
    source: &str,
) -> Option<Completeness> {
    match report_writer.previous_completeness(source).await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "previous completeness unavailable");
            None
        }
    }
}

/// Close the run: counters, completeness, report, metrics, summary. Without
/// a writer (the lease was lost) the report is not written.
pub(super) async fn close(
    adapters: &Adapters,
    run: Run<'_>,
    report_writer: Option<&dyn ReportWriter>,
) -> SyncSummary {
    let Run {
        mut report,
        mut acc,
        mut timings,
        progress,
        ..
    } = run;
    let stats = adapters.source.stats().since(&acc.stats_before);
    acc.counts.retries = acc.carried_retries + stats.retries + acc.service_retries;
    acc.counts.responses_429 = acc.carried_429 + stats.responses_429;
    acc.counts.responses = add_tallies(&acc.carried_responses, &stats.responses);
    acc.counts.retry_after_wait_seconds =
        acc.carried_wait_seconds + stats.retry_after_wait.as_secs_f64();
    if acc.fetch_requests > 0 {
        let mean = acc.fetch_latency_total.as_secs_f64() / acc.fetch_requests as f64;
        report.politeness_bound_seconds =
            Some(acc.fetch_requests as f64 * mean / report.options.concurrency.max(1) as f64);
    }
    report.completeness = match adapters.repository.completeness(&report.source).await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "completeness unavailable");
            Completeness::default()
        }
    };
    // A run that stopped before its drift decision still reports what the
    // guard saw.
    if report.drift.is_none() {
        report.drift = acc
            .drift
            .decide(
                report.options.drift_max_loss_share,
                report.options.drift_min_tracks,
                &report.options.accept_drift,
            )
            .0;
    }
    let t = Instant::now();
    report.finished_at = adapters.clock.now();
    report.counts = acc.counts.clone();
    // Lists in a stable order (dashboards arrive in completion order), each
    // the first MAX_REPORT_ENTRIES of that order, so the same site gives the
    // same report whichever path ran it.
    report.new_tracks = first_entries(std::mem::take(&mut acc.new_tracks), by_name_then_slug);
    report.updated_tracks =
        first_entries(std::mem::take(&mut acc.updated_tracks), by_name_then_slug);
    report.reactivated = first_entries(std::mem::take(&mut acc.reactivated), by_name_then_slug);
    report.metadata_errors = first_entries(std::mem::take(&mut acc.metadata_errors), by_slug);
    report.anomalies = first_entries(std::mem::take(&mut acc.anomalies), by_slug_then_field);
    timings.push(timing(Stage::Report, Duration::ZERO, None));
    report.stage_timings = timings;
    let total = report.counts.catalogue_rows;
    progress.sample(Stage::Report, &acc, total, None);
    let location = match report_writer {
        Some(w) => w.write(&report).await,
        None => Err(ReportError::Io(
            "not written: the job's lease passed to another worker".to_owned(),
        )),
    };
    if let Some(last) = report.stage_timings.last_mut() {
        last.seconds = t.elapsed().as_secs_f64();
    }
    let (path, file) = match location {
        Ok(loc) => (loc.path, Some(loc.file_name)),
        Err(e) => {
            warn!(error = %e, "report could not be written");
            if report.error.is_none() {
                report.error = Some(format!("report: {e}"));
            }
            (None, None)
        }
    };
    adapters.metrics.run_finished(&report);
    progress.sample(Stage::Done, &acc, total, None);
    info!(
        status = report.status.as_str(),
        new = report.counts.new,
        updated = report.counts.updated,
        deactivated = report.counts.deactivated,
        failures = report.counts.dashboards_failed,
        duration_ms = u64::try_from(report.duration().as_millis()).unwrap_or(u64::MAX),
        "sync finished"
    );
    let mut summary = SyncSummary::from_report(&report, path, file);
    summary.lease_lost = report_writer.is_none();
    summary
}
