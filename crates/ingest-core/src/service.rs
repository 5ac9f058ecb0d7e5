//! `TrackSyncService`: one sync run, the same for every entry point.
//!
//! Pipeline: catalogue → snapshot diff → dashboards (bounded concurrency,
//! streamed) → validation → geocoding → batch upsert → progress → guarded
//! deactivation → sync state → report → metrics.
//!
//! Dashboards are fetched by a bounded stream and handed over a bounded
//! channel to a writer that stores them batch by batch, so memory stays flat
//! as the catalogue grows and the database work overlaps the fetching.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{Instrument, info, info_span, warn};
use uuid::Uuid;

use crate::domain::diff::{self, address_query, content_hash, diff_track};
use crate::domain::drift::{self, Counted, DeferredLoss, DriftTally};
use crate::domain::job::Lease;
use crate::domain::report::{
    ChangedField, Completeness, DeactivatedTrack, GuardDecision, MAX_REPORT_ENTRIES,
    MetadataErrorEntry, NewTrackEntry, PendingDeactivation, ReactivatedTrackEntry, RunCounts,
    RunReport, StageTiming, SyncSummary, UpdatedTrackEntry, ValidationAnomaly,
};
use crate::domain::run::{MetadataMode, RunStatus, Stage, SyncOptions};
use crate::domain::track::{
    FetchedMetadata, FieldChange, GeoPoint, GeoUpdate, HttpValidators, MetadataUpdate, RunId,
    StoredTrack, TrackProfile, TrackSnapshot, TrackUpsert,
};
use crate::domain::validate::{sanitize_profile, validate_coordinates};
use crate::ports::clock::Clock;
use crate::ports::geocoder::Geocoder;
use crate::ports::jobs::Checkpoint;
use crate::ports::metrics::SyncMetrics;
use crate::ports::progress::{Progress, ProgressSink};
use crate::ports::report::ReportWriter;
use crate::ports::repository::{
    BatchCheckpoint, FinishRun, RepositoryError, TrackRepository, UpsertBatch,
};
use crate::ports::source::{
    DashboardOutcome, SourceCatalogue, SourceEntry, SourceError, SourceErrorClass, TrackSource,
};

/// A cancellation flag shared with whoever may stop the run (an API call, a
/// signal). The service checks it before each dashboard and each batch.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Per-run context that does not belong to the options: identity, attempt,
/// cancellation, and the job it runs for.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: RunId,
    /// 1 for a first attempt.
    pub attempt: u32,
    /// Stops the run after the batch being accumulated is stored: no new
    /// dashboards are requested, those in flight are kept.
    pub cancel: CancelFlag,
    /// Set when the run is a queued job: every batch then carries the job's
    /// checkpoint under its lease, and a resumed attempt skips what an
    /// earlier one stored.
    pub job: Option<JobBinding>,
}

impl Default for RunContext {
    fn default() -> Self {
        Self {
            run_id: Uuid::now_v7(),
            attempt: 1,
            cancel: CancelFlag::new(),
            job: None,
        }
    }
}

/// The job a run belongs to: its lease (fencing every write) and the
/// checkpoint earlier attempts left.
#[derive(Debug, Clone)]
pub struct JobBinding {
    pub lease: Lease,
    pub checkpoint: Checkpoint,
}

/// What a job carries from one attempt to the next (the checkpoint's opaque
/// state): everything the final report sums over attempts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CarriedState {
    started_at: Option<DateTime<Utc>>,
    counts: RunCounts,
    new_tracks: Vec<NewTrackEntry>,
    updated_tracks: Vec<UpdatedTrackEntry>,
    reactivated: Vec<ReactivatedTrackEntry>,
    metadata_errors: Vec<MetadataErrorEntry>,
    anomalies: Vec<ValidationAnomaly>,
    /// Client retries, 429s and Retry-After waits of earlier attempts.
    retries: u64,
    responses_429: u64,
    retry_after_wait_seconds: f64,
    fetch_latency_total_seconds: f64,
    fetch_requests: u64,
    processed: u64,
    /// The drift guard's tallies and deferred losses.
    #[serde(default)]
    drift: DriftTally,
}

/// The orchestration service. Every dependency is a port.
pub struct TrackSyncService {
    source: Arc<dyn TrackSource>,
    repository: Arc<dyn TrackRepository>,
    metrics: Arc<dyn SyncMetrics>,
    clock: Arc<dyn Clock>,
    geocoder: Option<Arc<dyn Geocoder>>,
}

impl std::fmt::Debug for TrackSyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackSyncService")
            .field("geocoder", &self.geocoder.as_ref().map(|g| g.provider()))
            .finish_non_exhaustive()
    }
}

/// What the fetch side hands the writer for one catalogue entry.
struct Fetched {
    entry: SourceEntry,
    result: FetchResult,
    /// Tries the service added after the source gave up.
    extra_tries: u32,
    /// Held from the request until the track's batch is stored.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

enum FetchResult {
    /// Not requested this run.
    Skipped,
    /// Not requested because the run was cancelled: not stored either.
    Dropped,
    Outcome(DashboardOutcome),
    Failed(SourceError),
}

/// Why the writer stopped early.
enum WriterStop {
    Repository(RepositoryError),
    Cancelled,
}

/// Everything the run accumulates for its report.
#[derive(Default, Clone)]
struct Accumulator {
    /// When the run (its first attempt) started.
    started_at: DateTime<Utc>,
    /// Source statistics when this attempt started.
    stats_before: crate::ports::source::SourceStats,
    /// Retries, 429s and waits of earlier attempts of the job.
    carried_retries: u64,
    carried_429: u64,
    carried_wait_seconds: f64,
    counts: RunCounts,
    new_tracks: Vec<NewTrackEntry>,
    updated_tracks: Vec<UpdatedTrackEntry>,
    reactivated: Vec<ReactivatedTrackEntry>,
    metadata_errors: Vec<MetadataErrorEntry>,
    anomalies: Vec<ValidationAnomaly>,
    batch_latencies: Vec<Duration>,
    geocode_time: Duration,
    fetch_latency_total: Duration,
    fetch_requests: u64,
    service_retries: u64,
    processed: u64,
    drift: DriftTally,
}

/// A batch's contribution to the report, merged once it is stored.
#[derive(Default, Clone)]
struct Pending {
    new: Vec<NewTrackEntry>,
    updated: Vec<UpdatedTrackEntry>,
    churn: u64,
    unchanged: u64,
    reactivated: Vec<ReactivatedTrackEntry>,
    tracks: u64,
}

impl Accumulator {
    /// Resume from a job's carried state.
    fn restore(
        state: CarriedState,
        started_at: DateTime<Utc>,
        stats_before: crate::ports::source::SourceStats,
    ) -> Self {
        Self {
            started_at: state.started_at.unwrap_or(started_at),
            stats_before,
            carried_retries: state.retries,
            carried_429: state.responses_429,
            carried_wait_seconds: state.retry_after_wait_seconds,
            counts: state.counts,
            new_tracks: state.new_tracks,
            updated_tracks: state.updated_tracks,
            reactivated: state.reactivated,
            metadata_errors: state.metadata_errors,
            anomalies: state.anomalies,
            fetch_latency_total: Duration::from_secs_f64(
                state.fetch_latency_total_seconds.max(0.0),
            ),
            fetch_requests: state.fetch_requests,
            processed: state.processed,
            drift: state.drift,
            ..Self::default()
        }
    }

