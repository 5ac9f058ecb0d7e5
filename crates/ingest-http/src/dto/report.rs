//! A run's report as data: the JSON answer of
//! `GET /api/v1/tracks/sync/{jobId}/report` (`Accept: application/json`),
//! mapped from the `RunReport` the worker archived beside the Markdown.
//!
//! Every record is destructured field by field, without `..`: a field added
//! to the core's report fails to compile here until it is given a place on
//! the wire (or is left out on purpose, by name).
//!
//! Scraped strings (track names, values, messages) are passed through as
//! they are: JSON escapes them, and a client shows them as text. Values are
//! not cut short as in the Markdown; lists hold what the run kept (at most
//! `ingest_core::MAX_REPORT_ENTRIES` each), and `counts` says how many there
//! were in all.

use chrono::{DateTime, Utc};
use ingest_core as core;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MetadataMode, RunStatus, Stage, Trigger};

/// The report of one run: what the Markdown report shows, as data.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportView {
    /// The run (= job) id.
    pub(crate) run_id: Uuid,
    /// The archived Markdown file's name (for a download).
    #[schema(example = "track-sync-20250601-120000-0197a1b2c3d4.md")]
    pub(crate) file_name: String,
    #[schema(example = "liverc")]
    pub(crate) source: String,
    pub(crate) trigger: Trigger,
    /// Attempt number of the job (1 for a CLI run).
    pub(crate) attempt: u32,
    pub(crate) status: RunStatus,
    /// The failure, when `status` is not a success (or what held the run).
    pub(crate) error: Option<String>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: DateTime<Utc>,
    /// `finishedAt − startedAt`.
    pub(crate) duration_seconds: f64,
    /// The shortest the run could have taken at its politeness settings
    /// (`dashboards × mean latency ÷ concurrency`), when measurable.
    pub(crate) politeness_bound_seconds: Option<f64>,
    pub(crate) options: ReportOptions,
    pub(crate) counts: ReportCounts,
    pub(crate) stage_timings: Vec<StageTimingView>,
    pub(crate) new_tracks: Vec<NewTrackView>,
    pub(crate) updated_tracks: Vec<UpdatedTrackView>,
    pub(crate) deactivated_tracks: Vec<DeactivatedTrackView>,
    /// Active tracks missing from this complete catalogue, not yet for long
    /// enough to be deactivated.
    pub(crate) pending_deactivation: Vec<PendingDeactivationView>,
    pub(crate) reactivated_tracks: Vec<ReactivatedTrackView>,
    /// Dashboards that could not be fetched or parsed; these tracks keep
    /// their stored fields.
    pub(crate) metadata_errors: Vec<MetadataErrorView>,
    /// Values that broke a validation rule and were not stored.
    pub(crate) validation_anomalies: Vec<ValidationAnomalyView>,
    /// Catalogue rows the parser skipped.
    pub(crate) skipped_rows: Vec<SkippedRowView>,
    /// What the deactivation guard decided; `null` when it had nothing to
    /// decide (the run stopped before, or the catalogue was incomplete).
    pub(crate) guard: Option<GuardView>,
    /// What the markup-drift guard saw and decided; `null` when no
    /// dashboard of a stored track was fetched.
    pub(crate) drift: Option<DriftView>,
    /// How many active tracks carry each field after the run.
    pub(crate) completeness: CompletenessView,
    /// The same figures after the previous finished run, to compare with.
    pub(crate) previous_completeness: Option<CompletenessView>,
}

/// The options the run was given.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportOptions {
    pub(crate) metadata: MetadataMode,
    /// Dashboards fetched at once.
    pub(crate) concurrency: usize,
    /// Tracks per database batch.
    pub(crate) batch_size: usize,
    /// The deactivation guard's limit, a fraction (0–1) of the active tracks.
    pub(crate) guard_max_deactivate_share: f64,
    /// Deactivation forced past the guard.
    pub(crate) force: bool,
    /// In `changed` mode, dashboards older than this are fetched again.
    pub(crate) metadata_ttl_seconds: f64,
    /// Extra tries the service gave a dashboard after the client's own.
    pub(crate) dashboard_extra_tries: u32,
    pub(crate) dashboard_retry_delay_seconds: f64,
    /// The drift guard's limit, a fraction (0–1) of the tracks that had a field.
    pub(crate) drift_max_loss_share: f64,
    /// …provided at least this many tracks lost it.
    pub(crate) drift_min_tracks: u64,
    /// Fields whose loss the operator accepted (`all` for every field).
    pub(crate) accept_drift: Vec<String>,
    /// Consecutive complete catalogues a track must be missing from before
    /// it is deactivated.
    pub(crate) deactivate_after_missing_runs: u32,
    /// A dry run: nothing was stored.
    pub(crate) dry_run: bool,
}

