//! The fetch side of the dashboards stage: a `buffer_unordered` stream over
//! the catalogue that requests each planned dashboard (on a task of its own,
//! with the service's extra tries for transient failures) and hands every
//! entry, fetched or not, to the store side over a bounded channel.
//!
//! Architecture invariant: a stage; reads the source only, writes nothing,
//! and never holds more than `batch_size + concurrency` unstored pages (a
//! permit of `unstored` from request to commit).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::{Instrument, warn};

use crate::domain::run::SyncOptions;
use crate::domain::track::{HttpValidators, TrackSnapshot};
use crate::ports::source::{
    DashboardOutcome, SourceEntry, SourceError, SourceErrorClass, TrackSource,
};
use crate::service::context::{CANCEL_GRACE, CancelFlag};
use crate::service::plan::plan_fetch;
use crate::service::run::Adapters;

/// What the fetch side hands the store side for one catalogue entry.
pub(super) struct Fetched {
    pub(super) entry: SourceEntry,
    pub(super) result: FetchResult,
    /// Tries the service added after the source gave up.
    pub(super) extra_tries: u32,
    /// Held from the request until the track's batch is stored.
    pub(super) permit: Option<OwnedSemaphorePermit>,
}

/// One entry's dashboard, as this run knows it.
pub(super) enum FetchResult {
    /// Not requested this run.
    Skipped,
    /// Not requested because the run was cancelled: not stored either.
    Dropped,
    Outcome(DashboardOutcome),
    Failed(SourceError),
}

/// The fetch side of one run.
pub(super) struct Fetcher<'a> {
    pub(super) adapters: &'a Adapters,
    pub(super) options: &'a SyncOptions,
    pub(super) cancel: &'a CancelFlag,
    pub(super) snapshot: &'a HashMap<String, TrackSnapshot>,
    /// The time the metadata TTL is measured against.
    pub(super) now: DateTime<Utc>,
}

impl Fetcher<'_> {
    /// Request the planned dashboards of `entries`, `concurrency` at once,
    /// and send every entry with its latency to the store side. Once
    /// cancelled, nothing new is requested, the dashboards in flight have
    /// [`CANCEL_GRACE`] to land (those that do are stored), and then the
    /// rest are dropped, their tasks aborted.
    pub(super) async fn run(
        &self,
        entries: Vec<SourceEntry>,
        unstored: Arc<Semaphore>,
        tx: mpsc::Sender<(Fetched, Duration)>,
    ) {
        let in_flight = AtomicU64::new(0);
        let mut stream = futures::stream::iter(entries)
            .map(|entry| self.fetch(entry, &in_flight, unstored.clone()))
            .buffer_unordered(self.options.concurrency.max(1));
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let next = match deadline {
                None => tokio::select! {
                    next = stream.next() => next,
                    () = self.cancel.cancelled() => {
                        deadline = Some(tokio::time::Instant::now() + CANCEL_GRACE);
                        continue;
                    }
                },
                Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                    Ok(next) => next,
                    // The grace is over: what is still in flight is dropped.
                    Err(_) => break,
                },
            };
            let Some(item) = next else { break };
            if matches!(item.0.result, FetchResult::Dropped)
                || (self.cancel.is_cancelled() && matches!(item.0.result, FetchResult::Skipped))
            {
                continue;
            }
            if tx.send(item).await.is_err() {
                break; // the store side stopped
            }
        }
    }

    /// One entry: skipped when the plan says so, dropped once cancelled,
    /// otherwise requested under a permit of `unstored`.
    async fn fetch(
        &self,
        entry: SourceEntry,
        in_flight: &AtomicU64,
        unstored: Arc<Semaphore>,
    ) -> (Fetched, Duration) {
        let not_requested = |entry, result| {
            let fetched = Fetched {
                entry,
                result,
                extra_tries: 0,
                permit: None,
            };
            (fetched, Duration::ZERO)
        };
        let plan = plan_fetch(
            self.options,
            self.snapshot.get(&entry.slug),
            &entry,
            self.now,
        );
        let Some(validators) = plan else {
            return not_requested(entry, FetchResult::Skipped);
        };
        if self.cancel.is_cancelled() {
            return not_requested(entry, FetchResult::Dropped);
        }
        let metrics = &self.adapters.metrics;
        let permit = unstored.acquire_owned().await.ok();
        let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        metrics.set_in_flight(n);
        let t = Instant::now();
        let (result, extra_tries) = self.fetch_on_own_task(&entry.slug, validators).await;
        let elapsed = t.elapsed();
        let n = in_flight.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        metrics.set_in_flight(n);
        let outcome = match &result {
            FetchResult::Outcome(DashboardOutcome::Fetched { .. }) => "fetched",
            FetchResult::Outcome(DashboardOutcome::NotModified { .. }) => "not_modified",
            FetchResult::Failed(e) => e.class.as_str(),
            FetchResult::Skipped | FetchResult::Dropped => "skipped",
        };
        metrics.dashboard_fetch(elapsed, outcome);
        let fetched = Fetched {
            entry,
            result,
            extra_tries,
            permit,
        };
        (fetched, elapsed)
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
        slug: &str,
        validators: Option<HttpValidators>,
    ) -> (FetchResult, u32) {
        let task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            fetch_with_retries(
                self.adapters.source.clone(),
                slug.to_owned(),
                validators,
                self.options.dashboard_extra_tries,
                self.options.dashboard_retry_delay,
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
