//! What a run accumulates for its report (`Accumulator`), what a stored
//! batch adds to it (`Pending`), and what a job carries from one attempt to
//! the next in its checkpoint (`CarriedState`), so a resumed attempt
//! continues the first one's counts and lists.
//!
//! Architecture invariant: below every stage; imports the domain, the
//! source port's statistics and the capped lists, no stage.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::domain::diff::field_rank;
use crate::domain::drift::{Counted, DeferredLoss, DriftTally};
use crate::domain::report::{
    ChangedField, MetadataErrorEntry, NewTrackEntry, ReactivatedTrackEntry, ResponseTally,
    RunCounts, UpdatedTrackEntry, ValidationAnomaly, add_tallies,
};
use crate::domain::track::FieldChange;
use crate::ports::source::SourceStats;
use crate::service::context::RunContext;
use crate::service::lists::{by_name_then_slug, keep_first};

/// A run's accumulator and the slugs earlier attempts stored. A resumed job
/// continues from its checkpoint: counts, report lists and start time carry
/// over, and what is stored is not fetched again. An unreadable state counts
/// from zero.
pub(super) fn resume(
    ctx: &RunContext,
    now: DateTime<Utc>,
    stats_before: SourceStats,
) -> (Accumulator, HashSet<String>) {
    let Some(job) = &ctx.job else {
        let acc = Accumulator {
            started_at: now,
            stats_before,
            ..Accumulator::default()
        };
        return (acc, HashSet::new());
    };
    let state = match &job.checkpoint.state {
        Some(v) => serde_json::from_value::<CarriedState>(v.clone()).unwrap_or_else(|e| {
            warn!(error = %e, "checkpoint state unreadable; counting from zero");
            CarriedState::default()
        }),
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

/// What a job carries from one attempt to the next (the checkpoint's opaque
/// state): everything the final report sums over attempts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CarriedState {
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
    /// Answers by status class of earlier attempts.
    #[serde(default)]
    responses: ResponseTally,
    retry_after_wait_seconds: f64,
    fetch_latency_total_seconds: f64,
    fetch_requests: u64,
    processed: u64,
    /// The drift guard's tallies and deferred losses.
    #[serde(default)]
    drift: DriftTally,
}

/// Everything the run accumulates for its report.
#[derive(Default, Clone)]
pub(super) struct Accumulator {
    /// When the run (its first attempt) started.
    pub(super) started_at: DateTime<Utc>,
    /// Source statistics when this attempt started.
    pub(super) stats_before: SourceStats,
    /// Retries, 429s and waits of earlier attempts of the job.
    pub(super) carried_retries: u64,
    pub(super) carried_429: u64,
    pub(super) carried_responses: ResponseTally,
    pub(super) carried_wait_seconds: f64,
    pub(super) counts: RunCounts,
    pub(super) new_tracks: Vec<NewTrackEntry>,
    pub(super) updated_tracks: Vec<UpdatedTrackEntry>,
    pub(super) reactivated: Vec<ReactivatedTrackEntry>,
    pub(super) metadata_errors: Vec<MetadataErrorEntry>,
    pub(super) anomalies: Vec<ValidationAnomaly>,
    pub(super) batch_latencies: Vec<Duration>,
    pub(super) geocode_time: Duration,
    pub(super) fetch_latency_total: Duration,
    pub(super) fetch_requests: u64,
    pub(super) service_retries: u64,
    pub(super) processed: u64,
    pub(super) drift: DriftTally,
}

/// A batch's contribution to the report, merged once it is stored.
#[derive(Default, Clone)]
pub(super) struct Pending {
    pub(super) new: Vec<NewTrackEntry>,
    pub(super) updated: Vec<UpdatedTrackEntry>,
    pub(super) churn: u64,
    pub(super) unchanged: u64,
    pub(super) reactivated: Vec<ReactivatedTrackEntry>,
    pub(super) tracks: u64,
}

impl Accumulator {
    /// Resume from a job's carried state.
    fn restore(state: CarriedState, started_at: DateTime<Utc>, stats_before: SourceStats) -> Self {
        Self {
            started_at: state.started_at.unwrap_or(started_at),
            stats_before,
            carried_retries: state.retries,
            carried_429: state.responses_429,
            carried_responses: state.responses,
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
    pub(super) fn into_carried(
        self,
        started_at: DateTime<Utc>,
        stats_now: &SourceStats,
    ) -> CarriedState {
        let stats = stats_now.since(&self.stats_before);
        CarriedState {
            started_at: Some(started_at),
            retries: self.carried_retries + stats.retries + self.service_retries,
            responses_429: self.carried_429 + stats.responses_429,
            responses: add_tallies(&self.carried_responses, &stats.responses),
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
    pub(super) fn absorb_clears(&mut self, cleared: &[FieldChange], deferred: &[DeferredLoss]) {
        let counted: HashMap<(&str, &str), (&str, Counted)> = deferred
            .iter()
            .map(|d| {
                (
                    (d.slug.as_str(), d.field.as_str()),
                    (d.name.as_str(), d.counted),
                )
            })
            .collect();
        let mut by_track: BTreeMap<&str, Vec<ChangedField>> = BTreeMap::new();
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
                    entry.changes.sort_by_key(|c| field_rank(&c.field));
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
    pub(super) fn absorb(&mut self, pending: Pending) {
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
