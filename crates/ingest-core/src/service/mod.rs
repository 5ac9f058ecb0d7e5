//! `TrackSyncService`: one sync run, the same for every entry point.
//!
//! A run is a short chain of stages, each its own module: `plan`
//! (catalogue, snapshot, what to fetch) → `fetch` and `store` side by side
//! (dashboards streamed over a bounded channel into batches: validation,
//! `geocode`, diff, one transaction each) → `finish` (drift decision,
//! guarded deactivation, sync state) → `close` (report, metrics, summary,
//! on every path). A stage that cannot go on returns a `Stop`; the run is
//! closed all the same. What the stages share is in `run`; what a run
//! accumulates, and a job carries between attempts, in `carried`; the
//! report's capped lists in `lists`.
//!
//! Dashboards are fetched by a bounded stream and handed over a bounded
//! channel to a writer that stores them batch by batch, so memory stays flat
//! as the catalogue grows and the database work overlaps the fetching.
//!
//! Architecture invariant: the top of the crate. Nothing below imports the
//! service, and its modules form no circle: this file imports the stages,
//! the stages import `run`, `carried`, `context` and `lists`, never this file.

mod carried;
mod close;
mod context;
mod fetch;
mod finish;
mod geocode;
mod lists;
mod plan;
mod run;
mod store;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc};
use tracing::{Instrument, info_span};

use crate::domain::report::SyncSummary;
use crate::domain::run::{Stage, SyncOptions};
use crate::ports::clock::Clock;
use crate::ports::geocoder::Geocoder;
use crate::ports::metrics::SyncMetrics;
use crate::ports::progress::ProgressSink;
use crate::ports::report::ReportWriter;
use crate::ports::repository::TrackRepository;
use crate::ports::source::{SourceEntry, TrackSource};

use self::carried::Accumulator;
pub use self::context::{CANCEL_GRACE, CancelFlag, JobBinding, RunContext};
use self::fetch::Fetcher;
use self::plan::Plan;
use self::run::{Adapters, Run, Stop, Tracker};
use self::store::Store;

/// The orchestration service. Every dependency is a port.
pub struct TrackSyncService {
    adapters: Adapters,
}

impl std::fmt::Debug for TrackSyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let geocoder = self.adapters.geocoder.as_ref().map(|g| g.provider());
        f.debug_struct("TrackSyncService")
            .field("geocoder", &geocoder)
            .finish_non_exhaustive()
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
        let adapters = Adapters {
            source,
            repository,
            metrics,
            clock,
            geocoder,
        };
        Self { adapters }
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

    /// The pipeline: start (or resume), the stages, and the close that every
    /// path ends with.
    async fn run_inner(
        &self,
        options: &SyncOptions,
        ctx: &RunContext,
        report_writer: &dyn ReportWriter,
        progress: &dyn ProgressSink,
    ) -> SyncSummary {
        let options = plan::normalise_options(options);
        let started = Instant::now();
        let stats_before = self.adapters.source.stats();
        let (acc, done) = carried::resume(ctx, self.adapters.clock.now(), stats_before);
        // Rates and the ETA count this attempt's own work, not what earlier
        // attempts stored.
        let tracker = Tracker::new(progress, started, acc.processed);
        let mut run = Run::start(options, ctx, acc, done, tracker);
        run.report.previous_completeness =
            close::previous_completeness(report_writer, &run.options.source).await;
        if let Err(stop) = self.stages(&mut run).await {
            run.stop(stop);
        }
        let report_writer = (!run.lease_lost).then_some(report_writer);
        close::close(&self.adapters, run, report_writer).await
    }

    /// The stages in order; the first that cannot go on stops the run.
    async fn stages(&self, run: &mut Run<'_>) -> Result<(), Stop> {
        let catalogue = plan::read_catalogue(&self.adapters, run).await?;
        let (plan, entries) = plan::plan(&self.adapters, run, catalogue).await?;
        self.dashboards(run, &plan, entries).await?;
        finish::finish_run(&self.adapters, run, plan).await
    }

    /// Dashboards, validation, geocoding, batches: the fetch side and the
    /// store side run together, joined by a bounded channel.
    async fn dashboards(
        &self,
        run: &mut Run<'_>,
        plan: &Plan,
        entries: Vec<SourceEntry>,
    ) -> Result<(), Stop> {
        let dash_started = Instant::now();
        run.dash_started = Some(dash_started);
        run.enter(Stage::Dashboards);
        let options = &run.options;
        let (tx, rx) = mpsc::channel(options.batch_size.max(1) * 2);
        // Every request holds a permit until its batch is stored, so at most
        // `batch_size + concurrency` dashboards are ever fetched but not yet
        // stored: the most a crashed worker loses (its successor, resuming
        // from the checkpoint, fetches those again).
        let unstored = Arc::new(Semaphore::new(
            options.batch_size.max(1) + options.concurrency.max(1),
        ));
        let fetcher = Fetcher {
            adapters: &self.adapters,
            options,
            cancel: &run.ctx.cancel,
            snapshot: &plan.snapshot,
            now: self.adapters.clock.now(),
        };
        let store = Store {
            adapters: &self.adapters,
            options,
            ctx: run.ctx,
            plan,
        };
        let (progress, total) = (&run.progress, run.total);
        let on_progress = |acc: &Accumulator, unstored: u64| {
            progress.dashboards(acc, unstored, total, dash_started);
        };
        let stored_entries = entries.len() as u64;
        let ((), stored) = tokio::join!(
            fetcher.run(entries, unstored, tx),
            store.run(rx, stored_entries, &mut run.acc, &on_progress),
        );
        store::record_timings(run, dash_started, self.adapters.geocoder.is_some());
        stored
    }
}
