#![doc = include_str!("../README.md")]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use ingest_core::{Completeness, RunReport, RunStatus, Stage, SyncMetrics};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

pub use prometheus_client;

/// The `Content-Type` of [`Metrics::render`]'s output: OpenMetrics text 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket bounds of `liverc_sync_run_duration_seconds`: 1 s to 1 h.
pub const RUN_DURATION_BUCKETS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 2700.0, 3600.0,
];

/// Bucket bounds of `liverc_sync_stage_duration_seconds`: 10 ms to 1 h.
pub const STAGE_DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

/// The stages a run times (`RunReport::stage_timings`); each has a
/// `liverc_sync_stage_duration_seconds` series from the start.
pub const TIMED_STAGES: [Stage; 7] = [
    Stage::Catalogue,
    Stage::Diff,
    Stage::Dashboards,
    Stage::Geocoding,
    Stage::Database,
    Stage::Deactivation,
    Stage::Report,
];

/// The HTTP statuses `liverc_responses_total` has a series for from the start.
/// (The LiveRC connector's classes: `liverc::ResponseClasses::LABELS`.)
pub const INITIAL_RESPONSE_STATUSES: [&str; 8] =
    ["2xx", "304", "3xx", "404", "410", "429", "4xx", "5xx"];

/// Bucket bounds of `liverc_dashboard_fetch_duration_seconds`: 10 ms to 60 s.
pub const DASHBOARD_FETCH_BUCKETS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// Bucket bounds of `liverc_db_batch_duration_seconds`: 1 ms to 10 s.
pub const DB_BATCH_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct `outcome` values kept for dashboard fetches; further ones are
/// counted as `other`, so a caller passing free text cannot blow up the
/// number of series.
pub const MAX_FETCH_OUTCOMES: usize = 32;

/// Dashboard outcomes that have a series from the start (they count
/// towards [`MAX_FETCH_OUTCOMES`]).
pub const INITIAL_FETCH_OUTCOMES: [&str; 2] = ["fetched", "not_modified"];

/// The outcome used once [`MAX_FETCH_OUTCOMES`] is reached.
pub const OTHER_OUTCOME: &str = "other";

/// Every run outcome; `liverc_sync_runs_total` has a series for each from
/// the start.
pub const RUN_STATUSES: [RunStatus; 6] = [
    RunStatus::Succeeded,
    RunStatus::GuardRefused,
    RunStatus::DriftSuspected,
    RunStatus::FormatError,
    RunStatus::Failed,
    RunStatus::Cancelled,
];