    /// What a later attempt needs to continue this one (consumes the
    /// accumulator: its lists move into the state instead of being copied).
    fn into_carried(
        self,
        started_at: DateTime<Utc>,
        stats_now: &crate::ports::source::SourceStats,
    ) -> CarriedState {
        let stats = stats_now.since(&self.stats_before);
        CarriedState {
            started_at: Some(started_at),
            retries: self.carried_retries + stats.retries + self.service_retries,
            responses_429: self.carried_429 + stats.responses_429,
            retry_after_wait_seconds: self.carried_wait_seconds
                + stats.retry_after_wait.as_secs_f64(),
            fetch_latency_total_seconds: self.fetch_latency_total.as_secs_f64(),
            fetch_requests: self.fetch_requests,
            processed: self.processed,
            counts: self.counts,
            new_tracks: self.new_tracks,
            updated_tracks: self.updated_tracks,
            reactivated: self.reactivated,
            metadata_errors: self.metadata_errors,
            anomalies: self.anomalies,
            drift: self.drift,
        }
    }

    /// Merge the clears the drift guard applied at the end of the run: each
    /// track they touched is "updated" now, with the clears among its
    /// changes.
    fn absorb_clears(&mut self, cleared: &[FieldChange], deferred: &[DeferredLoss]) {
        let counted: HashMap<(&str, &str), (&str, Counted)> = deferred
            .iter()
            .map(|d| {
                (
                    (d.slug.as_str(), d.field.as_str()),
                    (d.name.as_str(), d.counted),
                )
            })
            .collect();
        let mut by_track: std::collections::BTreeMap<&str, Vec<ChangedField>> =
            std::collections::BTreeMap::new();
        for c in cleared {
            by_track.entry(&c.slug).or_default().push(ChangedField {
                field: c.field.clone(),
                old_value: c.old_value.clone(),
                new_value: c.new_value.clone(),
            });
        }
        for (slug, changes) in by_track {
            let Some(&(name, how)) = changes
                .first()
                .and_then(|c| counted.get(&(slug, c.field.as_str())))
            else {
                continue;
            };
            match how {
                Counted::Updated => {}
                Counted::ChurnOnly => {
                    self.counts.churn_only = self.counts.churn_only.saturating_sub(1);
                    self.counts.updated += 1;
                }
                Counted::Unchanged => {
                    self.counts.unchanged = self.counts.unchanged.saturating_sub(1);
                    self.counts.updated += 1;
                }
                Counted::Neither => self.counts.updated += 1,
            }
            match self.updated_tracks.iter_mut().find(|e| e.slug == slug) {
                Some(entry) => {
                    entry.changes.extend(changes);
                    entry.changes.sort_by_key(|c| diff::field_rank(&c.field));
                }
                None => keep_first(
                    &mut self.updated_tracks,
                    [UpdatedTrackEntry {
                        slug: slug.to_owned(),
                        name: name.to_owned(),
                        changes,
                    }],
                    by_name_then_slug,
                ),
            }
        }
    }

    /// Merge a stored batch.
    fn absorb(&mut self, pending: Pending) {
        self.counts.new += pending.new.len() as u64;
        self.counts.updated += pending.updated.len() as u64;
        self.counts.churn_only += pending.churn;
        self.counts.unchanged += pending.unchanged;
        self.counts.reactivated += pending.reactivated.len() as u64;
        self.counts.db_batches += 1;
        keep_first(&mut self.new_tracks, pending.new, by_name_then_slug);
        keep_first(&mut self.updated_tracks, pending.updated, by_name_then_slug);
        keep_first(
            &mut self.reactivated,
            pending.reactivated,
            by_name_then_slug,
        );
        self.processed += pending.tracks;
    }
}

impl TrackSyncService {
    pub fn new(
        source: Arc<dyn TrackSource>,
        repository: Arc<dyn TrackRepository>,
        metrics: Arc<dyn SyncMetrics>,
        clock: Arc<dyn Clock>,
        geocoder: Option<Arc<dyn Geocoder>>,
    ) -> Self {
        Self {
            source,
            repository,
            metrics,
            clock,
            geocoder,
        }
    }

    /// Run one sync with a fresh run id.
    pub async fn run_sync(
        &self,
        options: &SyncOptions,
        report_writer: &dyn ReportWriter,
        progress: &dyn ProgressSink,
    ) -> SyncSummary {
        self.run_sync_with(options, &RunContext::default(), report_writer, progress)
            .await
    }

    /// Run one sync in a given context (job id, attempt, cancellation).
    pub async fn run_sync_with(
        &self,
        options: &SyncOptions,
        ctx: &RunContext,
        report_writer: &dyn ReportWriter,
        progress: &dyn ProgressSink,
    ) -> SyncSummary {
        let span = info_span!("track_sync", run_id = %ctx.run_id, source = %options.source, trigger = options.trigger.as_str());
        self.run_inner(options, ctx, report_writer, progress)
            .instrument(span)
            .await
    }

