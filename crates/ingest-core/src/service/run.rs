//! One run in progress, as the stages hand it on: the ports it reaches the
//! world through (`Adapters`), its state (`Run`: options, accumulator,
//! report, stage timings), the progress it reports, and `Stop`, what ends it
//! before its last stage.
//!
//! Architecture invariant: knows no stage. Every stage takes what it needs
//! from here; no stage takes anything from another stage but its output.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::info;

use crate::domain::report::{Completeness, RunCounts, RunReport, StageTiming};
use crate::domain::run::{RunStatus, Stage, SyncOptions};
use crate::ports::clock::Clock;
use crate::ports::geocoder::Geocoder;
use crate::ports::metrics::SyncMetrics;
use crate::ports::progress::{Progress, ProgressSink};
use crate::ports::repository::{RepositoryError, TrackRepository};
use crate::ports::source::TrackSource;
use crate::service::carried::Accumulator;
use crate::service::context::RunContext;

/// The ports a run reaches the world through, as the service was built.
pub(super) struct Adapters {
    pub(super) source: Arc<dyn TrackSource>,
    pub(super) repository: Arc<dyn TrackRepository>,
    pub(super) metrics: Arc<dyn SyncMetrics>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) geocoder: Option<Arc<dyn Geocoder>>,
}

/// Why a run stopped before its last stage: the status and error it ends
/// with. The run is still closed (counters, report, metrics, summary).
#[derive(Debug)]
pub(super) struct Stop {
    status: RunStatus,
    error: String,
    /// The job's lease passed to another worker: the report is not written.
    lease_lost: bool,
}

impl Stop {
    pub(super) fn new(status: RunStatus, error: String) -> Self {
        Self {
            status,
            error,
            lease_lost: false,
        }
    }

    /// A repository call failed while `doing` something.
    pub(super) fn repository(doing: &str, e: &RepositoryError) -> Self {
        Self {
            status: RunStatus::Failed,
            error: format!("{doing}: {e}"),
            lease_lost: matches!(e, RepositoryError::LeaseLost(_)),
        }
    }
}

/// A run in progress.
pub(super) struct Run<'a> {
    /// Normalised.
    pub(super) options: SyncOptions,
    pub(super) ctx: &'a RunContext,
    pub(super) acc: Accumulator,
    /// Filled stage by stage; closed by `close`.
    pub(super) report: RunReport,
    pub(super) timings: Vec<StageTiming>,
    /// Tracks an earlier attempt of the job stored: not fetched again.
    pub(super) done: HashSet<String>,
    /// Tracks in the catalogue (0 before it is read).
    pub(super) total: u64,
    /// When the dashboards started, for the progress's rate and ETA.
    pub(super) dash_started: Option<Instant>,
    /// A superseded lease: another worker owns the job now; this attempt
    /// must not write its report over that worker's.
    pub(super) lease_lost: bool,
    pub(super) progress: Tracker<'a>,
}

impl<'a> Run<'a> {
    /// A run about to start: an empty report (on top of what earlier
    /// attempts of the job accumulated), the `Starting` stage reported.
    pub(super) fn start(
        options: SyncOptions,
        ctx: &'a RunContext,
        acc: Accumulator,
        done: HashSet<String>,
        progress: Tracker<'a>,
    ) -> Self {
        let started_at = acc.started_at;
        let report = RunReport {
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
        let run = Self {
            options,
            ctx,
            acc,
            report,
            timings: Vec::new(),
            done,
            total: 0,
            dash_started: None,
            lease_lost: false,
            progress,
        };
        run.enter(Stage::Starting);
        run
    }

    /// Report progress in `stage` (logged once, when the stage starts).
    pub(super) fn enter(&self, stage: Stage) {
        self.progress
            .stage(stage, &self.acc, self.total, self.dash_started);
    }

    /// End the run early: it is closed with this status and error.
    pub(super) fn stop(&mut self, stop: Stop) {
        self.report.status = stop.status;
        self.report.error = Some(stop.error);
        self.lease_lost |= stop.lease_lost;
    }
}

/// The run's progress as its sink sees it, and the log line of each stage's
/// start.
pub(super) struct Tracker<'a> {
    sink: &'a dyn ProgressSink,
    /// When this attempt started.
    pub(super) started: Instant,
    /// Tracks earlier attempts of the job stored: part of `processed`, not
    /// of this attempt's rate.
    baseline: u64,
    last_stage: Mutex<Option<Stage>>,
}

impl<'a> Tracker<'a> {
    pub(super) fn new(sink: &'a dyn ProgressSink, started: Instant, baseline: u64) -> Self {
        Self {
            sink,
            started,
            baseline,
            last_stage: Mutex::new(None),
        }
    }

    /// A sample of the dashboards stage: `unstored` dashboards arrived but
    /// their batch is not stored yet (they count as processed: progress
    /// moves by single dashboards, not by batches).
    pub(super) fn dashboards(
        &self,
        acc: &Accumulator,
        unstored: u64,
        total: u64,
        dash_started: Instant,
    ) {
        let processed = (acc.processed + unstored).min(total.max(acc.processed));
        self.emit(Stage::Dashboards, acc, processed, total, Some(dash_started));
    }

    /// A sample in `stage`, logging the stage's start the first time.
    pub(super) fn stage(
        &self,
        stage: Stage,
        acc: &Accumulator,
        total: u64,
        dash_started: Option<Instant>,
    ) {
        if let Ok(mut last) = self.last_stage.lock()
            && *last != Some(stage)
        {
            *last = Some(stage);
            info!(stage = stage.as_str(), "stage started");
        }
        self.sample(stage, acc, total, dash_started);
    }

    /// A sample, without the stage's log line.
    pub(super) fn sample(
        &self,
        stage: Stage,
        acc: &Accumulator,
        total: u64,
        dash_started: Option<Instant>,
    ) {
        self.emit(stage, acc, acc.processed, total, dash_started);
    }

    /// The rate and ETA count only this attempt's work (`processed` less
    /// the baseline), over this attempt's time: after a resume at 367 of
    /// 1,090, the 367 are neither fast work nor work left.
    fn emit(
        &self,
        stage: Stage,
        acc: &Accumulator,
        processed: u64,
        total: u64,
        dash_started: Option<Instant>,
    ) {
        let elapsed = self.started.elapsed();
        let done_here = processed.saturating_sub(self.baseline);
        let (rate, eta) = match dash_started {
            Some(ds) if done_here > 0 => {
                let secs = ds.elapsed().as_secs_f64().max(1e-3);
                let rate = done_here as f64 / secs;
                let left = total.saturating_sub(processed) as f64;
                (rate, Some(Duration::from_secs_f64(left / rate)))
            }
            // After the dashboards (report, done): the attempt's average, no ETA.
            None if done_here > 0 => (done_here as f64 / elapsed.as_secs_f64().max(1e-3), None),
            _ => (0.0, None),
        };
        self.sink.update(&Progress {
            stage,
            processed,
            total,
            failures: acc.counts.dashboards_failed,
            elapsed,
            rate_per_second: rate,
            eta,
        });
    }
}

/// A stage's timing, logged as the stage's finish event.
pub(super) fn timing(stage: Stage, d: Duration, detail: Option<String>) -> StageTiming {
    info!(
        stage = stage.as_str(),
        duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        detail = detail.as_deref().unwrap_or(""),
        "stage finished"
    );
    StageTiming {
        stage,
        seconds: d.as_secs_f64(),
        detail,
    }
}