/// The completeness fields, as the `field` label spells them.
pub const COMPLETENESS_FIELDS: [&str; 5] = ["address", "phone", "email", "website", "coordinates"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OkLabels {
    ok: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FieldLabels {
    field: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetLabels {
    met: bool,
}

/// A gauge that has no series until it is first set: a value known only
/// once a run has finished is absent before, rather than a zero that a
/// Prometheus would believe.
type LateGauge = Family<NoLabels, Gauge>;

/// The label set of a series without labels.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoLabels {}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;
type GaugeF64 = Gauge<f64, AtomicU64>;

fn run_duration_histogram() -> Histogram {
    Histogram::new(RUN_DURATION_BUCKETS)
}

fn stage_duration_histogram() -> Histogram {
    Histogram::new(STAGE_DURATION_BUCKETS)
}

fn dashboard_fetch_histogram() -> Histogram {
    Histogram::new(DASHBOARD_FETCH_BUCKETS)
}

fn db_batch_histogram() -> Histogram {
    Histogram::new(DB_BATCH_BUCKETS)
}

/// The sync's metrics and the registry that exposes them.
///
/// Live observations arrive through [`SyncMetrics`] as they happen; the
/// run's counters are taken once, in [`SyncMetrics::run_finished`], from the
/// same [`RunReport`] the Markdown report is rendered from. Share it as
/// `Arc<Metrics>` (every method takes `&self`); register further metrics
/// (the job queue's, say) through [`Metrics::registry_mut`] before sharing.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    run_duration: Histogram,
    stage_duration: HistogramFamily<StageLabels>,
    dashboard_fetch: HistogramFamily<OutcomeLabels>,
    /// Distinct dashboard outcomes admitted so far (see [`MAX_FETCH_OUTCOMES`]).
    fetch_outcomes: AtomicUsize,
    db_batch: HistogramFamily<OkLabels>,
    runs: Family<OutcomeLabels, Counter>,
    metadata_failures: Counter,
    retries: Counter,
    responses: Family<StatusLabels, Counter>,
    retry_after_wait: Counter<f64, AtomicU64>,
    skipped_rows: Counter,
    deactivated: Counter,
    reactivated: Counter,
    added: Counter,
    updated: Counter,
    anomalies: Counter,
    in_flight: Gauge,
    last_run: Family<OutcomeLabels, GaugeF64>,
    active_tracks: LateGauge,
    completeness: Family<FieldLabels, GaugeF64>,
    last_run_anomalies: LateGauge,
    drift_held: Family<FieldLabels, Counter>,
    drift_mass_changes: Family<FieldLabels, Counter>,
    pending_deactivation: LateGauge,
    /// The SLA runs are held to (`None`: only success counts).
    sla: Option<Duration>,
    sla_runs: Family<MetLabels, Counter>,
    sla_last_run_met: LateGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every sync metric, registered in a fresh registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::default())
    }

    /// Every sync metric, registered in `registry` (which may already hold
    /// other metrics).
    pub fn with_registry(mut registry: Registry) -> Self {
        let run_duration = run_duration_histogram();
        registry.register_with_unit(
            "liverc_sync_run_duration",
            "Wall-clock duration of sync runs",
            Unit::Seconds,
            run_duration.clone(),
        );
        let stage_duration: HistogramFamily<StageLabels> =
            Family::new_with_constructor(stage_duration_histogram);
        registry.register_with_unit(
            "liverc_sync_stage_duration",
            "Time each stage of a sync run took, by stage (one observation per stage per run)",
            Unit::Seconds,
            stage_duration.clone(),
        );
        let dashboard_fetch: HistogramFamily<OutcomeLabels> =
            Family::new_with_constructor(dashboard_fetch_histogram);
        registry.register_with_unit(
            "liverc_dashboard_fetch_duration",
            "Latency of track dashboard requests, by outcome (fetched, not_modified or an error class)",
            Unit::Seconds,
            dashboard_fetch.clone(),
        );
        let db_batch: HistogramFamily<OkLabels> = Family::new_with_constructor(db_batch_histogram);
        registry.register_with_unit(
            "liverc_db_batch_duration",
            "Duration of database batch transactions, by whether they committed",
            Unit::Seconds,
            db_batch.clone(),
        );

        let runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "liverc_sync_runs",
            "Finished sync runs, by outcome",
            runs.clone(),
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let metadata_failures = counter(
            &mut registry,
            "liverc_metadata_failures",
            "Track dashboards that could not be fetched or parsed (the tracks kept their stored fields)",
        );
        let retries = counter(
            &mut registry,
            "liverc_retries",
            "Re-sent requests (client retries plus the service's extra tries)",
        );
        let responses = Family::<StatusLabels, Counter>::default();
        registry.register(
            "liverc_responses",
            "Answers from LiveRC, by HTTP status",
            responses.clone(),
        );
        let retry_after_wait = Counter::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "liverc_retry_after_wait",
            "Time spent waiting on Retry-After",
            Unit::Seconds,
            retry_after_wait.clone(),
        );
        let skipped_rows = counter(
            &mut registry,
            "liverc_catalogue_rows_skipped",
            "Catalogue rows the parser skipped",
        );
        let deactivated = counter(
            &mut registry,
            "liverc_tracks_deactivated",
            "Tracks deactivated because they left the catalogue",
        );
        let reactivated = counter(
            &mut registry,
            "liverc_tracks_reactivated",
            "Inactive tracks listed again",
        );
        let added = counter(&mut registry, "liverc_tracks_added", "New tracks");
        let updated = counter(
            &mut registry,
            "liverc_tracks_updated",
            "Tracks whose profile fields changed (churn-only changes not counted)",
        );
        let anomalies = counter(
            &mut registry,
            "liverc_validation_anomalies",
            "Scraped values that broke a validation rule and were not stored",
        );

        let in_flight = Gauge::default();
        registry.register(
            "liverc_dashboards_in_flight",
            "Dashboard requests in flight right now",
            in_flight.clone(),
        );
        let last_run = Family::<OutcomeLabels, GaugeF64>::default();
        registry.register_with_unit(
            "liverc_last_run_timestamp",
            "Unix time at which the last run of each outcome finished",
            Unit::Seconds,
            last_run.clone(),
        );
        let active_tracks = LateGauge::default();
        registry.register(
            "liverc_active_tracks",
            "Active tracks at the end of the last finished run",
            active_tracks.clone(),
        );
        let completeness = Family::<FieldLabels, GaugeF64>::default();
        registry.register_with_unit(
            "liverc_track_field_completeness",
            "Share (0-1) of active tracks that have each field, at the end of the last finished run",
            Unit::Other("ratio".to_owned()),
            completeness.clone(),
        );

        let last_run_anomalies = LateGauge::default();
        registry.register(
            "liverc_last_run_validation_anomalies",
            "Validation anomalies of the last finished run (data quality over time, beside the completeness gauges)",
            last_run_anomalies.clone(),
        );

        let drift_held = Family::<FieldLabels, Counter>::default();
        registry.register(
            "liverc_drift_held_fields",
            "Runs in which the markup-drift guard held a profile field (kept as stored for every track because it vanished from too many)",
            drift_held.clone(),
        );
        let drift_mass_changes = Family::<FieldLabels, Counter>::default();
        registry.register(
            "liverc_drift_mass_changes",
            "Runs in which a profile field changed on a large share of the tracks that had it (applied, flagged)",
            drift_mass_changes.clone(),
        );
        let pending_deactivation = LateGauge::default();
        registry.register(
            "liverc_tracks_pending_deactivation",
            "Active tracks missing from the last complete catalogue, waiting out the grace period before deactivation",
            pending_deactivation.clone(),
        );
        let sla_runs = Family::<MetLabels, Counter>::default();
        registry.register(
            "liverc_sla_runs",
            "Finished runs (cancelled ones aside), by whether they met the SLA: succeeded within MRE_TRACK_SYNC_SLA_SECONDS",
            sla_runs.clone(),
        );
        let sla_last_run_met = LateGauge::default();
        registry.register(
            "liverc_sla_last_run_met",
            "1 if the last finished run (cancelled ones aside) met the SLA, 0 if not",
            sla_last_run_met.clone(),
        );

        // Series that exist from the start, so that `increase()` and alerts
        // see a zero rather than nothing before the first event.
        for field in ingest_core::drift::WATCHED_FIELDS {
            let labels = FieldLabels {
                field: field.to_owned(),
            };
            drop(drift_held.get_or_create(&labels));
            drop(drift_mass_changes.get_or_create(&labels));
        }
        for status in RUN_STATUSES {
            drop(runs.get_or_create(&OutcomeLabels {
                outcome: status.as_str().to_owned(),
            }));
        }
        for ok in [true, false] {
            drop(db_batch.get_or_create(&OkLabels { ok }));
        }
        for met in [true, false] {
            drop(sla_runs.get_or_create(&MetLabels { met }));
        }
        for stage in TIMED_STAGES {
            drop(stage_duration.get_or_create(&StageLabels {
                stage: stage.as_str().to_owned(),
            }));
        }
        for status in INITIAL_RESPONSE_STATUSES {
            drop(responses.get_or_create(&StatusLabels {
                status: status.to_owned(),
            }));
        }
        for outcome in INITIAL_FETCH_OUTCOMES {
            drop(dashboard_fetch.get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            }));
        }

        Self {
            registry,
            run_duration,
            stage_duration,
            dashboard_fetch,
            fetch_outcomes: AtomicUsize::new(INITIAL_FETCH_OUTCOMES.len()),
            db_batch,
            runs,
            metadata_failures,
            retries,
            responses,
            retry_after_wait,
            skipped_rows,
            deactivated,
            reactivated,
            added,
            updated,
            anomalies,
            in_flight,
            last_run,
            active_tracks,
            completeness,
            last_run_anomalies,
            drift_held,
            drift_mass_changes,
            pending_deactivation,
            sla: None,
            sla_runs,
            sla_last_run_met,
        }
    }

    /// Holds runs to `sla` in `liverc_sla_*`: a run meets it when it
    /// succeeded within `sla` (timed like the SLA alert: a job continued
    /// from a checkpoint from its first attempt's start). `None` or zero:
    /// success alone meets it.
    #[must_use]
    pub fn with_sla(mut self, sla: Option<Duration>) -> Self {
        self.sla = sla.filter(|d| !d.is_zero());
        self
    }

    /// Whether `report` met the SLA; `None` for a run that does not count
    /// (cancelled: someone asked it to stop).
    pub fn sla_met(&self, report: &RunReport) -> Option<bool> {
        match report.status {
            RunStatus::Cancelled => None,
            RunStatus::Succeeded => Some(self.sla.is_none_or(|sla| report.duration() <= sla)),
            _ => Some(false),
        }
    }

    /// The registry, for reading or for composing with another exposition.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry, to register further metrics or collectors (e.g.
    /// `registry_mut().sub_registry_with_prefix("jobs")`). Do this before
    /// sharing the `Metrics` behind an `Arc`.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Everything registered, in the OpenMetrics text format (what `/metrics`
    /// serves with [`CONTENT_TYPE`]), ending with `# EOF`.
    pub fn render(&self) -> String {
        render(&self.registry)
    }

    fn set_completeness(&self, c: &Completeness) {
        self.active_tracks
            .get_or_create(&NoLabels {})
            .set(i64::try_from(c.active_tracks).unwrap_or(i64::MAX));
        let counts = [
            c.with_address,
            c.with_phone,
            c.with_email,
            c.with_website,
            c.with_coordinates,
        ];
        for (field, count) in COMPLETENESS_FIELDS.into_iter().zip(counts) {
            let labels = FieldLabels {
                field: field.to_owned(),
            };
            self.completeness
                .get_or_create(&labels)
                .set(c.share(count) / 100.0);
        }
    }
}

