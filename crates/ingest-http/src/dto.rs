//! The wire format: request and response bodies (camelCase JSON) and the
//! OpenAPI schemas derived from them.
//!
//! The API owns its representation instead of serialising the core's
//! records directly: a field renamed in the core does not silently change
//! the API, and the enums are mirrored with exhaustive conversions, so a
//! variant added in the core fails to compile here until it is given a wire
//! name.

use chrono::{DateTime, Utc};
use ingest_core as core;
use ingest_core::{Job, JobId, StoredTrack};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) mod report;

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<core::JobStatus> for JobStatus {
    fn from(s: core::JobStatus) -> Self {
        match s {
            core::JobStatus::Queued => Self::Queued,
            core::JobStatus::Running => Self::Running,
            core::JobStatus::Succeeded => Self::Succeeded,
            core::JobStatus::Failed => Self::Failed,
            core::JobStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// The stage a running job last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
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

impl From<core::Stage> for Stage {
    fn from(s: core::Stage) -> Self {
        match s {
            core::Stage::Starting => Self::Starting,
            core::Stage::Catalogue => Self::Catalogue,
            core::Stage::Diff => Self::Diff,
            core::Stage::Dashboards => Self::Dashboards,
            core::Stage::Geocoding => Self::Geocoding,
            core::Stage::Database => Self::Database,
            core::Stage::Deactivation => Self::Deactivation,
            core::Stage::Report => Self::Report,
            core::Stage::Done => Self::Done,
        }
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Trigger {
    Cli,
    Api,
    Cron,
}

impl From<core::Trigger> for Trigger {
    fn from(t: core::Trigger) -> Self {
        match t {
            core::Trigger::Cli => Self::Cli,
            core::Trigger::Api => Self::Api,
            core::Trigger::Cron => Self::Cron,
        }
    }
}

/// The values the `X-MRE-Trigger` request header accepts, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TriggerHeaderValue {
    Api,
    Cron,
}

impl From<TriggerHeaderValue> for core::Trigger {
    fn from(t: TriggerHeaderValue) -> Self {
        match t {
            TriggerHeaderValue::Api => Self::Api,
            TriggerHeaderValue::Cron => Self::Cron,
        }
    }
}

/// Which dashboards a run fetches: `all`, `changed` (conditional requests
/// where activity moved or the TTL passed) or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MetadataMode {
    All,
    Changed,
    None,
}

impl From<core::MetadataMode> for MetadataMode {
    fn from(m: core::MetadataMode) -> Self {
        match m {
            core::MetadataMode::All => Self::All,
            core::MetadataMode::Changed => Self::Changed,
            core::MetadataMode::None => Self::None,
        }
    }
}

impl From<MetadataMode> for core::MetadataMode {
    fn from(m: MetadataMode) -> Self {
        match m {
            MetadataMode::All => Self::All,
            MetadataMode::Changed => Self::Changed,
            MetadataMode::None => Self::None,
        }
    }
}

/// How the job's last attempt ended (the run's own status, finer than the
/// job's: `guard_refused` is a succeeded job whose deactivation the guard
/// refused, `drift_suspected` one whose drift guard held fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunStatus {
    Succeeded,
    GuardRefused,
    DriftSuspected,
    FormatError,
    Failed,
    Cancelled,
}

impl From<core::RunStatus> for RunStatus {
    fn from(s: core::RunStatus) -> Self {
        match s {
            core::RunStatus::Succeeded => Self::Succeeded,
            core::RunStatus::GuardRefused => Self::GuardRefused,
            core::RunStatus::DriftSuspected => Self::DriftSuspected,
            core::RunStatus::FormatError => Self::FormatError,
            core::RunStatus::Failed => Self::Failed,
            core::RunStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// Body of `POST /api/v1/tracks/sync`. Every field is optional; an empty
/// body (or none) takes the server's defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SyncRequest {
    /// Default: the server's configured mode (normally `changed`).
    pub(crate) metadata: Option<MetadataMode>,
    /// Dashboards fetched at once, 1–32; a worker runs the job at the lower
    /// of this and its own configured concurrency (its politeness ceiling).
    /// Default: the worker's configuration.
    #[schema(minimum = 1, maximum = 32)]
    #[serde(default, deserialize_with = "integer")]
    pub(crate) concurrency: Option<usize>,
    /// Deactivate even when the guard would refuse, and without the grace
    /// period. Default false.
    pub(crate) force: Option<bool>,
    /// Run the whole sync and write the report of what would change
    /// (additions, field changes, deactivations, the guards' decisions),
    /// storing no track: every write is rolled back. The job and its report
    /// are kept as usual, the report marked as a dry run. Default false.
    pub(crate) dry_run: Option<bool>,
    /// Profile fields whose loss the markup-drift guard accepts this run
    /// (the page really dropped them): field names, or `all`. Default none.
    #[schema(value_type = Option<Vec<AcceptDriftField>>)]
    #[serde(default, deserialize_with = "accepted_fields")]
    pub(crate) accept_drift: Option<Vec<String>>,
}

/// A field the drift guard watches, or `all`.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "only the OpenAPI document's enum of accepted values"
)]
pub(crate) enum AcceptDriftField {
    All,
    Street,
    City,
    State,
    PostalCode,
    Country,
    CountryCode,
    Phone,
    Website,
    Email,
    Description,
    LogoUrl,
    FacebookUrl,
}

fn accepted_fields<'de, D>(deserializer: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    let Some(values) = Option::<Vec<String>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    values
        .iter()
        .map(|v| {
            // Exactly as the document spells them: no trimming, no case folding.
            if v.trim() != v || v.to_ascii_lowercase() != *v {
                return Err(D::Error::custom(format!("unknown field {v:?}")));
            }
            core::drift::parse_accepted(v).map_err(D::Error::custom)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An optional JSON integer as JSON Schema counts them: `12` and `12.0`
/// alike (the document says `type: integer`, which admits both), anything
/// with a fraction, negative or too large refused.
fn integer<'de, D>(deserializer: D) -> Result<Option<usize>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::{Error, Unexpected};
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let value = match (number.as_u64(), number.as_f64()) {
        (Some(n), _) => usize::try_from(n).ok(),
        // Exactly integral and within what f64 holds exactly.
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&f) => {
            usize::try_from(f as u64).ok()
        }
        _ => None,
    };
    value.map(Some).ok_or_else(|| {
        D::Error::invalid_value(
            Unexpected::Other(&number.to_string()),
            &"a non-negative integer",
        )
    })
}

/// The options a job runs with.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobRequestView {
    pub(crate) metadata: MetadataMode,
    /// `null`: the worker's configured concurrency.
    pub(crate) concurrency: Option<usize>,
    pub(crate) force: bool,
    /// Fields whose loss the drift guard was told to accept.
    pub(crate) accept_drift: Vec<String>,
    /// A dry run: the report of what would change, nothing stored.
    pub(crate) dry_run: bool,
}

/// A sync job: its state, progress and (once an attempt finished) counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobView {
    pub(crate) job_id: Uuid,
    pub(crate) source: String,
    pub(crate) status: JobStatus,
    pub(crate) stage: Stage,
    /// Tracks processed so far in the current attempt.
    pub(crate) processed: u64,
    /// Tracks to process (0 until the catalogue is read).
    pub(crate) total: u64,
    /// Remaining seconds at the observed rate, when known.
    pub(crate) eta_seconds: Option<f64>,
    /// Claims so far (a retried or resumed job keeps counting).
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    pub(crate) trigger: Trigger,
    pub(crate) cancel_requested: bool,
    pub(crate) request: JobRequestView,
    /// The last finished attempt's run status; `null` before one finished.
    pub(crate) run_status: Option<RunStatus>,
    /// Counts of the last finished attempt (0 before one finished).
    pub(crate) tracks_added: u64,
    pub(crate) tracks_updated: u64,
    pub(crate) tracks_deactivated: u64,
    pub(crate) tracks_reactivated: u64,
    pub(crate) metadata_failures: u64,
    /// Dashboards fetched in full (not 304) by the last finished attempt:
    /// with `durationSeconds`, the run's pages per second.
    pub(crate) dashboards_fetched: u64,
    /// Tracks missing from the catalogue, not yet deactivated (grace period).
    pub(crate) tracks_pending_deactivation: u64,
    /// Profile fields the markup-drift guard held (kept as stored for every
    /// track): set when `runStatus` is `drift_suspected`.
    pub(crate) drift_held_fields: Vec<String>,
    /// The report file on the worker's disk, when it keeps files.
    pub(crate) report_path: Option<String>,
    /// Where to read the report through this API, once there is one.
    pub(crate) report_url: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    /// When the first attempt started.
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
    /// `completedAt − startedAt`, or the time elapsed so far while the job
    /// is not final; `null` before it started.
    pub(crate) duration_seconds: Option<f64>,
    /// Why the job failed, or the last transient error while it retries.
    pub(crate) error: Option<String>,
}

