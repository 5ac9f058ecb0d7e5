//! Which alerts a finished run raises ([`alerts_for`], pure) and how they are
//! sent without holding anyone up ([`spawn_notify`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest_core::{Alert, AlertKind, DriftDecision, Notifier, RunStatus, SyncSummary};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::payload::{format_duration, truncate};

/// The most characters of an error kept in an alert's one-line summary; the
/// whole text goes to the detail.
const SUMMARY_ERROR_CHARS: usize = 200;

/// The alerts a run with this summary raises, in the order to send them.
///
/// - status `failed` or `format_error` → [`AlertKind::JobFailed`];
/// - status `guard_refused` → [`AlertKind::GuardRefused`];
/// - status `drift_suspected` → [`AlertKind::DriftSuspected`], naming the
///   held fields (and any mass change);
/// - a mass change of a field in a run that otherwise ended well →
///   [`AlertKind::MassChange`];
/// - and, whatever the status, a run that took longer than `sla` →
///   [`AlertKind::SlaBreached`] as well. `None` or a zero `sla` checks no
///   SLA.
///
/// A cancelled run raises nothing: someone asked for it to stop. Nor does a
/// job attempt that lost its lease (`lease_lost`): another worker owns the
/// job now, and its run raises what it raises. `trigger`
/// is who started the run (`api`, `cron`, `cli`); `report_url` where its
/// report can be read; `now` the alerts' time.
pub fn alerts_for(
    summary: &SyncSummary,
    trigger: &str,
    source: &str,
    sla: Option<Duration>,
    report_url: Option<String>,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    if summary.status == RunStatus::Cancelled || summary.lease_lost {
        return Vec::new();
    }
    let alert = |kind: AlertKind, summary_line: String, detail: Option<String>| Alert {
        kind,
        run_id: summary.run_id,
        source: source.to_owned(),
        trigger: trigger.to_owned(),
        summary: summary_line,
        detail,
        duration_seconds: summary.duration_seconds,
        report_url: report_url.clone(),
        occurred_at: now,
    };
    let error = summary
        .error
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let mut alerts = Vec::new();

    match summary.status {
        RunStatus::Failed | RunStatus::FormatError => {
            let what = if summary.status == RunStatus::FormatError {
                "track sync failed: the site changed shape"
            } else {
                "track sync failed"
            };
            let line = match error {
                Some(e) => format!("{what}: {}", first_line(e)),
                None => format!("{what} (no error recorded)"),
            };
            let detail = join_detail(error, &run_figures(summary));
            alerts.push(alert(AlertKind::JobFailed, line, detail));
        }
        RunStatus::GuardRefused => {
            let line =
                format!("deactivation guard refused: missing tracks of {source} stay active");
            let mut figures = run_figures(summary);
            figures.push_str(
                "\nEvery update was stored; only the deactivation was skipped. \
                 Check the catalogue, then run the sync with --force to deactivate.",
            );
            alerts.push(alert(
                AlertKind::GuardRefused,
                line,
                join_detail(error, &figures),
            ));
        }
        RunStatus::DriftSuspected => {
            let held: Vec<&str> = summary
                .drift
                .iter()
                .filter(|f| f.decision == DriftDecision::Held)
                .map(|f| f.field.as_str())
                .collect();
            let line = format!(
                "markup drift suspected on {source}: {} kept as stored for every track",
                if held.is_empty() {
                    "fields".to_owned()
                } else {
                    held.join(", ")
                }
            );
            let mut figures = drift_figures(summary);
            figures.push_str(&format!(
                "\n\n{}\nEvery other field was stored. If the change is real, run the sync again \
                 accepting it (--accept-drift FIELD or all; acceptDrift in the API).",
                run_figures(summary)
            ));
            alerts.push(alert(
                AlertKind::DriftSuspected,
                line,
                join_detail(error, &figures),
            ));
        }
        RunStatus::Succeeded | RunStatus::Cancelled => {}
    }
    if matches!(
        summary.status,
        RunStatus::Succeeded | RunStatus::GuardRefused
    ) && summary.drift.iter().any(|f| f.mass_change)
    {
        let fields: Vec<&str> = summary
            .drift
            .iter()
            .filter(|f| f.mass_change)
            .map(|f| f.field.as_str())
            .collect();
        let line = format!(
            "mass change on {source}: {} changed for a large share of tracks (applied)",
            fields.join(", ")
        );
        alerts.push(alert(
            AlertKind::MassChange,
            line,
            Some(format!(
                "{}\n\n{}",
                drift_figures(summary),
                run_figures(summary)
            )),
        ));
    }

    if let Some(sla) = sla.filter(|s| !s.is_zero())
        && summary.duration_seconds > sla.as_secs_f64()
    {
        let line = format!(
            "track sync took {}, over its SLA of {}",
            format_duration(summary.duration_seconds),
            format_duration(sla.as_secs_f64())
        );
        let mut detail = format!("Status: {}.", summary.status.as_str());
        let mut stages = summary.stage_timings.clone();
        stages.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        if !stages.is_empty() {
            detail.push_str("\nSlowest stages:");
            for stage in stages.iter().take(3) {
                detail.push_str(&format!(
                    "\n- {}: {}",
                    stage.stage.as_str(),
                    format_duration(stage.seconds)
                ));
                if let Some(d) = &stage.detail {
                    detail.push_str(&format!(" ({d})"));
                }
            }
        }
        alerts.push(alert(AlertKind::SlaBreached, line, Some(detail)));
    }
    alerts
}