/// The run's counters (complete, whatever the lists hold).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportCounts {
    /// Tracks in the catalogue (parsed rows).
    pub(crate) catalogue_rows: u64,
    pub(crate) skipped_rows: u64,
    pub(crate) new: u64,
    /// Tracks whose profile fields changed.
    pub(crate) updated: u64,
    pub(crate) unchanged: u64,
    /// Tracks whose only changes were churn (activity, live flags, stats).
    pub(crate) churn_only: u64,
    pub(crate) deactivated: u64,
    pub(crate) pending_deactivation: u64,
    pub(crate) reactivated: u64,
    pub(crate) dashboards_fetched: u64,
    /// Answered `304 Not Modified`.
    pub(crate) dashboards_not_modified: u64,
    pub(crate) dashboards_skipped: u64,
    pub(crate) dashboards_failed: u64,
    pub(crate) retries: u64,
    pub(crate) responses429: u64,
    pub(crate) retry_after_wait_seconds: f64,
    pub(crate) validation_anomalies: u64,
    pub(crate) geocoded: u64,
    pub(crate) geocode_failures: u64,
    pub(crate) db_batches: u64,
    /// Rows the upserts actually wrote.
    pub(crate) db_rows_written: u64,
}

/// Time spent in one stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageTimingView {
    pub(crate) stage: Stage,
    pub(crate) seconds: f64,
    /// e.g. "11 batches, p95 38 ms".
    pub(crate) detail: Option<String>,
}

/// A track the run added.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewTrackView {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) country_code: Option<String>,
    pub(crate) track_url: String,
}

/// One changed profile field; `null`: no value.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangedFieldView {
    pub(crate) field: String,
    pub(crate) old_value: Option<String>,
    pub(crate) new_value: Option<String>,
}

/// A track whose profile changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdatedTrackView {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) changes: Vec<ChangedFieldView>,
}

/// A track the run deactivated.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeactivatedTrackView {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) first_seen_at: DateTime<Utc>,
    pub(crate) last_seen_at: DateTime<Utc>,
}

/// A track missing from the catalogue, not yet deactivated.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PendingDeactivationView {
    pub(crate) slug: String,
    pub(crate) name: String,
    /// Consecutive complete catalogues it has been missing from.
    pub(crate) missing_runs: u32,
    pub(crate) last_seen_at: DateTime<Utc>,
}

/// A track that was inactive and is listed again.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReactivatedTrackView {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) inactive_since: Option<DateTime<Utc>>,
}

/// A dashboard that could not be fetched or parsed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetadataErrorView {
    pub(crate) slug: String,
    /// `transient`, `gone`, `format`, …
    #[schema(example = "format")]
    pub(crate) class: String,
    pub(crate) message: String,
    pub(crate) attempts: u32,
}

/// A value that broke a validation rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValidationAnomalyView {
    pub(crate) slug: String,
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) rule: String,
}

/// A catalogue row the parser skipped.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkippedRowView {
    pub(crate) row_index: u64,
    pub(crate) reason: String,
    pub(crate) href: Option<String>,
}

/// The deactivation guard's decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GuardView {
    pub(crate) active_before: u64,
    /// Active tracks missing from the catalogue.
    pub(crate) missing: u64,
    /// `missing / activeBefore`, a fraction (0–1).
    pub(crate) share: f64,
    /// The limit, a fraction (0–1).
    pub(crate) max_share: f64,
    pub(crate) forced: bool,
    /// Whether the deactivation went ahead.
    pub(crate) allowed: bool,
    /// Why it did not, in words.
    pub(crate) reason: Option<String>,
}

/// What the markup-drift guard decided for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DriftDecision {
    /// Losses within the limits: applied.
    Applied,
    /// Lost by too many tracks: kept as stored for every track.
    Held,
    /// Lost by too many tracks, applied because the operator accepted it.
    Accepted,
}

impl From<core::DriftDecision> for DriftDecision {
    fn from(d: core::DriftDecision) -> Self {
        match d {
            core::DriftDecision::Applied => Self::Applied,
            core::DriftDecision::Held => Self::Held,
            core::DriftDecision::Accepted => Self::Accepted,
        }
    }
}

/// A track behind a field's drift figures; `null`: no value.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DriftSampleView {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) stored_value: Option<String>,
    pub(crate) page_value: Option<String>,
}

/// One watched field over the run.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldDriftView {
    #[schema(example = "phone")]
    pub(crate) field: String,
    /// Fetched tracks that had the field stored…
    pub(crate) had: u64,
    /// …of which came back without it…
    pub(crate) lost: u64,
    /// …or with another value.
    pub(crate) changed: u64,
    pub(crate) decision: DriftDecision,
    /// `changed` over the limits (applied, flagged).
    pub(crate) mass_change: bool,
    /// A few of the tracks behind the figures.
    pub(crate) samples: Vec<DriftSampleView>,
}