impl SyncMetrics for Metrics {
    fn dashboard_fetch(&self, latency: Duration, outcome: &str) {
        let seconds = latency.as_secs_f64();
        let labels = OutcomeLabels {
            outcome: outcome.to_owned(),
        };
        if let Some(histogram) = self.dashboard_fetch.get(&labels) {
            histogram.observe(seconds);
            return;
        }
        // A new outcome: admit it while there is room. Two threads racing on
        // the same new outcome may both take a slot, so the cap is never
        // exceeded (at worst reached early).
        let admitted = self
            .fetch_outcomes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_FETCH_OUTCOMES).then_some(n + 1)
            })
            .is_ok();
        let labels = if admitted {
            labels
        } else {
            OutcomeLabels {
                outcome: OTHER_OUTCOME.to_owned(),
            }
        };
        self.dashboard_fetch.get_or_create(&labels).observe(seconds);
    }

    fn db_batch(&self, latency: Duration, ok: bool) {
        self.db_batch
            .get_or_create(&OkLabels { ok })
            .observe(latency.as_secs_f64());
    }

    fn set_in_flight(&self, in_flight: u64) {
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    /// Counts the run by outcome, observes its duration, stamps its finish
    /// time, adds its counters, and — for a run that finished (succeeded or
    /// guard-refused) — sets the completeness gauges. A failed run's
    /// completeness is not measured, so the gauges keep the last good values.
    fn run_finished(&self, report: &RunReport) {
        let outcome = OutcomeLabels {
            outcome: report.status.as_str().to_owned(),
        };
        self.runs.get_or_create(&outcome).inc();
        self.run_duration.observe(report.duration().as_secs_f64());
        for timing in &report.stage_timings {
            if timing.seconds.is_finite() && timing.seconds >= 0.0 {
                self.stage_duration
                    .get_or_create(&StageLabels {
                        stage: timing.stage.as_str().to_owned(),
                    })
                    .observe(timing.seconds);
            }
        }
        if let Some(met) = self.sla_met(report) {
            self.sla_runs.get_or_create(&MetLabels { met }).inc();
            self.sla_last_run_met
                .get_or_create(&NoLabels {})
                .set(i64::from(met));
        }
        let finished = report.finished_at.timestamp_millis() as f64 / 1000.0;
        self.last_run.get_or_create(&outcome).set(finished);

        let c = &report.counts;
        self.metadata_failures.inc_by(c.dashboards_failed);
        self.retries.inc_by(c.retries);
        // Every answer by status class. Older reports (and sources without
        // the breakdown) carry only the 429 count.
        if c.responses.is_empty() && c.responses_429 > 0 {
            self.responses
                .get_or_create(&StatusLabels {
                    status: "429".to_owned(),
                })
                .inc_by(c.responses_429);
        }
        for (status, n) in &c.responses {
            if *n > 0 {
                self.responses
                    .get_or_create(&StatusLabels {
                        status: status.clone(),
                    })
                    .inc_by(*n);
            }
        }
        if c.retry_after_wait_seconds.is_finite() && c.retry_after_wait_seconds > 0.0 {
            self.retry_after_wait.inc_by(c.retry_after_wait_seconds);
        }
        self.skipped_rows.inc_by(c.skipped_rows);
        self.deactivated.inc_by(c.deactivated);
        self.reactivated.inc_by(c.reactivated);
        self.added.inc_by(c.new);
        self.updated.inc_by(c.updated);
        self.anomalies.inc_by(c.validation_anomalies);

        if let Some(drift) = &report.drift {
            for f in drift.held() {
                self.drift_held
                    .get_or_create(&FieldLabels {
                        field: f.field.clone(),
                    })
                    .inc();
            }
            for f in drift.mass_changes() {
                self.drift_mass_changes
                    .get_or_create(&FieldLabels {
                        field: f.field.clone(),
                    })
                    .inc();
            }
        }
        if matches!(
            report.status,
            RunStatus::Succeeded | RunStatus::GuardRefused | RunStatus::DriftSuspected
        ) {
            self.pending_deactivation
                .get_or_create(&NoLabels {})
                .set(i64::try_from(c.pending_deactivation).unwrap_or(i64::MAX));
            self.set_completeness(&report.completeness);
            self.last_run_anomalies
                .get_or_create(&NoLabels {})
                .set(i64::try_from(c.validation_anomalies).unwrap_or(i64::MAX));
        }
    }
}

/// Everything `registry` holds, in the OpenMetrics text format (served
/// with [`CONTENT_TYPE`]), ending with `# EOF`: for a process that owns no
/// sync metrics (an API without a worker) but still exports its own.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        // Writing into a String cannot fail; a metric's encoder can only
        // fail on a bug. Serve what was encoded rather than nothing.
        tracing::warn!(error = %e, "encoding metrics failed");
    }
    out
}

/// The source revision the binaries were built from: `MRE_BUILD_REVISION`
/// at compile time (the Dockerfile passes its `REVISION` build argument),
/// else `unknown`.
pub const REVISION: &str = match option_env!("MRE_BUILD_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    service: String,
    version: String,
    revision: String,
}

/// Registers `liverc_build_info{service, version, revision} 1`: which
/// process (`ingest-api`, `ingest-worker`, `ingest-cli`) of which build is
/// answering, for dashboards and for joins in alert rules. Every process
/// exports it, whatever else it owns.
pub fn register_build_info(registry: &mut Registry, service: &str) {
    let info = prometheus_client::metrics::info::Info::new(BuildLabels {
        service: service.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        revision: REVISION.to_owned(),
    });
    registry.register("liverc_build", "The build this process runs", info);
}