/// The API path of a job.
pub(crate) fn job_path(id: JobId) -> String {
    format!("/api/v1/tracks/sync/{id}")
}

impl JobView {
    /// `has_archived_report`: the archive holds a report of this job (the
    /// summary's report file counts as one too).
    pub(crate) fn new(job: Job, now: DateTime<Utc>, has_archived_report: bool) -> Self {
        let summary = job.summary.as_ref();
        let count = |f: fn(&core::SyncSummary) -> u64| summary.map_or(0, f);
        let has_report = has_archived_report || summary.is_some_and(|s| s.report_file.is_some());
        let end = match (job.status.is_final(), job.completed_at) {
            (true, Some(completed)) => Some(completed),
            (true, None) => None,
            (false, _) => Some(now),
        };
        let duration_seconds = job.started_at.zip(end).map(|(start, end)| {
            // Milliseconds keep the figure exact to what the timestamps say.
            ((end - start).num_milliseconds().max(0) as f64) / 1000.0
        });
        Self {
            job_id: job.id,
            status: job.status.into(),
            stage: job.progress.stage.into(),
            processed: job.progress.processed,
            total: job.progress.total,
            eta_seconds: job.progress.eta_seconds,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            trigger: job.trigger.into(),
            cancel_requested: job.cancel_requested,
            request: JobRequestView {
                metadata: job.request.metadata.into(),
                concurrency: job.request.concurrency,
                force: job.request.force,
                accept_drift: job.request.accept_drift.clone(),
                dry_run: job.request.dry_run,
            },
            run_status: summary.map(|s| s.status.into()),
            tracks_added: count(|s| s.tracks_added),
            tracks_updated: count(|s| s.tracks_updated),
            tracks_deactivated: count(|s| s.tracks_deactivated),
            tracks_reactivated: count(|s| s.tracks_reactivated),
            tracks_pending_deactivation: count(|s| s.tracks_pending_deactivation),
            dashboards_fetched: count(|s| s.metadata_fetched),
            drift_held_fields: summary
                .map(|s| {
                    s.drift
                        .iter()
                        .filter(|f| f.decision == core::DriftDecision::Held)
                        .map(|f| f.field.clone())
                        .collect()
                })
                .unwrap_or_default(),
            metadata_failures: count(|s| s.metadata_failures),
            report_path: summary.and_then(|s| s.report_path.clone()),
            report_url: has_report.then(|| format!("{}/report", job_path(job.id))),
            created_at: job.created_at,
            started_at: job.started_at,
            completed_at: job.completed_at,
            duration_seconds,
            error: job.error,
            source: job.source,
        }
    }
}