/// The markup-drift guard over the run: every watched field some fetched
/// track had stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DriftView {
    /// A fraction (0–1).
    pub(crate) max_loss_share: f64,
    pub(crate) min_tracks: u64,
    pub(crate) fields: Vec<FieldDriftView>,
}

/// How many active tracks carry each field.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletenessView {
    pub(crate) active_tracks: u64,
    pub(crate) with_address: u64,
    pub(crate) with_phone: u64,
    pub(crate) with_email: u64,
    pub(crate) with_website: u64,
    pub(crate) with_coordinates: u64,
}

fn list<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

impl ReportView {
    /// The report of `report`, archived as `file_name`.
    pub(crate) fn new(report: core::RunReport, file_name: String) -> Self {
        let duration_seconds = report.duration().as_secs_f64();
        let core::RunReport {
            run_id,
            source,
            trigger,
            attempt,
            status,
            error,
            started_at,
            finished_at,
            options,
            politeness_bound_seconds,
            counts,
            stage_timings,
            new_tracks,
            updated_tracks,
            deactivated,
            reactivated,
            metadata_errors,
            anomalies,
            skipped_rows,
            guard,
            pending_deactivation,
            drift,
            completeness,
            previous_completeness,
        } = report;
        Self {
            run_id,
            file_name,
            source,
            trigger: trigger.into(),
            attempt,
            status: status.into(),
            error,
            started_at,
            finished_at,
            duration_seconds,
            politeness_bound_seconds,
            options: options.into(),
            counts: counts.into(),
            stage_timings: list(stage_timings),
            new_tracks: list(new_tracks),
            updated_tracks: list(updated_tracks),
            deactivated_tracks: list(deactivated),
            pending_deactivation: list(pending_deactivation),
            reactivated_tracks: list(reactivated),
            metadata_errors: list(metadata_errors),
            validation_anomalies: list(anomalies),
            skipped_rows: list(skipped_rows),
            guard: guard.map(Into::into),
            drift: drift.map(Into::into),
            completeness: completeness.into(),
            previous_completeness: previous_completeness.map(Into::into),
        }
    }
}

impl From<core::SyncOptions> for ReportOptions {
    fn from(o: core::SyncOptions) -> Self {
        let core::SyncOptions {
            // The report's own `source` and `trigger` say these.
            source: _,
            trigger: _,
            metadata,
            concurrency,
            batch_size,
            guard_max_deactivate_share,
            force,
            metadata_ttl,
            dashboard_extra_tries,
            dashboard_retry_delay,
            drift_max_loss_share,
            drift_min_tracks,
            accept_drift,
            deactivate_after_missing_runs,
            dry_run,
        } = o;
        Self {
            metadata: metadata.into(),
            concurrency,
            batch_size,
            guard_max_deactivate_share,
            force,
            metadata_ttl_seconds: metadata_ttl.as_secs_f64(),
            dashboard_extra_tries,
            dashboard_retry_delay_seconds: dashboard_retry_delay.as_secs_f64(),
            drift_max_loss_share,
            drift_min_tracks,
            accept_drift,
            deactivate_after_missing_runs,
            dry_run,
        }
    }
}

impl From<core::RunCounts> for ReportCounts {
    fn from(c: core::RunCounts) -> Self {
        let core::RunCounts {
            catalogue_rows,
            skipped_rows,
            new,
            updated,
            unchanged,
            churn_only,
            deactivated,
            pending_deactivation,
            reactivated,
            dashboards_fetched,
            dashboards_not_modified,
            dashboards_skipped,
            dashboards_failed,
            retries,
            responses_429,
            // By status class: exported as `liverc_responses_total{status}`,
            // not part of the report's view.
            responses: _,
            retry_after_wait_seconds,
            validation_anomalies,
            geocoded,
            geocode_failures,
            db_batches,
            db_rows_written,
        } = c;
        Self {
            catalogue_rows,
            skipped_rows,
            new,
            updated,
            unchanged,
            churn_only,
            deactivated,
            pending_deactivation,
            reactivated,
            dashboards_fetched,
            dashboards_not_modified,
            dashboards_skipped,
            dashboards_failed,
            retries,
            responses429: responses_429,
            retry_after_wait_seconds,
            validation_anomalies,
            geocoded,
            geocode_failures,
            db_batches,
            db_rows_written,
        }
    }
}

impl From<core::StageTiming> for StageTimingView {
    fn from(t: core::StageTiming) -> Self {
        let core::StageTiming {
            stage,
            seconds,
            detail,
        } = t;
        Self {
            stage: stage.into(),
            seconds,
            detail,
        }
    }
}