    async fn run_inner(
        &self,
        options: &SyncOptions,
        ctx: &RunContext,
        report_writer: &dyn ReportWriter,
        progress: &dyn ProgressSink,
    ) -> SyncSummary {
        let options = normalise_options(options);
        let started = Instant::now();
        let stats_before = self.source.stats();
        let now = self.clock.now();
        // A resumed job continues from its checkpoint: counts, report lists
        // and start time carry over, and what is stored is not fetched again.
        let (mut acc, done) = match &ctx.job {
            Some(job) => {
                let state = match &job.checkpoint.state {
                    Some(v) => {
                        serde_json::from_value::<CarriedState>(v.clone()).unwrap_or_else(|e| {
                            warn!(error = %e, "checkpoint state unreadable; counting from zero");
                            CarriedState::default()
                        })
                    }
                    None => CarriedState::default(),
                };
                let done: HashSet<String> = job.checkpoint.done_slugs.iter().cloned().collect();
                if !done.is_empty() {
                    info!(
                        done = done.len(),
                        attempt = ctx.attempt,
                        "resuming from checkpoint"
                    );
                }
                (Accumulator::restore(state, now, stats_before), done)
            }
            None => (
                Accumulator {
                    started_at: now,
                    stats_before,
                    ..Accumulator::default()
                },
                HashSet::new(),
            ),
        };
        let started_at = acc.started_at;
        let mut timings = Vec::new();
        let mut report = RunReport {
            run_id: ctx.run_id,
            source: options.source.clone(),
            trigger: options.trigger,
            attempt: ctx.attempt,
            status: RunStatus::Succeeded,
            error: None,
            started_at,
            finished_at: started_at,
            options: options.clone(),
            politeness_bound_seconds: None,
            counts: RunCounts::default(),
            stage_timings: Vec::new(),
            new_tracks: Vec::new(),
            updated_tracks: Vec::new(),
            deactivated: Vec::new(),
            reactivated: Vec::new(),
            metadata_errors: Vec::new(),
            anomalies: Vec::new(),
            skipped_rows: Vec::new(),
            guard: None,
            pending_deactivation: Vec::new(),
            drift: None,
            completeness: Completeness::default(),
            previous_completeness: None,
        };
        info!(
            mode = options.metadata.as_str(),
            concurrency = options.concurrency,
            batch_size = options.batch_size,
            "sync started"
        );
        let last_stage = std::sync::Mutex::new(None::<Stage>);
        let emit = |stage: Stage, acc: &Accumulator, total: u64, dash_started: Option<Instant>| {
            if let Ok(mut last) = last_stage.lock()
                && *last != Some(stage)
            {
                *last = Some(stage);
                info!(stage = stage.as_str(), "stage started");
            }
            progress.update(&progress_sample(stage, acc, total, started, dash_started));
        };
        emit(Stage::Starting, &acc, 0, None);

        report.previous_completeness =
            match report_writer.previous_completeness(&options.source).await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "previous completeness unavailable");
                    None
                }
            };

        // A superseded lease: another worker owns the job now; this attempt
        // must not write its report over that worker's.
        let mut lease_lost = false;
        // Every stage below may stop the run early (`break 'stages`); one
        // place closes every path with counters, report and metrics.
        'stages: {
            // 1. Catalogue.
            emit(Stage::Catalogue, &acc, 0, None);
            let t = Instant::now();
            let catalogue = self.source.catalogue().await;
            timings.push(timing(Stage::Catalogue, t.elapsed(), None));
            let catalogue = match catalogue {
                Ok(c) => c,
                Err(e) => {
                    let status = if e.class == SourceErrorClass::Format {
                        RunStatus::FormatError
                    } else {
                        RunStatus::Failed
                    };
                    warn!(error = %e, "catalogue unavailable");
                    report.status = status;
                    report.error = Some(format!("catalogue: {e}"));
                    break 'stages;
                }
            };
            let total = catalogue.entries.len() as u64;
            acc.counts.catalogue_rows = total;
            acc.counts.skipped_rows = catalogue.skipped.len() as u64;
            keep(&mut report.skipped_rows, catalogue.skipped.iter().cloned());
            info!(
                tracks = total,
                skipped = catalogue.skipped.len(),
                "catalogue read"
            );

            // 2. Snapshot and plan.
            emit(Stage::Diff, &acc, total, None);
            let t = Instant::now();
            let snapshot = match self.repository.snapshot(&options.source).await {
                Ok(s) => s,
                Err(e) => {
                    report.status = RunStatus::Failed;
                    report.error = Some(format!("loading stored tracks: {e}"));
                    break 'stages;
                }
            };
            let snapshot: HashMap<String, TrackSnapshot> =
                snapshot.into_iter().map(|s| (s.slug.clone(), s)).collect();
            let active_before = snapshot.values().filter(|s| s.is_active).count() as u64;
            timings.push(timing(
                Stage::Diff,
                t.elapsed(),
                Some(format!("{} stored tracks", snapshot.len())),
            ));

            // 3–6. Dashboards, validation, geocoding, batches.
            let dash_started = Instant::now();
            emit(Stage::Dashboards, &acc, total, Some(dash_started));
            let SourceCatalogue {
                fetched_at: catalogue_time,
                entries,
                ..
            } = catalogue;
            let seen_slugs: Vec<String> = entries.iter().map(|e| e.slug.clone()).collect();
            let entries: Vec<SourceEntry> = if done.is_empty() {
                entries
            } else {
                entries
                    .into_iter()
                    .filter(|e| !done.contains(&e.slug))
                    .collect()
            };
            let stop = self
                .fetch_and_store(
                    &options,
                    ctx,
                    entries,
                    &snapshot,
                    catalogue_time,
                    &mut acc,
                    &|acc| emit(Stage::Dashboards, acc, total, Some(dash_started)),
                )
                .await;
            let db_total: Duration = acc.batch_latencies.iter().sum();
            timings.push(timing(
                Stage::Dashboards,
                dash_started.elapsed(),
                Some(format!(
                    "{} fetched, {} not modified, {} failed",
                    acc.counts.dashboards_fetched,
                    acc.counts.dashboards_not_modified,
                    acc.counts.dashboards_failed
                )),
            ));
            timings.push(timing(
                Stage::Database,
                db_total,
                Some(batch_detail(&acc.batch_latencies)),
            ));
            if self.geocoder.is_some() {
                timings.push(timing(
                    Stage::Geocoding,
                    acc.geocode_time,
                    Some(format!(
                        "{} addresses",
                        acc.counts.geocoded + acc.counts.geocode_failures
                    )),
                ));
            }
            if let Some(stop) = stop {
                match stop {
                    WriterStop::Cancelled => {
                        report.status = RunStatus::Cancelled;
                        report.error = Some("cancelled".to_owned());
                    }
                    WriterStop::Repository(e) => {
                        report.status = RunStatus::Failed;
                        lease_lost |= matches!(e, RepositoryError::LeaseLost(_));
                        report.error = Some(format!("storing tracks: {e}"));
                    }
                }
                break 'stages;
            }

            // 7. Guarded deactivation and sync state.
            emit(Stage::Deactivation, &acc, total, Some(dash_started));
            let t = Instant::now();
            let seen: HashSet<&str> = seen_slugs.iter().map(String::as_str).collect();
            let missing = snapshot
                .values()
                .filter(|s| s.is_active && !seen.contains(s.slug.as_str()))
                .count() as u64;
            let guard = guard_decision(active_before, missing, &options);
            if !guard.allowed {
                warn!(missing, active_before, "deactivation guard refused");
            }
            // The drift guard's decision: the losses of fields not held are
            // cleared in the closing transaction.
            let (drift, apply) = acc.drift.decide(
                options.drift_max_loss_share,
                options.drift_min_tracks,
                &options.accept_drift,
            );
            let apply: Vec<DeferredLoss> = apply.into_iter().cloned().collect();
            let held: Vec<String> = drift
                .iter()
                .flat_map(|d| d.held())
                .map(|f| f.field.clone())
                .collect();
            report.drift = drift;
            if !held.is_empty() {
                warn!(
                    fields = held.join(","),
                    "markup drift suspected; fields held"
                );
            }
            let finish = FinishRun {
                run_id: ctx.run_id,
                source: options.source.clone(),
                finished_at: self.clock.now(),
                listed: seen_slugs,
                deactivate: guard.allowed,
                // Forced: the operator checked that the catalogue really
                // shrank; no grace period either.
                deactivate_after_missing_runs: if options.force {
                    1
                } else {
                    options.deactivate_after_missing_runs.max(1)
                },
                clear_fields: drift::clears(&apply),
                lease: ctx.job.as_ref().map(|j| j.lease),
            };
            match self.repository.finish_run(&finish).await {
                Ok(outcome) => {
                    acc.counts.deactivated = outcome.deactivated.len() as u64;
                    acc.counts.pending_deactivation = outcome.pending.len() as u64;
                    report.deactivated = first_entries(outcome.deactivated, by_name_then_slug);
                    report.pending_deactivation = first_entries(outcome.pending, by_name_then_slug);
                    acc.absorb_clears(&outcome.cleared, &apply);
                    let mut errors = Vec::new();
                    if !held.is_empty() {
                        report.status = RunStatus::DriftSuspected;
                        errors.push(format!(
                            "markup drift suspected: {} vanished from too many tracks and {} kept as stored for every track (accept the change with --accept-drift)",
                            held.join(", "),
                            if held.len() == 1 { "was" } else { "were" }
                        ));
                    } else if !guard.allowed {
                        report.status = RunStatus::GuardRefused;
                    }
                    errors.extend(guard.reason.clone().filter(|_| !guard.allowed));
                    if !errors.is_empty() {
                        report.error = Some(errors.join("; "));
                    }
                }
                Err(e) => {
                    report.status = RunStatus::Failed;
                    lease_lost |= matches!(e, RepositoryError::LeaseLost(_));
                    report.error = Some(format!("finishing the run: {e}"));
                }
            }
            report.guard = Some(guard);
            timings.push(timing(Stage::Deactivation, t.elapsed(), None));
        }
        self.finish(
            report,
            acc,
            timings,
            started,
            (!lease_lost).then_some(report_writer),
            progress,
        )
        .await
    }

    /// Fetch dashboards with bounded concurrency and store them in batches.
    #[expect(clippy::too_many_arguments, reason = "one call site, all run state")]
    async fn fetch_and_store(
        &self,
        options: &SyncOptions,
        ctx: &RunContext,
        entries: Vec<SourceEntry>,
        snapshot: &HashMap<String, TrackSnapshot>,
        catalogue_time: DateTime<Utc>,
        acc: &mut Accumulator,
        on_progress: &(dyn Fn(&Accumulator) + Sync),
    ) -> Option<WriterStop> {
        let (tx, rx) = mpsc::channel::<(Fetched, Duration)>(options.batch_size.max(1) * 2);
        // Every request holds a permit until its batch is stored, so at most
        // `batch_size + concurrency` dashboards are ever fetched but not yet
        // stored: the most a crashed worker loses (its successor, resuming
        // from the checkpoint, fetches those again).
        let unstored = Arc::new(tokio::sync::Semaphore::new(
            options.batch_size.max(1) + options.concurrency.max(1),
        ));
        let in_flight = AtomicU64::new(0);
        let now = self.clock.now();
        let entries_len = entries.len() as u64;

        let fetcher = async {
            let mut stream = futures::stream::iter(entries)
                .map(|entry| {
                    let plan = plan_fetch(options, snapshot.get(&entry.slug), &entry, now);
                    let in_flight = &in_flight;
                    let unstored = unstored.clone();
                    async move {
                        let Some(validators) = plan else {
                            return (
                                Fetched {
                                    entry,
                                    result: FetchResult::Skipped,
                                    extra_tries: 0,
                                    permit: None,
                                },
                                Duration::ZERO,
                            );
                        };
                        if ctx.cancel.is_cancelled() {
                            return (
                                Fetched {
                                    entry,
                                    result: FetchResult::Dropped,
                                    extra_tries: 0,
                                    permit: None,
                                },
                                Duration::ZERO,
                            );
                        }
                        let permit = unstored.acquire_owned().await.ok();
                        let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        self.metrics.set_in_flight(n);
                        let t = Instant::now();
                        let (result, extra_tries) = self
                            .fetch_on_own_task(options, &entry.slug, validators)
                            .await;
                        let elapsed = t.elapsed();
                        let n = in_flight.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
                        self.metrics.set_in_flight(n);
                        let outcome = match &result {
                            FetchResult::Outcome(DashboardOutcome::Fetched { .. }) => "fetched",
                            FetchResult::Outcome(DashboardOutcome::NotModified { .. }) => {
                                "not_modified"
                            }
                            FetchResult::Failed(e) => e.class.as_str(),
                            FetchResult::Skipped | FetchResult::Dropped => "skipped",
                        };
                        self.metrics.dashboard_fetch(elapsed, outcome);
                        (
                            Fetched {
                                entry,
                                result,
                                extra_tries,
                                permit,
                            },
                            elapsed,
                        )
                    }
                })
                .buffer_unordered(options.concurrency.max(1));
            while let Some(item) = stream.next().await {
                // Once cancelled, nothing new is requested; the rest of the
                // catalogue drains through without I/O and is not stored.
                if matches!(item.0.result, FetchResult::Dropped)
                    || (ctx.cancel.is_cancelled() && matches!(item.0.result, FetchResult::Skipped))
                {
                    continue;
                }
                if tx.send(item).await.is_err() {
                    break; // the writer stopped
                }
            }
            drop(tx);
        };

        let writer = async {
            // The receiver lives in this future: when the writer stops early,
            // it is dropped and the fetcher's next send fails instead of
            // waiting forever on a full channel.
            let mut rx = rx;
            let mut batch: Vec<Fetched> = Vec::with_capacity(options.batch_size);
            let mut permits = Vec::with_capacity(options.batch_size);
            // Catalogue entries of this attempt not yet stored: what the
            // drift guard may still see.
            let mut remaining = entries_len;
            while let Some((mut fetched, latency)) = rx.recv().await {
                permits.extend(fetched.permit.take());
                acc.service_retries += u64::from(fetched.extra_tries);
                if !matches!(fetched.result, FetchResult::Skipped) {
                    acc.fetch_latency_total += latency;
                    acc.fetch_requests += 1;
                }
                batch.push(fetched);
                if batch.len() >= options.batch_size {
                    let full =
                        std::mem::replace(&mut batch, Vec::with_capacity(options.batch_size));
                    if let Err(e) = self
                        .store_batch(options, ctx, full, snapshot, catalogue_time, acc)
                        .await
                    {
                        return Some(WriterStop::Repository(e));
                    }
                    permits.clear();
                    remaining = remaining.saturating_sub(options.batch_size as u64);
                    acc.drift.trim(
                        remaining,
                        options.drift_max_loss_share,
                        options.drift_min_tracks,
                    );
                    on_progress(acc);
                }
            }
            // What was fetched is stored even when cancelled: a cancel
            // finishes the batch at hand, and the checkpoint keeps it.
            if !batch.is_empty() {
                if let Err(e) = self
                    .store_batch(options, ctx, batch, snapshot, catalogue_time, acc)
                    .await
                {
                    return Some(WriterStop::Repository(e));
                }
                on_progress(acc);
            }
            ctx.cancel.is_cancelled().then_some(WriterStop::Cancelled)
        };

        let ((), stop) = tokio::join!(fetcher, writer);
        stop
    }

    /// One dashboard ([`fetch_with_retries`]) on a task of its own. The
    /// response is read and its page parsed (about a millisecond of CPU)
    /// on any of the runtime's threads, in parallel with the other requests
    /// in flight; on the pipeline's own task, six responses of one round
    /// waited for each other's parsing and every round grew by the sum.
    /// Dropping the returned future (a cancelled or aborted run) aborts the
    /// task. A panic in the source is this dashboard's failure, not the
    /// run's.
    async fn fetch_on_own_task(
        &self,
        options: &SyncOptions,
        slug: &str,
        validators: Option<HttpValidators>,
    ) -> (FetchResult, u32) {
        let task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            fetch_with_retries(
                self.source.clone(),
                slug.to_owned(),
                validators,
                options.dashboard_extra_tries,
                options.dashboard_retry_delay,
            )
            // The run's span (a job's id, attempt, worker) on its logs too.
            .instrument(tracing::Span::current()),
        ));
        match task.await {
            Ok(done) => done,
            Err(e) => {
                warn!(slug, error = %e, "fetching the dashboard panicked");
                (
                    FetchResult::Failed(SourceError {
                        class: SourceErrorClass::Format,
                        message: format!("reading the page failed unexpectedly: {e}"),
                        attempts: 1,
                    }),
                    0,
                )
            }
        }
    }

    /// Validate, geocode, diff and store one batch.
    async fn store_batch(
        &self,
        options: &SyncOptions,
        ctx: &RunContext,
        batch: Vec<Fetched>,
        snapshot: &HashMap<String, TrackSnapshot>,
        catalogue_time: DateTime<Utc>,
        acc: &mut Accumulator,
    ) -> Result<(), RepositoryError> {
        let existing: Vec<String> = batch
            .iter()
            .filter(|f| snapshot.contains_key(&f.entry.slug))
            .map(|f| f.entry.slug.clone())
            .collect();
        let stored: HashMap<String, StoredTrack> = if existing.is_empty() {
            HashMap::new()
        } else {
            self.repository
                .get_tracks(&options.source, &existing)
                .await?
                .into_iter()
                .map(|t| (t.slug.clone(), t))
                .collect()
        };

        let mut upserts = Vec::with_capacity(batch.len());
        let mut changes = Vec::new();
        let mut pending = Pending::default();
        let mut geocode_cache: HashMap<String, Option<GeoPoint>> = HashMap::new();

        for Fetched {
            mut entry, result, ..
        } in batch
        {
            let slug = entry.slug.clone();
            let old = stored.get(&slug);
            if let Some(old) = old {
                diff::settle_activity_time(&old.catalogue, &mut entry.catalogue);
            }
            let metadata = match result {
                FetchResult::Skipped | FetchResult::Dropped => {
                    acc.counts.dashboards_skipped += 1;
                    MetadataUpdate::Unknown
                }
                FetchResult::Failed(e) => {
                    acc.counts.dashboards_failed += 1;
                    keep_first(
                        &mut acc.metadata_errors,
                        [MetadataErrorEntry {
                            slug: slug.clone(),
                            class: e.class.as_str().to_owned(),
                            message: e.message.clone(),
                            attempts: e.attempts,
                        }],
                        by_slug,
                    );
                    MetadataUpdate::Unknown
                }
                FetchResult::Outcome(DashboardOutcome::NotModified {
                    validators,
                    fetched_at,
                    ..
                }) => {
                    acc.counts.dashboards_not_modified += 1;
                    MetadataUpdate::NotModified {
                        fetched_at,
                        validators,
                    }
                }
                FetchResult::Outcome(DashboardOutcome::Fetched {
                    mut profile,
                    source_url,
                    validators,
                    fetched_at,
                    ..
                }) => {
                    acc.counts.dashboards_fetched += 1;
                    let anomalies = sanitize_profile(&slug, &mut profile);
                    acc.counts.validation_anomalies += anomalies.len() as u64;
                    keep_first(&mut acc.anomalies, anomalies, by_slug_then_field);
                    let content_hash = content_hash(&profile);
                    MetadataUpdate::Fetched(Box::new(FetchedMetadata {
                        profile: *profile,
                        fetched_at,
                        source_url,
                        validators,
                        content_hash: Some(content_hash),
                    }))
                }
            };

            // The drift guard: a field the page lost is kept as stored until
            // the run knows whether the markup changed (see `drift`). What
            // is then stored is not the page: no hash, no validators, so
            // the next run fetches it in full.
            let mut metadata = metadata;
            let mut held = 0;
            if let (MetadataUpdate::Fetched(m), Some(old)) = (&mut metadata, old) {
                held = acc.drift.observe(
                    &slug,
                    &entry.catalogue.name,
                    &old.profile,
                    &mut m.profile,
                    &options.accept_drift,
                );
                if held > 0 {
                    m.content_hash = None;
                    m.validators = HttpValidators::default();
                }
            }

            // The profile as it will be stored.
            let profile: TrackProfile = match &metadata {
                MetadataUpdate::Fetched(m) => m.profile.clone(),
                _ => old.map(|o| o.profile.clone()).unwrap_or_default(),
            };
            let geo = self
                .geocode_decision(old, &metadata, &profile, &mut geocode_cache, acc)
                .await;
            let geo_after: Option<GeoPoint> = match &geo {
                GeoUpdate::Keep => old.and_then(|o| o.geo.clone()),
                GeoUpdate::Set(g) => Some(g.clone()),
                GeoUpdate::Clear => None,
            };

            match old {
                // Not stored (or deleted since the snapshot): new.
                None => {
                    pending.new.push(NewTrackEntry {
                        slug: slug.clone(),
                        name: entry.catalogue.name.clone(),
                        city: profile.city.clone(),
                        state: profile.state.clone(),
                        country_code: profile.country_code.clone(),
                        track_url: entry.catalogue.track_url.clone(),
                    });
                }
                Some(old) => {
                    let d = diff_track(old, &entry.catalogue, &profile, geo_after.as_ref());
                    if !old.is_active {
                        pending.reactivated.push(ReactivatedTrackEntry {
                            slug: slug.clone(),
                            name: entry.catalogue.name.clone(),
                            inactive_since: old.deactivated_at,
                        });
                    }
                    let counted = if !d.profile.is_empty() {
                        Counted::Updated
                    } else if !d.churn.is_empty() {
                        Counted::ChurnOnly
                    } else if old.is_active {
                        Counted::Unchanged
                    } else {
                        Counted::Neither
                    };
                    if held > 0 {
                        acc.drift.counted(&slug, counted);
                    }
                    match counted {
                        Counted::Updated => {
                            changes.extend(d.profile.iter().map(|c| FieldChange {
                                slug: slug.clone(),
                                field: c.field.clone(),
                                old_value: c.old_value.clone(),
                                new_value: c.new_value.clone(),
                            }));
                            pending.updated.push(UpdatedTrackEntry {
                                slug: slug.clone(),
                                name: entry.catalogue.name.clone(),
                                changes: d.profile,
                            });
                        }
                        Counted::ChurnOnly => pending.churn += 1,
                        Counted::Unchanged => pending.unchanged += 1,
                        Counted::Neither => {}
                    }
                }
            }
            upserts.push(TrackUpsert {
                slug,
                catalogue: entry.catalogue,
                metadata,
                geo,
            });
        }

        pending.tracks = upserts.len() as u64;
        // A job's checkpoint describes the run as it stands once this batch
        // is stored, and commits with it.
        let checkpoint = match &ctx.job {
            Some(job) => {
                let mut next = acc.clone();
                next.absorb(pending.clone());
                let state = next.into_carried(acc.started_at, &self.source.stats());
                let state = serde_json::to_value(&state).map_err(|e| {
                    RepositoryError::Rejected(format!("encoding the checkpoint: {e}"))
                })?;
                Some(BatchCheckpoint {
                    lease: job.lease,
                    state,
                })
            }
            None => None,
        };
        let batch = UpsertBatch {
            run_id: ctx.run_id,
            source: options.source.clone(),
            seen_at: catalogue_time,
            tracks: upserts,
            changes,
            checkpoint,
        };
        let t = Instant::now();
        let result = self.repository.apply_batch(&batch).await;
        let latency = t.elapsed();
        self.metrics.db_batch(latency, result.is_ok());
        let outcome = result?;
        acc.batch_latencies.push(latency);
        acc.counts.db_rows_written += outcome.inserted + outcome.updated;
        acc.absorb(pending);
        Ok(())
    }

    /// Whether (and how) this track's coordinates change this run.
    async fn geocode_decision(
        &self,
        old: Option<&StoredTrack>,
        metadata: &MetadataUpdate,
        profile: &TrackProfile,
        cache: &mut HashMap<String, Option<GeoPoint>>,
        acc: &mut Accumulator,
    ) -> GeoUpdate {
        let Some(geocoder) = &self.geocoder else {
            return GeoUpdate::Keep;
        };
        if !matches!(metadata, MetadataUpdate::Fetched(_)) {
            return GeoUpdate::Keep;
        }
        let Some(query) = address_query(profile) else {
            return GeoUpdate::Keep;
        };
        let stored_geo = old.and_then(|o| o.geo.as_ref());
        if stored_geo.is_some_and(|g| g.query == query) {
            return GeoUpdate::Keep;
        }
        if let Some(hit) = cache.get(&query) {
            return hit.clone().map_or(GeoUpdate::Keep, GeoUpdate::Set);
        }
        let t = Instant::now();
        let result = geocoder.geocode(&query, profile.country_code.clone()).await;
        acc.geocode_time += t.elapsed();
        let point = match result {
            Ok(Some(c)) if validate_coordinates(c.latitude, c.longitude).is_ok() => {
                acc.counts.geocoded += 1;
                Some(GeoPoint {
                    latitude: c.latitude,
                    longitude: c.longitude,
                    provider: geocoder.provider(),
                    query: query.clone(),
                    geocoded_at: self.clock.now(),
                })
            }
            Ok(_) => {
                acc.counts.geocode_failures += 1;
                None
            }
            Err(e) => {
                warn!(error = %e, query, "geocoding failed");
                acc.counts.geocode_failures += 1;
                None
            }
        };
        cache.insert(query, point.clone());
        point.map_or(GeoUpdate::Keep, GeoUpdate::Set)
    }

    /// Close the run: counters, completeness, report, metrics, summary.
    async fn finish(
        &self,
        mut report: RunReport,
        mut acc: Accumulator,
        mut timings: Vec<StageTiming>,
        started: Instant,
        report_writer: Option<&dyn ReportWriter>,
        progress: &dyn ProgressSink,
    ) -> SyncSummary {
        let stats = self.source.stats().since(&acc.stats_before);
        acc.counts.retries = acc.carried_retries + stats.retries + acc.service_retries;
        acc.counts.responses_429 = acc.carried_429 + stats.responses_429;
        acc.counts.retry_after_wait_seconds =
            acc.carried_wait_seconds + stats.retry_after_wait.as_secs_f64();
        if acc.fetch_requests > 0 {
            let mean = acc.fetch_latency_total.as_secs_f64() / acc.fetch_requests as f64;
            report.politeness_bound_seconds =
                Some(acc.fetch_requests as f64 * mean / report.options.concurrency.max(1) as f64);
        }
        report.completeness = match self.repository.completeness(&report.source).await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "completeness unavailable");
                Completeness::default()
            }
        };

        // A run that stopped before its drift decision still reports what
        // the guard saw.
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
        report.finished_at = self.clock.now();
        report.counts = acc.counts.clone();
        // Lists in a stable order (dashboards arrive in completion order),
        // each the first MAX_REPORT_ENTRIES of that order, so the same site
        // gives the same report whichever path ran it.
        report.new_tracks = first_entries(std::mem::take(&mut acc.new_tracks), by_name_then_slug);
        report.updated_tracks =
            first_entries(std::mem::take(&mut acc.updated_tracks), by_name_then_slug);
        report.reactivated = first_entries(std::mem::take(&mut acc.reactivated), by_name_then_slug);
        report.metadata_errors = first_entries(std::mem::take(&mut acc.metadata_errors), by_slug);
        report.anomalies = first_entries(std::mem::take(&mut acc.anomalies), by_slug_then_field);
        timings.push(timing(Stage::Report, Duration::ZERO, None));
        report.stage_timings = timings;
        progress.update(&progress_sample(
            Stage::Report,
            &acc,
            report.counts.catalogue_rows,
            started,
            None,
        ));
        let location = match report_writer {
            Some(w) => w.write(&report).await,
            None => Err(crate::ports::report::ReportError::Io(
                "not written: the job's lease passed to another worker".to_owned(),
            )),
        };
        let report_time = t.elapsed();
        if let Some(last) = report.stage_timings.last_mut() {
            last.seconds = report_time.as_secs_f64();
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
        self.metrics.run_finished(&report);
        progress.update(&progress_sample(
            Stage::Done,
            &acc,
            report.counts.catalogue_rows,
            started,
            None,
        ));
        info!(
            status = report.status.as_str(),
            new = report.counts.new,
            updated = report.counts.updated,
            deactivated = report.counts.deactivated,
            failures = report.counts.dashboards_failed,
            seconds = report.duration().as_secs_f64(),
            "sync finished"
        );
        let mut summary = SyncSummary::from_report(&report, path, file);
        summary.lease_lost = report_writer.is_none();
        summary
    }
}