/// Recent jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobList {
    pub(crate) items: Vec<JobView>,
    /// The limit applied.
    pub(crate) limit: u32,
}

/// A stored track.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrackView {
    pub(crate) slug: String,
    pub(crate) name: String,
    /// The track's LiveRC page.
    pub(crate) track_url: String,
    pub(crate) events_url: String,
    pub(crate) street: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub(crate) country_code: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) logo_url: Option<String>,
    pub(crate) facebook_url: Option<String>,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    /// The geocoder that produced the coordinates.
    pub(crate) geocode_provider: Option<String>,
    /// `idle`, `practicing`, `racing` or `unknown`.
    pub(crate) status: String,
    pub(crate) is_live: bool,
    pub(crate) live_video: bool,
    pub(crate) featured: bool,
    pub(crate) current_event: Option<String>,
    /// LiveRC's last activity on the track, as read from the catalogue.
    pub(crate) last_updated_at: Option<DateTime<Utc>>,
    pub(crate) total_laps: Option<i64>,
    pub(crate) total_races: Option<i64>,
    pub(crate) total_events: Option<i64>,
    pub(crate) total_entries: Option<i64>,
    pub(crate) total_practice_sessions: Option<i64>,
    pub(crate) is_active: bool,
    pub(crate) first_seen_at: DateTime<Utc>,
    pub(crate) last_seen_at: DateTime<Utc>,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    /// When the dashboard was last fetched or confirmed unchanged.
    pub(crate) metadata_fetched_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    /// When a stored value last changed.
    pub(crate) updated_at: DateTime<Utc>,
}