/// The drift guard's notable fields, a line each with a few samples.
fn drift_figures(summary: &SyncSummary) -> String {
    let mut out = Vec::new();
    for f in &summary.drift {
        let (what, n) = match f.decision {
            DriftDecision::Held => ("held: vanished from", f.lost),
            DriftDecision::Accepted => ("accepted: vanished from", f.lost),
            DriftDecision::Applied => ("mass change: changed on", f.changed),
        };
        let mut line = format!(
            "- {} {what} {n} of {} tracks that had it ({:.1}%)",
            f.field,
            f.had,
            if f.had == 0 {
                0.0
            } else {
                n as f64 * 100.0 / f.had as f64
            }
        );
        let samples: Vec<String> = f
            .samples
            .iter()
            .take(3)
            .map(|s| {
                format!(
                    "{} ({}): {} → {}",
                    s.name,
                    s.slug,
                    truncate(s.stored_value.as_deref().unwrap_or("—"), 60),
                    truncate(s.page_value.as_deref().unwrap_or("—"), 60)
                )
            })
            .collect();
        if !samples.is_empty() {
            line.push_str(&format!("; e.g. {}", samples.join("; ")));
        }
        out.push(line);
    }
    out.join("\n")
}

/// The run's figures, for an alert's detail.
fn run_figures(summary: &SyncSummary) -> String {
    format!(
        "Status: {}. Tracks in the catalogue: {}; added {}, updated {}, deactivated {}, \
         reactivated {}; dashboards failed {}; retries {}.",
        summary.status.as_str(),
        summary.tracks_total,
        summary.tracks_added,
        summary.tracks_updated,
        summary.tracks_deactivated,
        summary.tracks_reactivated,
        summary.metadata_failures,
        summary.retries,
    )
}

fn join_detail(error: Option<&str>, figures: &str) -> Option<String> {
    Some(match error {
        Some(e) => format!("{e}\n\n{figures}"),
        None => figures.to_owned(),
    })
}

/// The first non-blank line, cut for a one-line summary.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    truncate(line, SUMMARY_ERROR_CHARS)
}

