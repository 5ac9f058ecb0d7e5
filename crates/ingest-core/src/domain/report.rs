//! What a run did: its counters, the entries of its report's lists, the
//! `RunReport` and the `SyncSummary` a caller gets back. The Markdown
//! rendering lives in `ingest-report`; the metrics exposition in
//! `ingest-metrics`. Both read these same records, so the report and the
//! metrics can never disagree.
//!
//! Architecture invariant: domain; imports only the domain below it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::drift::{DriftDecision, DriftReport, FieldDrift};
use crate::domain::run::{RunStatus, Stage, SyncOptions, Trigger};
use crate::domain::track::RunId;

/// Counts by label (an HTTP status class): label → count. Labels come from
/// the source adapter, which keeps the set small.
pub type ResponseTally = std::collections::BTreeMap<String, u64>;

/// `a + b`, label by label.
pub fn add_tallies(a: &ResponseTally, b: &ResponseTally) -> ResponseTally {
    let mut out = a.clone();
    for (label, n) in b {
        *out.entry(label.clone()).or_default() += n;
    }
    out
}

/// The counters of a run: the report's summary table and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunCounts {
    /// Tracks in the catalogue (parsed rows).
    pub catalogue_rows: u64,
    /// Catalogue rows skipped by the parser.
    pub skipped_rows: u64,
    pub new: u64,
    /// Profile fields changed.
    pub updated: u64,
    /// Neither profile nor churn changed.
    pub unchanged: u64,
    /// Only churn fields changed.
    pub churn_only: u64,
    pub deactivated: u64,
    /// Missing from this complete catalogue but not yet for long enough to
    /// be deactivated (the grace period).
    pub pending_deactivation: u64,
    pub reactivated: u64,
    pub dashboards_fetched: u64,
    pub dashboards_not_modified: u64,
    /// Not requested (mode `none`, or `changed` with unchanged activity).
    pub dashboards_skipped: u64,
    pub dashboards_failed: u64,
    /// Re-sent requests (client retries plus the service's extra tries).
    pub retries: u64,
    pub responses_429: u64,
    /// Answers from the source by HTTP status class, as the source labels
    /// them (`2xx`, `304`, `404`, `429`, `5xx`, …; a bounded set): what
    /// `liverc_responses_total{status}` exports. Summed over attempts.
    pub responses: ResponseTally,
    pub retry_after_wait_seconds: f64,
    pub validation_anomalies: u64,
    pub geocoded: u64,
    pub geocode_failures: u64,
    pub db_batches: u64,
    /// Rows the upserts actually wrote (inserted + updated).
    pub db_rows_written: u64,
}

/// Time spent in one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    pub stage: Stage,
    pub seconds: f64,
    /// e.g. "11 batches, p95 38 ms".
    pub detail: Option<String>,
}

/// A track added by the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTrackEntry {
    pub slug: String,
    pub name: String,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country_code: Option<String>,
    pub track_url: String,
}

/// One changed profile field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedField {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A track whose profile changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatedTrackEntry {
    pub slug: String,
    pub name: String,
    pub changes: Vec<ChangedField>,
}

/// A track that was inactive and is listed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactivatedTrackEntry {
    pub slug: String,
    pub name: String,
    pub inactive_since: Option<DateTime<Utc>>,
}

/// A dashboard that could not be fetched or parsed; the track keeps its
/// stored fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataErrorEntry {
    pub slug: String,
    /// `transient`, `gone`, `format`, …
    pub class: String,
    pub message: String,
    pub attempts: u32,
}

/// A value that broke a validation rule and was not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationAnomaly {
    pub slug: String,
    pub field: String,
    pub value: String,
    pub rule: String,
}

/// A catalogue row the parser skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRowEntry {
    pub row_index: u64,
    pub reason: String,
    pub href: Option<String>,
}

/// A track the run deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivatedTrack {
    pub slug: String,
    pub name: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A track missing from the catalogue, not yet deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeactivation {
    pub slug: String,
    pub name: String,
    /// Consecutive complete catalogues it has been missing from.
    pub missing_runs: u32,
    pub last_seen_at: DateTime<Utc>,
}

/// How many active tracks carry each field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    pub active_tracks: u64,
    pub with_address: u64,
    pub with_phone: u64,
    pub with_email: u64,
    pub with_website: u64,
    pub with_coordinates: u64,
}

impl Completeness {
    /// Percentage (0–100) of active tracks with a field; 0 when there are none.
    pub fn share(&self, count: u64) -> f64 {
        if self.active_tracks == 0 {
            0.0
        } else {
            count as f64 * 100.0 / self.active_tracks as f64
        }
    }
}

/// What the deactivation guard decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardDecision {
    pub active_before: u64,
    /// Active tracks missing from the catalogue.
    pub missing: u64,
    /// `missing / active_before`.
    pub share: f64,
    pub max_share: f64,
    pub forced: bool,
    /// Whether the deactivation went ahead.
    pub allowed: bool,
    /// Why it did not, in words.
    pub reason: Option<String>,
}