/// One dashboard, with the service's extra tries after the source's own
/// retries for transient failures.
async fn fetch_with_retries(
    source: Arc<dyn TrackSource>,
    slug: String,
    validators: Option<HttpValidators>,
    extra_tries: u32,
    retry_delay: Duration,
) -> (FetchResult, u32) {
    let slug = slug.as_str();
    let mut attempts = 0u32;
    let mut try_no = 0u32;
    loop {
        match source.dashboard(slug, validators.clone()).await {
            Ok(outcome) => return (FetchResult::Outcome(outcome), try_no),
            Err(mut e) => {
                attempts += e.attempts.max(1);
                if e.class == SourceErrorClass::Transient && try_no < extra_tries {
                    try_no += 1;
                    warn!(slug, error = %e, try_no, "dashboard failed, trying again");
                    tokio::time::sleep(retry_delay * try_no).await;
                    continue;
                }
                e.attempts = attempts;
                return (FetchResult::Failed(e), try_no);
            }
        }
    }
}

/// Append to a report list up to [`MAX_REPORT_ENTRIES`], in arrival order
/// (for the catalogue's skipped rows: its order is the page's); the caller
/// counts.
fn keep<T>(list: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    let room = MAX_REPORT_ENTRIES.saturating_sub(list.len());
    list.extend(items.into_iter().take(room));
}