impl From<StoredTrack> for TrackView {
    fn from(t: StoredTrack) -> Self {
        let (c, p) = (t.catalogue, t.profile);
        Self {
            slug: t.slug,
            name: c.name,
            track_url: c.track_url,
            events_url: c.events_url,
            street: p.street,
            city: p.city,
            state: p.state,
            postal_code: p.postal_code,
            country: p.country,
            country_code: p.country_code,
            phone: p.phone,
            email: p.email,
            website: p.website,
            description: p.description,
            logo_url: p.logo_url,
            facebook_url: p.facebook_url,
            latitude: t.geo.as_ref().map(|g| g.latitude),
            longitude: t.geo.as_ref().map(|g| g.longitude),
            geocode_provider: t.geo.map(|g| g.provider),
            status: c.status,
            is_live: c.is_live,
            live_video: c.live_video,
            featured: c.featured,
            current_event: c.current_event,
            last_updated_at: c.last_updated_at,
            total_laps: p.total_laps,
            total_races: p.total_races,
            total_events: p.total_events,
            total_entries: p.total_entries,
            total_practice_sessions: p.total_practice_sessions,
            is_active: t.is_active,
            first_seen_at: t.first_seen_at,
            last_seen_at: t.last_seen_at,
            deactivated_at: t.deactivated_at,
            metadata_fetched_at: t.metadata_fetched_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A page of tracks ordered by slug.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrackPage {
    pub(crate) items: Vec<TrackView>,
    /// Tracks matching the filter, over all pages.
    pub(crate) total: u64,
    pub(crate) limit: u32,
    pub(crate) offset: u32,
}

/// One recorded change of a track's profile field.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrackChangeView {
    /// The run (job) that made the change.
    pub(crate) run_id: Uuid,
    /// The profile field (`phone`, `city`, `is_active`, …).
    pub(crate) field: String,
    pub(crate) old_value: Option<String>,
    pub(crate) new_value: Option<String>,
    pub(crate) changed_at: DateTime<Utc>,
}

impl From<core::TrackChange> for TrackChangeView {
    fn from(c: core::TrackChange) -> Self {
        Self {
            run_id: c.run_id,
            field: c.field,
            old_value: c.old_value,
            new_value: c.new_value,
            changed_at: c.changed_at,
        }
    }
}

/// A track's change history, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrackHistory {
    pub(crate) slug: String,
    pub(crate) items: Vec<TrackChangeView>,
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProbeStatus {
    /// `ok` (healthz) or `ready` (readyz).
    #[schema(example = "ok")]
    pub(crate) status: &'static str,
}

/// Share of the active tracks carrying each field, in percent (0–100, one
/// decimal).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CompletenessShares {
    #[schema(example = 97.4)]
    pub(crate) address: f64,
    pub(crate) phone: f64,
    pub(crate) email: f64,
    pub(crate) website: f64,
    pub(crate) coordinates: f64,
}

/// How many active tracks carry each field.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletenessCounts {
    pub(crate) with_address: u64,
    pub(crate) with_phone: u64,
    pub(crate) with_email: u64,
    pub(crate) with_website: u64,
    pub(crate) with_coordinates: u64,
}