/// Send `alerts` one after the other on a background task, logging (never
/// returning) what could not be delivered. The caller need not await the
/// handle; awaiting it only waits for the deliveries, which cannot fail.
///
/// # Panics
///
/// Like [`tokio::spawn`], when called outside a Tokio runtime.
pub fn spawn_notify(notifier: Arc<dyn Notifier>, alerts: Vec<Alert>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for alert in alerts {
            match notifier.notify(&alert).await {
                Ok(()) => info!(
                    kind = alert.kind.as_str(),
                    run_id = %alert.run_id,
                    "alert sent"
                ),
                Err(error) => warn!(
                    kind = alert.kind.as_str(),
                    run_id = %alert.run_id,
                    %error,
                    "alert not delivered"
                ),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ingest_core::{DriftSample, FieldDrift, Stage, StageTiming};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 3, 12, 0)
            .single()
            .expect("valid time")
    }

    fn summary(status: RunStatus, error: Option<&str>, seconds: f64) -> SyncSummary {
        SyncSummary {
            run_id: uuid_from(7),
            status,
            tracks_total: 1_090,
            tracks_added: 3,
            tracks_updated: 12,
            tracks_unchanged: 1_000,
            tracks_churn_only: 75,
            tracks_deactivated: 0,
            tracks_reactivated: 1,
            metadata_fetched: 1_080,
            metadata_not_modified: 0,
            metadata_skipped: 0,
            metadata_failures: 10,
            validation_anomalies: 2,
            retries: 14,
            duration_seconds: seconds,
            report_path: Some("docs/reports/x.md".to_owned()),
            report_file: Some("x.md".to_owned()),
            error: error.map(str::to_owned),
            stage_timings: vec![
                StageTiming {
                    stage: Stage::Catalogue,
                    seconds: 1.5,
                    detail: None,
                },
                StageTiming {
                    stage: Stage::Dashboards,
                    seconds: seconds - 10.0,
                    detail: Some("1080 pages".to_owned()),
                },
                StageTiming {
                    stage: Stage::Database,
                    seconds: 8.5,
                    detail: None,
                },
            ],
            lease_lost: false,
            tracks_pending_deactivation: 0,
            drift: Vec::new(),
        }
    }

    fn field(name: &str, decision: DriftDecision, mass_change: bool) -> FieldDrift {
        FieldDrift {
            field: name.to_owned(),
            had: 1_000,
            lost: if decision == DriftDecision::Applied {
                0
            } else {
                990
            },
            changed: if mass_change { 600 } else { 0 },
            decision,
            mass_change,
            samples: vec![DriftSample {
                slug: "acme".to_owned(),
                name: "Acme RC".to_owned(),
                stored_value: Some("12 Main St".to_owned()),
                page_value: None,
            }],
        }
    }

    #[test]
    fn held_drift_raises_one_alert_naming_the_fields_and_samples() {
        let mut s = summary(
            RunStatus::DriftSuspected,
            Some("markup drift suspected: street, phone"),
            60.0,
        );
        s.drift = vec![
            field("street", DriftDecision::Held, false),
            field("phone", DriftDecision::Held, false),
            field("city", DriftDecision::Applied, true),
        ];
        let alerts = alerts_for(&s, "cron", "liverc", HOUR, None, now());
        assert_eq!(kinds(&alerts), [AlertKind::DriftSuspected]);
        assert_eq!(
            alerts[0].summary,
            "markup drift suspected on liverc: street, phone kept as stored for every track"
        );
        let detail = alerts[0].detail.as_deref().expect("detail");
        assert!(
            detail.contains("- street held: vanished from 990 of 1000 tracks that had it (99.0%)"),
            "{detail}"
        );
        assert!(
            detail.contains("Acme RC (acme): 12 Main St → —"),
            "{detail}"
        );
        assert!(
            detail.contains("- city mass change: changed on 600"),
            "{detail}"
        );
        assert!(detail.contains("--accept-drift"), "{detail}");
    }

    #[test]
    fn a_mass_change_in_a_good_run_raises_its_own_alert() {
        let mut s = summary(RunStatus::Succeeded, None, 60.0);
        s.drift = vec![field("city", DriftDecision::Applied, true)];
        let alerts = alerts_for(&s, "cron", "liverc", HOUR, None, now());
        assert_eq!(kinds(&alerts), [AlertKind::MassChange]);
        assert!(
            alerts[0].summary.contains("city changed"),
            "{}",
            alerts[0].summary
        );
        // Accepted losses alone raise nothing: the operator asked for them.
        s.drift = vec![field("street", DriftDecision::Accepted, false)];
        assert!(alerts_for(&s, "cron", "liverc", HOUR, None, now()).is_empty());
    }

    fn uuid_from(n: u128) -> ingest_core::RunId {
        ingest_core::RunId::from_u128(n)
    }

    fn kinds(alerts: &[Alert]) -> Vec<AlertKind> {
        alerts.iter().map(|a| a.kind).collect()
    }

    const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

    #[test]
    fn a_successful_run_within_its_sla_raises_nothing() {
        let s = summary(RunStatus::Succeeded, None, 600.0);
        assert!(alerts_for(&s, "cron", "liverc", HOUR, None, now()).is_empty());
        assert!(alerts_for(&s, "cron", "liverc", None, None, now()).is_empty());
    }

    #[test]
    fn a_failure_raises_job_failed_with_the_error() {
        let s = summary(
            RunStatus::Failed,
            Some("catalogue: HTTP 503\ncaused by: upstream"),
            42.0,
        );
        let alerts = alerts_for(
            &s,
            "api",
            "liverc",
            HOUR,
            Some("http://reports/x".to_owned()),
            now(),
        );
        assert_eq!(kinds(&alerts), [AlertKind::JobFailed]);
        let a = &alerts[0];
        assert_eq!(a.summary, "track sync failed: catalogue: HTTP 503");
        let detail = a.detail.as_deref().expect("detail");
        assert!(
            detail.starts_with("catalogue: HTTP 503\ncaused by: upstream"),
            "{detail}"
        );
        assert!(detail.contains("dashboards failed 10"), "{detail}");
        assert_eq!(a.run_id, s.run_id);
        assert_eq!(a.trigger, "api");
        assert_eq!(a.source, "liverc");
        assert_eq!(a.duration_seconds, 42.0);
        assert_eq!(a.report_url.as_deref(), Some("http://reports/x"));
        assert_eq!(a.occurred_at, now());
    }

    #[test]
    fn a_format_error_is_a_failure_that_says_so() {
        let s = summary(
            RunStatus::FormatError,
            Some("catalogue: no track table"),
            2.0,
        );
        let alerts = alerts_for(&s, "cron", "liverc", None, None, now());
        assert_eq!(kinds(&alerts), [AlertKind::JobFailed]);
        assert!(
            alerts[0].summary.contains("changed shape"),
            "{}",
            alerts[0].summary
        );
        assert!(alerts[0].summary.contains("no track table"));
    }

    #[test]
    fn a_failure_without_an_error_text_still_alerts() {
        let s = summary(RunStatus::Failed, Some("   "), 2.0);
        let alerts = alerts_for(&s, "cli", "liverc", None, None, now());
        assert_eq!(alerts[0].summary, "track sync failed (no error recorded)");
        assert!(
            alerts[0]
                .detail
                .as_deref()
                .expect("detail")
                .starts_with("Status: failed.")
        );
    }

    #[test]
    fn a_long_error_is_cut_in_the_summary_and_kept_in_the_detail() {
        let long = "x".repeat(1_000);
        let s = summary(RunStatus::Failed, Some(&long), 2.0);
        let alerts = alerts_for(&s, "cli", "liverc", None, None, now());
        assert!(alerts[0].summary.chars().count() < 250);
        assert!(alerts[0].detail.as_deref().expect("detail").contains(&long));
    }

    #[test]
    fn a_guard_refusal_raises_guard_refused_with_the_reason() {
        let reason = "would deactivate 300 of 1090 active tracks (27.5%), above the limit of 10%";
        let s = summary(RunStatus::GuardRefused, Some(reason), 300.0);
        let alerts = alerts_for(&s, "cron", "liverc", HOUR, None, now());
        assert_eq!(kinds(&alerts), [AlertKind::GuardRefused]);
        let detail = alerts[0].detail.as_deref().expect("detail");
        assert!(detail.starts_with(reason), "{detail}");
        assert!(detail.contains("--force"), "{detail}");
        assert!(alerts[0].summary.contains("guard refused"));
    }

    #[test]
    fn an_sla_breach_is_raised_in_addition() {
        let s = summary(RunStatus::Succeeded, None, 3_700.0);
        let alerts = alerts_for(&s, "cron", "liverc", HOUR, None, now());
        assert_eq!(kinds(&alerts), [AlertKind::SlaBreached]);
        let a = &alerts[0];
        assert_eq!(
            a.summary,
            "track sync took 1 h 01 min 40 s, over its SLA of 1 h 00 min 00 s"
        );
        let detail = a.detail.as_deref().expect("detail");
        // The slowest stage first.
        assert!(
            detail.starts_with("Status: succeeded.\nSlowest stages:\n- dashboards: 1 h 01 min 30 s (1080 pages)\n- database: 8.5 s"),
            "{detail}"
        );

        let failed = summary(RunStatus::Failed, Some("database down"), 3_700.0);
        let alerts = alerts_for(&failed, "cron", "liverc", HOUR, None, now());
        assert_eq!(
            kinds(&alerts),
            [AlertKind::JobFailed, AlertKind::SlaBreached]
        );

        let refused = summary(RunStatus::GuardRefused, Some("too many"), 3_700.0);
        let alerts = alerts_for(&refused, "cron", "liverc", HOUR, None, now());
        assert_eq!(
            kinds(&alerts),
            [AlertKind::GuardRefused, AlertKind::SlaBreached]
        );
    }

    #[test]
    fn the_sla_is_strictly_exceeded_and_zero_means_none() {
        let s = summary(RunStatus::Succeeded, None, 3_600.0);
        assert!(alerts_for(&s, "cron", "liverc", HOUR, None, now()).is_empty());
        let s = summary(RunStatus::Succeeded, None, 3_600.001);
        assert_eq!(alerts_for(&s, "cron", "liverc", HOUR, None, now()).len(), 1);
        assert!(alerts_for(&s, "cron", "liverc", Some(Duration::ZERO), None, now()).is_empty());
    }

    #[test]
    fn an_attempt_that_lost_its_lease_raises_nothing() {
        let mut s = summary(
            RunStatus::Failed,
            Some("storing tracks: lease lost"),
            9_999.0,
        );
        s.lease_lost = true;
        assert!(alerts_for(&s, "api", "liverc", HOUR, None, now()).is_empty());
        s.lease_lost = false;
        assert_eq!(alerts_for(&s, "api", "liverc", HOUR, None, now()).len(), 2);
    }

    #[test]
    fn a_cancelled_run_raises_nothing_even_over_its_sla() {
        let s = summary(RunStatus::Cancelled, Some("cancelled on request"), 9_999.0);
        assert!(alerts_for(&s, "api", "liverc", HOUR, None, now()).is_empty());
    }
}