/// A track in a report list, which lists tracks by name, then slug.
trait ListedTrack {
    fn name(&self) -> &str;
    fn slug(&self) -> &str;
}

macro_rules! listed_track {
    ($($entry:ty),*) => {$(
        impl ListedTrack for $entry {
            fn name(&self) -> &str {
                &self.name
            }
            fn slug(&self) -> &str {
                &self.slug
            }
        }
    )*};
}
listed_track!(
    NewTrackEntry,
    UpdatedTrackEntry,
    ReactivatedTrackEntry,
    DeactivatedTrack,
    PendingDeactivation
);

fn by_name_then_slug<T: ListedTrack>(a: &T, b: &T) -> std::cmp::Ordering {
    (a.name(), a.slug()).cmp(&(b.name(), b.slug()))
}

fn by_slug(a: &MetadataErrorEntry, b: &MetadataErrorEntry) -> std::cmp::Ordering {
    a.slug.cmp(&b.slug)
}

fn by_slug_then_field(a: &ValidationAnomaly, b: &ValidationAnomaly) -> std::cmp::Ordering {
    (&a.slug, &a.field).cmp(&(&b.slug, &b.field))
}

/// Add to a report list that keeps the first [`MAX_REPORT_ENTRIES`] in
/// `order`, whatever order they arrive in (dashboards complete in a
/// different order each run): the list may grow to twice the cap, then is
/// sorted and cut back, so memory stays bounded and what is cut could
/// never be among the first. [`first_entries`] gives the final list. The
/// caller counts.
fn keep_first<T>(
    list: &mut Vec<T>,
    items: impl IntoIterator<Item = T>,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    list.extend(items);
    if list.len() >= 2 * MAX_REPORT_ENTRIES {
        list.sort_by(&order);
        list.truncate(MAX_REPORT_ENTRIES);
    }
}