impl From<core::NewTrackEntry> for NewTrackView {
    fn from(t: core::NewTrackEntry) -> Self {
        let core::NewTrackEntry {
            slug,
            name,
            city,
            state,
            country_code,
            track_url,
        } = t;
        Self {
            slug,
            name,
            city,
            state,
            country_code,
            track_url,
        }
    }
}

impl From<core::ChangedField> for ChangedFieldView {
    fn from(c: core::ChangedField) -> Self {
        let core::ChangedField {
            field,
            old_value,
            new_value,
        } = c;
        Self {
            field,
            old_value,
            new_value,
        }
    }
}

impl From<core::UpdatedTrackEntry> for UpdatedTrackView {
    fn from(t: core::UpdatedTrackEntry) -> Self {
        let core::UpdatedTrackEntry {
            slug,
            name,
            changes,
        } = t;
        Self {
            slug,
            name,
            changes: list(changes),
        }
    }
}

impl From<core::DeactivatedTrack> for DeactivatedTrackView {
    fn from(t: core::DeactivatedTrack) -> Self {
        let core::DeactivatedTrack {
            slug,
            name,
            first_seen_at,
            last_seen_at,
        } = t;
        Self {
            slug,
            name,
            first_seen_at,
            last_seen_at,
        }
    }
}

impl From<core::PendingDeactivation> for PendingDeactivationView {
    fn from(t: core::PendingDeactivation) -> Self {
        let core::PendingDeactivation {
            slug,
            name,
            missing_runs,
            last_seen_at,
        } = t;
        Self {
            slug,
            name,
            missing_runs,
            last_seen_at,
        }
    }
}

impl From<core::ReactivatedTrackEntry> for ReactivatedTrackView {
    fn from(t: core::ReactivatedTrackEntry) -> Self {
        let core::ReactivatedTrackEntry {
            slug,
            name,
            inactive_since,
        } = t;
        Self {
            slug,
            name,
            inactive_since,
        }
    }
}

impl From<core::MetadataErrorEntry> for MetadataErrorView {
    fn from(e: core::MetadataErrorEntry) -> Self {
        let core::MetadataErrorEntry {
            slug,
            class,
            message,
            attempts,
        } = e;
        Self {
            slug,
            class,
            message,
            attempts,
        }
    }
}

impl From<core::ValidationAnomaly> for ValidationAnomalyView {
    fn from(a: core::ValidationAnomaly) -> Self {
        let core::ValidationAnomaly {
            slug,
            field,
            value,
            rule,
        } = a;
        Self {
            slug,
            field,
            value,
            rule,
        }
    }
}

impl From<core::SkippedRowEntry> for SkippedRowView {
    fn from(r: core::SkippedRowEntry) -> Self {
        let core::SkippedRowEntry {
            row_index,
            reason,
            href,
        } = r;
        Self {
            row_index,
            reason,
            href,
        }
    }
}

impl From<core::GuardDecision> for GuardView {
    fn from(g: core::GuardDecision) -> Self {
        let core::GuardDecision {
            active_before,
            missing,
            share,
            max_share,
            forced,
            allowed,
            reason,
        } = g;
        Self {
            active_before,
            missing,
            share,
            max_share,
            forced,
            allowed,
            reason,
        }
    }
}

impl From<core::DriftSample> for DriftSampleView {
    fn from(s: core::DriftSample) -> Self {
        let core::DriftSample {
            slug,
            name,
            stored_value,
            page_value,
        } = s;
        Self {
            slug,
            name,
            stored_value,
            page_value,
        }
    }
}

impl From<core::FieldDrift> for FieldDriftView {
    fn from(f: core::FieldDrift) -> Self {
        let core::FieldDrift {
            field,
            had,
            lost,
            changed,
            decision,
            mass_change,
            samples,
        } = f;
        Self {
            field,
            had,
            lost,
            changed,
            decision: decision.into(),
            mass_change,
            samples: list(samples),
        }
    }
}

impl From<core::DriftReport> for DriftView {
    fn from(d: core::DriftReport) -> Self {
        let core::DriftReport {
            max_loss_share,
            min_tracks,
            fields,
        } = d;
        Self {
            max_loss_share,
            min_tracks,
            fields: list(fields),
        }
    }
}

impl From<core::Completeness> for CompletenessView {
    fn from(c: core::Completeness) -> Self {
        let core::Completeness {
            active_tracks,
            with_address,
            with_phone,
            with_email,
            with_website,
            with_coordinates,
        } = c;
        Self {
            active_tracks,
            with_address,
            with_phone,
            with_email,
            with_website,
            with_coordinates,
        }
    }
}