/// Entries a run keeps per report list (new, updated, errors, …); the counts
/// in [`RunCounts`] stay exact. Bounds a run's memory and its archived report
/// on a first sync of a very large catalogue.
pub const MAX_REPORT_ENTRIES: usize = 1_000;

/// Everything the run report shows. Rendered by `ingest-report`. Each list
/// holds at most [`MAX_REPORT_ENTRIES`] entries, the first in the list's
/// order (tracks by name then slug, errors and anomalies by slug; skipped
/// catalogue rows in page order), whatever order the dashboards completed
/// in; the counts are complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: RunId,
    pub source: String,
    pub trigger: Trigger,
    /// Attempt number of the job (1 for a CLI run).
    pub attempt: u32,
    pub status: RunStatus,
    /// The failure, when `status` is not a success.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub options: SyncOptions,
    /// `dashboards requested × mean latency ÷ concurrency`, when measurable.
    pub politeness_bound_seconds: Option<f64>,
    pub counts: RunCounts,
    pub stage_timings: Vec<StageTiming>,
    pub new_tracks: Vec<NewTrackEntry>,
    pub updated_tracks: Vec<UpdatedTrackEntry>,
    pub deactivated: Vec<DeactivatedTrack>,
    pub reactivated: Vec<ReactivatedTrackEntry>,
    pub metadata_errors: Vec<MetadataErrorEntry>,
    pub anomalies: Vec<ValidationAnomaly>,
    pub skipped_rows: Vec<SkippedRowEntry>,
    pub guard: Option<GuardDecision>,
    /// Tracks missing from the catalogue, pending deactivation.
    #[serde(default)]
    pub pending_deactivation: Vec<PendingDeactivation>,
    /// What the markup-drift guard saw and decided (`None`: no dashboard
    /// of a stored track was fetched).
    #[serde(default)]
    pub drift: Option<DriftReport>,
    pub completeness: Completeness,
    pub previous_completeness: Option<Completeness>,
}

impl RunReport {
    pub fn duration(&self) -> Duration {
        (self.finished_at - self.started_at)
            .to_std()
            .unwrap_or_default()
    }
}

/// What a run returns to its caller (printed by the CLI with `--json`,
/// stored on the job by the worker). camelCase like the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    pub run_id: RunId,
    pub status: RunStatus,
    pub tracks_total: u64,
    pub tracks_added: u64,
    pub tracks_updated: u64,
    pub tracks_unchanged: u64,
    pub tracks_churn_only: u64,
    pub tracks_deactivated: u64,
    pub tracks_reactivated: u64,
    pub metadata_fetched: u64,
    pub metadata_not_modified: u64,
    pub metadata_skipped: u64,
    pub metadata_failures: u64,
    pub validation_anomalies: u64,
    pub retries: u64,
    pub duration_seconds: f64,
    pub report_path: Option<String>,
    pub report_file: Option<String>,
    pub error: Option<String>,
    pub stage_timings: Vec<StageTiming>,
    /// The run was a job whose lease another worker took over: it stopped
    /// and wrote neither its report nor its outcome.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lease_lost: bool,
    /// Tracks missing from the catalogue, not yet deactivated.
    #[serde(default)]
    pub tracks_pending_deactivation: u64,
    /// The drift guard's notable fields: held, accepted or mass-changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<FieldDrift>,
}

impl SyncSummary {
    /// The summary of a finished run's report, with where the report was
    /// written.
    pub(crate) fn from_report(
        report: &RunReport,
        path: Option<String>,
        file: Option<String>,
    ) -> Self {
        let c = &report.counts;
        Self {
            run_id: report.run_id,
            status: report.status,
            tracks_total: c.catalogue_rows,
            tracks_added: c.new,
            tracks_updated: c.updated,
            tracks_unchanged: c.unchanged,
            tracks_churn_only: c.churn_only,
            tracks_deactivated: c.deactivated,
            tracks_reactivated: c.reactivated,
            metadata_fetched: c.dashboards_fetched,
            metadata_not_modified: c.dashboards_not_modified,
            metadata_skipped: c.dashboards_skipped,
            metadata_failures: c.dashboards_failed,
            validation_anomalies: c.validation_anomalies,
            retries: c.retries,
            duration_seconds: report.duration().as_secs_f64(),
            report_path: path,
            report_file: file,
            error: report.error.clone(),
            stage_timings: report.stage_timings.clone(),
            lease_lost: false,
            tracks_pending_deactivation: c.pending_deactivation,
            drift: report
                .drift
                .iter()
                .flat_map(|d| &d.fields)
                .filter(|f| f.decision != DriftDecision::Applied || f.mass_change)
                .cloned()
                .collect(),
        }
    }
}