/// A list built by [`keep_first`], sorted and cut to the cap.
fn first_entries<T>(mut list: Vec<T>, order: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    list.sort_by(order);
    list.truncate(MAX_REPORT_ENTRIES);
    list
}

/// Clamp options to sane ranges.
fn normalise_options(options: &SyncOptions) -> SyncOptions {
    let mut o = options.clone();
    o.concurrency = o.concurrency.clamp(1, 64);
    o.batch_size = o.batch_size.clamp(1, 10_000);
    o.guard_max_deactivate_share = o.guard_max_deactivate_share.clamp(0.0, 1.0);
    o.drift_max_loss_share = o.drift_max_loss_share.clamp(0.0, 1.0);
    o.deactivate_after_missing_runs = o.deactivate_after_missing_runs.max(1);
    o
}

/// Which dashboards to request, and with which validators. `None`: skip.
fn plan_fetch(
    options: &SyncOptions,
    stored: Option<&TrackSnapshot>,
    entry: &SourceEntry,
    now: DateTime<Utc>,
) -> Option<Option<HttpValidators>> {
    match options.metadata {
        MetadataMode::None => None,
        MetadataMode::All => Some(None),
        MetadataMode::Changed => {
            let Some(stored) = stored else {
                return Some(None); // new track
            };
            let Some(fetched_at) = stored.metadata_fetched_at else {
                return Some(None); // never fetched
            };
            let validators = Some(stored.validators.clone())
                .filter(|v| v.etag.is_some() || v.last_modified.is_some());
            let ttl =
                chrono::Duration::from_std(options.metadata_ttl).unwrap_or(chrono::Duration::MAX);
            let stale = now.signed_duration_since(fetched_at) > ttl;
            let activity_moved = entry
                .catalogue
                .last_updated_at
                .is_some_and(|t| t > fetched_at);
            if stale || activity_moved || !stored.is_active || stored.content_hash.is_none() {
                Some(validators)
            } else {
                None
            }
        }
    }
}

