//! What a run was asked to do and what it did: options, counters, and the
//! run report's data. The Markdown rendering lives in `ingest-report`; the
//! metrics exposition in `ingest-metrics`. Both read these same records, so
//! the report and the metrics can never disagree.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{DeactivatedTrack, RunId};

/// Which dashboards a run fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataMode {
    /// Every dashboard, unconditionally.
    All,
    /// New tracks, tracks whose catalogue activity moved since their last
    /// dashboard fetch, and those older than the TTL — with conditional
    /// requests, so an unchanged page costs a 304.
    Changed,
    /// No dashboards: catalogue fields only.
    None,
}

impl MetadataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataMode::All => "all",
            MetadataMode::Changed => "changed",
            MetadataMode::None => "none",
        }
    }
}

impl std::str::FromStr for MetadataMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(MetadataMode::All),
            "changed" => Ok(MetadataMode::Changed),
            "none" => Ok(MetadataMode::None),
            other => Err(format!(
                "unknown metadata mode {other:?} (expected all, changed or none)"
            )),
        }
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Cli,
    Api,
    Cron,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Api => "api",
            Trigger::Cron => "cron",
        }
    }
}

/// Options of one run. Fields missing from stored JSON (a job queued by an
/// older version) take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncOptions {
    pub source: String,
    pub trigger: Trigger,
    pub metadata: MetadataMode,
    /// Dashboards fetched at once (the connector's own cap still applies).
    pub concurrency: usize,
    /// Tracks per database batch.
    pub batch_size: usize,
    /// Refuse to deactivate more than this share of active tracks (0.0–1.0).
    pub guard_max_deactivate_share: f64,
    /// Deactivate even when the guard would refuse, and at once (no grace
    /// period): the operator checked that the catalogue really shrank.
    pub force: bool,
    /// In `changed` mode, dashboards older than this are fetched again.
    pub metadata_ttl: Duration,
    /// Extra tries the service gives a dashboard after the client's own retries.
    pub dashboard_extra_tries: u32,
    /// Pause between the service's extra tries.
    pub dashboard_retry_delay: Duration,
    /// The markup-drift guard: a profile field that vanishes from more than
    /// this share (0.0–1.0) of the fetched tracks that had it is held (kept
    /// as stored) for every track this run, and the run ends
    /// `drift_suspected`. See [`crate::drift`].
    pub drift_max_loss_share: f64,
    /// …provided at least this many tracks lost it: a small run is not held
    /// by one track.
    pub drift_min_tracks: u64,
    /// Fields whose loss the operator accepts this run (`all` for every
    /// field): applied even above the share.
    pub accept_drift: Vec<String>,
    /// A track missing from a complete catalogue is deactivated only once it
    /// has been missing from this many consecutive complete catalogues
    /// (1 = at once).
    pub deactivate_after_missing_runs: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            source: crate::model::SOURCE_LIVERC.to_owned(),
            trigger: Trigger::Cli,
            metadata: MetadataMode::All,
            concurrency: 6,
            batch_size: 100,
            guard_max_deactivate_share: 0.10,
            force: false,
            metadata_ttl: Duration::from_secs(7 * 24 * 3600),
            dashboard_extra_tries: 2,
            dashboard_retry_delay: Duration::from_secs(2),
            drift_max_loss_share: crate::drift::DEFAULT_MAX_LOSS_SHARE,
            drift_min_tracks: crate::drift::DEFAULT_MIN_TRACKS,
            accept_drift: Vec::new(),
            deactivate_after_missing_runs: 2,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything done (metadata errors of single tracks included).
    Succeeded,
    /// Everything but the deactivation, which the guard refused.
    GuardRefused,
    /// Stored, but one or more profile fields vanished from so many tracks
    /// that the markup probably changed: those fields were kept as stored
    /// for every track (see `RunReport::drift`).
    DriftSuspected,
    /// The catalogue could not be read (the site changed shape).
    FormatError,
    /// Any other failure (source unreachable, database down, kill switch).
    Failed,
    /// Stopped on request; what was stored stays.
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::GuardRefused => "guard_refused",
            RunStatus::DriftSuspected => "drift_suspected",
            RunStatus::FormatError => "format_error",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// Stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Starting,
    Catalogue,
    Diff,
    Dashboards,
    Geocoding,
    Database,
    Deactivation,
    Report,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Catalogue => "catalogue",
            Stage::Diff => "diff",
            Stage::Dashboards => "dashboards",
            Stage::Geocoding => "geocoding",
            Stage::Database => "database",
            Stage::Deactivation => "deactivation",
            Stage::Report => "report",
            Stage::Done => "done",
        }
    }
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
    pub pending_deactivation: Vec<crate::model::PendingDeactivation>,
    /// What the markup-drift guard saw and decided (`None`: no dashboard
    /// of a stored track was fetched).
    #[serde(default)]
    pub drift: Option<crate::drift::DriftReport>,
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