/// Data quality of one archived run.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunQualityView {
    /// The run (= job) id.
    pub(crate) run_id: Uuid,
    /// The run's status as archived: `succeeded`, `guard_refused`,
    /// `format_error`, `failed` or `cancelled`.
    #[schema(example = "succeeded")]
    pub(crate) status: String,
    /// `cli`, `api` or `cron`.
    #[schema(example = "cron")]
    pub(crate) trigger: String,
    pub(crate) finished_at: DateTime<Utc>,
    /// Active tracks when the run ended (the base of the percentages).
    pub(crate) active_tracks: u64,
    pub(crate) completeness: CompletenessShares,
    pub(crate) counts: CompletenessCounts,
    /// Values dropped by the validation rules.
    pub(crate) validation_anomalies: u64,
    /// Dashboards that could not be fetched or parsed.
    pub(crate) metadata_failures: u64,
    /// Catalogue rows the parser skipped.
    pub(crate) skipped_rows: u64,
}

/// A percentage rounded to one decimal.
fn one_decimal(percent: f64) -> f64 {
    (percent * 10.0).round() / 10.0
}

impl From<core::RunQuality> for RunQualityView {
    fn from(q: core::RunQuality) -> Self {
        let c = q.completeness;
        Self {
            run_id: q.run_id,
            status: q.status,
            trigger: q.trigger,
            finished_at: q.finished_at,
            active_tracks: c.active_tracks,
            completeness: CompletenessShares {
                address: one_decimal(c.share(c.with_address)),
                phone: one_decimal(c.share(c.with_phone)),
                email: one_decimal(c.share(c.with_email)),
                website: one_decimal(c.share(c.with_website)),
                coordinates: one_decimal(c.share(c.with_coordinates)),
            },
            counts: CompletenessCounts {
                with_address: c.with_address,
                with_phone: c.with_phone,
                with_email: c.with_email,
                with_website: c.with_website,
                with_coordinates: c.with_coordinates,
            },
            validation_anomalies: q.validation_anomalies,
            metadata_failures: q.metadata_failures,
            skipped_rows: q.skipped_rows,
        }
    }
}

/// Quality figures of the newest archived runs of a source.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QualityHistory {
    #[schema(example = "liverc")]
    pub(crate) source: String,
    /// Newest first.
    pub(crate) runs: Vec<RunQualityView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_rounded_to_one_decimal() {
        assert_eq!(one_decimal(97.449), 97.4);
        assert_eq!(one_decimal(97.45), 97.5);
        assert_eq!(one_decimal(100.0), 100.0);
        assert_eq!(one_decimal(0.04), 0.0);
        let q = core::RunQuality {
            run_id: Uuid::nil(),
            status: "succeeded".to_owned(),
            trigger: "cron".to_owned(),
            finished_at: DateTime::<Utc>::UNIX_EPOCH,
            completeness: core::Completeness {
                active_tracks: 3,
                with_address: 2,
                with_phone: 1,
                with_email: 0,
                with_website: 3,
                with_coordinates: 2,
            },
            validation_anomalies: 4,
            metadata_failures: 5,
            skipped_rows: 6,
        };
        let view = RunQualityView::from(q);
        assert_eq!(view.completeness.address, 66.7);
        assert_eq!(view.completeness.phone, 33.3);
        assert_eq!(view.completeness.email, 0.0);
        assert_eq!(view.completeness.website, 100.0);
        assert_eq!(view.counts.with_coordinates, 2);
    }

    #[test]
    fn no_active_tracks_is_zero_percent() {
        let q = core::RunQuality {
            run_id: Uuid::nil(),
            status: "format_error".to_owned(),
            trigger: "api".to_owned(),
            finished_at: DateTime::<Utc>::UNIX_EPOCH,
            completeness: core::Completeness::default(),
            validation_anomalies: 0,
            metadata_failures: 0,
            skipped_rows: 0,
        };
        let view = RunQualityView::from(q);
        assert_eq!(view.active_tracks, 0);
        assert_eq!(view.completeness.address, 0.0);
    }
}