/// The guard: refuse to deactivate more than the allowed share of active
/// tracks unless forced.
fn guard_decision(active_before: u64, missing: u64, options: &SyncOptions) -> GuardDecision {
    let share = if active_before == 0 {
        0.0
    } else {
        missing as f64 / active_before as f64
    };
    let over = share > options.guard_max_deactivate_share;
    let allowed = !over || options.force;
    GuardDecision {
        active_before,
        missing,
        share,
        max_share: options.guard_max_deactivate_share,
        forced: options.force && over,
        allowed,
        reason: (!allowed).then(|| {
            format!(
                "deactivation refused: {missing} of {active_before} active tracks ({:.1}%) are missing from the catalogue, above the {:.0}% limit; nothing was deactivated (force to override)",
                share * 100.0,
                options.guard_max_deactivate_share * 100.0
            )
        }),
    }
}

/// A stage's timing, logged as the stage's finish event.
fn timing(stage: Stage, d: Duration, detail: Option<String>) -> StageTiming {
    info!(
        stage = stage.as_str(),
        seconds = d.as_secs_f64(),
        detail = detail.as_deref().unwrap_or(""),
        "stage finished"
    );
    StageTiming {
        stage,
        seconds: d.as_secs_f64(),
        detail,
    }
}

fn batch_detail(latencies: &[Duration]) -> String {
    if latencies.is_empty() {
        return "no batches".to_owned();
    }
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let idx = ((sorted.len() as f64 * 0.95).ceil() as usize).saturating_sub(1);
    let p95 = sorted.get(idx).copied().unwrap_or_default();
    format!("{} batches, p95 {} ms", sorted.len(), p95.as_millis())
}

fn progress_sample(
    stage: Stage,
    acc: &Accumulator,
    total: u64,
    started: Instant,
    dash_started: Option<Instant>,
) -> Progress {
    let elapsed = started.elapsed();
    let (rate, eta) = match dash_started {
        Some(ds) if acc.processed > 0 => {
            let secs = ds.elapsed().as_secs_f64().max(1e-3);
            let rate = acc.processed as f64 / secs;
            let left = total.saturating_sub(acc.processed) as f64;
            (rate, Some(Duration::from_secs_f64(left / rate)))
        }
        // After the dashboards (report, done): the run's average, no ETA.
        None if acc.processed > 0 => (acc.processed as f64 / elapsed.as_secs_f64().max(1e-3), None),
        _ => (0.0, None),
    };
    Progress {
        stage,
        processed: acc.processed,
        total,
        failures: acc.counts.dashboards_failed,
        elapsed,
        rate_per_second: rate,
        eta,
    }
}

/// Re-exported for adapters that format coordinates like the report does.
pub use diff::format_coordinates;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> NewTrackEntry {
        NewTrackEntry {
            slug: format!("track-{i:05}"),
            // Names collide in pairs, so the slug decides between them.
            name: format!("Track {:05}", i / 2),
            city: None,
            state: None,
            country_code: None,
            track_url: String::new(),
        }
    }

    /// A permutation of 0..n (a fixed stride coprime with n).
    fn shuffled(n: usize, stride: usize) -> Vec<usize> {
        (0..n).map(|i| (i * stride) % n).collect()
    }

    #[test]
    fn capped_lists_keep_the_first_entries_whatever_the_arrival_order() {
        let n = 2 * MAX_REPORT_ENTRIES + 537;
        let expected: Vec<NewTrackEntry> = (0..MAX_REPORT_ENTRIES).map(entry).collect();
        for (stride, chunk) in [(1, 7), (7919, 50), (n - 1, 1), (3, 3_000)] {
            let order = shuffled(n, stride);
            let mut list = Vec::new();
            for part in order.chunks(chunk) {
                keep_first(&mut list, part.iter().map(|&i| entry(i)), by_name_then_slug);
                assert!(
                    list.len() < 2 * MAX_REPORT_ENTRIES + chunk,
                    "memory stays bounded"
                );
            }
            assert_eq!(
                first_entries(list, by_name_then_slug),
                expected,
                "stride {stride}, chunks of {chunk}"
            );
        }
    }

    #[test]
    fn short_lists_are_only_sorted() {
        let mut list = Vec::new();
        keep_first(&mut list, [entry(9), entry(2), entry(3)], by_name_then_slug);
        let slugs: Vec<String> = first_entries(list, by_name_then_slug)
            .into_iter()
            .map(|e| e.slug)
            .collect();
        assert_eq!(slugs, ["track-00002", "track-00003", "track-00009"]);
    }
}
