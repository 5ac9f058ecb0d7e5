//! The store side of the dashboards stage: what the fetch side hands over,
//! in batches. Each batch loads its stored rows (one query), validates the
//! pages, holds the losses the drift guard defers, geocodes new addresses,
//! diffs every track into profile changes and churn, and is applied in one
//! transaction together with the job's checkpoint.
//!
//! Architecture invariant: a stage; the only writer of tracks during a run,
//! one `apply_batch` per batch, and a batch's report entries count only once
//! it is committed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::domain::diff::{content_hash, diff_track, settle_activity_time};
use crate::domain::drift::Counted;
use crate::domain::report::{
    MetadataErrorEntry, NewTrackEntry, ReactivatedTrackEntry, UpdatedTrackEntry,
};
use crate::domain::run::{RunStatus, Stage, SyncOptions};
use crate::domain::track::{
    FetchedMetadata, FieldChange, GeoPoint, GeoUpdate, HttpValidators, MetadataUpdate, StoredTrack,
    TrackProfile, TrackUpsert,
};
use crate::domain::validate::sanitize_profile;
use crate::ports::repository::{BatchCheckpoint, RepositoryError, UpsertBatch};
use crate::ports::source::DashboardOutcome;
use crate::service::carried::{Accumulator, Pending};
use crate::service::context::RunContext;
use crate::service::fetch::{FetchResult, Fetched};
use crate::service::geocode::BatchGeocoder;
use crate::service::lists::{by_slug, by_slug_then_field, keep_first};
use crate::service::plan::Plan;
use crate::service::run::{Adapters, Run, Stop, timing};

/// The store side of one run.
pub(super) struct Store<'a> {
    pub(super) adapters: &'a Adapters,
    pub(super) options: &'a SyncOptions,
    pub(super) ctx: &'a RunContext,
    pub(super) plan: &'a Plan,
}

/// A batch's writes and report entries, as its tracks are prepared.
#[derive(Default)]
struct Prepared {
    upserts: Vec<TrackUpsert>,
    changes: Vec<FieldChange>,
    pending: Pending,
}

impl Store<'_> {
    /// Store what arrives on `rx` in batches of `batch_size`. `on_progress`
    /// hears of every dashboard as it arrives and of every stored batch,
    /// with how many have arrived but are not stored yet; `entries` is how
    /// many this attempt may see.
    /// What was fetched is stored even when cancelled: a cancel finishes the
    /// batch at hand, and the checkpoint keeps it.
    pub(super) async fn run(
        &self,
        // Owned here: when the store side stops early, the receiver is
        // dropped and the fetch side's next send fails instead of waiting
        // forever on a full channel.
        mut rx: mpsc::Receiver<(Fetched, Duration)>,
        entries: u64,
        acc: &mut Accumulator,
        on_progress: &(dyn Fn(&Accumulator, u64) + Sync),
    ) -> Result<(), Stop> {
        let options = self.options;
        let mut batch: Vec<Fetched> = Vec::with_capacity(options.batch_size);
        let mut permits = Vec::with_capacity(options.batch_size);
        // Catalogue entries of this attempt not yet stored: what the drift
        // guard may still see.
        let mut remaining = entries;
        let stored = |e: RepositoryError| Stop::repository("storing tracks", &e);
        while let Some((mut fetched, latency)) = rx.recv().await {
            permits.extend(fetched.permit.take());
            acc.service_retries += u64::from(fetched.extra_tries);
            if !matches!(fetched.result, FetchResult::Skipped) {
                acc.fetch_latency_total += latency;
                acc.fetch_requests += 1;
            }
            batch.push(fetched);
            on_progress(acc, batch.len() as u64);
            if batch.len() >= options.batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(options.batch_size));
                self.store_batch(full, acc).await.map_err(stored)?;
                permits.clear();
                remaining = remaining.saturating_sub(options.batch_size as u64);
                acc.drift.trim(
                    remaining,
                    options.drift_max_loss_share,
                    options.drift_min_tracks,
                );
                on_progress(acc, 0);
            }
        }
        if !batch.is_empty() {
            self.store_batch(batch, acc).await.map_err(stored)?;
            on_progress(acc, 0);
        }
        if self.ctx.cancel.is_cancelled() {
            return Err(Stop::new(RunStatus::Cancelled, "cancelled".to_owned()));
        }
        Ok(())
    }

    /// Validate, geocode, diff and store one batch.
    async fn store_batch(
        &self,
        batch: Vec<Fetched>,
        acc: &mut Accumulator,
    ) -> Result<(), RepositoryError> {
        let stored = self.load_stored(&batch).await?;
        let mut out = Prepared {
            upserts: Vec::with_capacity(batch.len()),
            ..Prepared::default()
        };
        let mut geocoder = BatchGeocoder::new(self.adapters);
        for fetched in batch {
            let old = stored.get(&fetched.entry.slug);
            self.prepare(fetched, old, &mut geocoder, acc, &mut out)
                .await;
        }
        let Prepared {
            upserts,
            changes,
            mut pending,
        } = out;
        pending.tracks = upserts.len() as u64;
        let batch = UpsertBatch {
            run_id: self.ctx.run_id,
            source: self.options.source.clone(),
            seen_at: self.plan.catalogue_time,
            tracks: upserts,
            changes,
            checkpoint: self.checkpoint(acc, &pending)?,
        };
        let t = Instant::now();
        let result = self.adapters.repository.apply_batch(&batch).await;
        let latency = t.elapsed();
        self.adapters.metrics.db_batch(latency, result.is_ok());
        let outcome = result?;
        acc.batch_latencies.push(latency);
        acc.counts.db_rows_written += outcome.inserted + outcome.updated;
        acc.absorb(pending);
        Ok(())
    }

    /// The full stored rows of the batch's known tracks (one query).
    async fn load_stored(
        &self,
        batch: &[Fetched],
    ) -> Result<HashMap<String, StoredTrack>, RepositoryError> {
        let existing: Vec<String> = batch
            .iter()
            .filter(|f| self.plan.snapshot.contains_key(&f.entry.slug))
            .map(|f| f.entry.slug.clone())
            .collect();
        if existing.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .adapters
            .repository
            .get_tracks(&self.options.source, &existing)
            .await?;
        Ok(rows.into_iter().map(|t| (t.slug.clone(), t)).collect())
    }

    /// One track's upsert, changes and report entries.
    async fn prepare(
        &self,
        Fetched {
            mut entry, result, ..
        }: Fetched,
        old: Option<&StoredTrack>,
        geocoder: &mut BatchGeocoder<'_>,
        acc: &mut Accumulator,
        out: &mut Prepared,
    ) {
        let slug = entry.slug.clone();
        if let Some(old) = old {
            settle_activity_time(&old.catalogue, &mut entry.catalogue);
        }
        let mut metadata = metadata_update(&slug, result, acc);
        // The drift guard: a field the page lost is kept as stored until
        // the run knows whether the markup changed (see `drift`). What is
        // then stored is not the page: no hash, no validators, so the next
        // run fetches it in full.
        let mut held = 0;
        if let (MetadataUpdate::Fetched(m), Some(old)) = (&mut metadata, old) {
            held = acc.drift.observe(
                &slug,
                &entry.catalogue.name,
                &old.profile,
                &mut m.profile,
                &self.options.accept_drift,
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
        let geo = geocoder.decide(old, &metadata, &profile, acc).await;
        let geo_after: Option<GeoPoint> = match &geo {
            GeoUpdate::Keep => old.and_then(|o| o.geo.clone()),
            GeoUpdate::Set(g) => Some(g.clone()),
            GeoUpdate::Clear => None,
        };
        match old {
            // Not stored (or deleted since the snapshot): new.
            None => out.pending.new.push(NewTrackEntry {
                slug: slug.clone(),
                name: entry.catalogue.name.clone(),
                city: profile.city.clone(),
                state: profile.state.clone(),
                country_code: profile.country_code.clone(),
                track_url: entry.catalogue.track_url.clone(),
            }),
            Some(old) => {
                let d = diff_track(old, &entry.catalogue, &profile, geo_after.as_ref());
                if !old.is_active {
                    out.pending.reactivated.push(ReactivatedTrackEntry {
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
                        out.changes.extend(d.profile.iter().map(|c| FieldChange {
                            slug: slug.clone(),
                            field: c.field.clone(),
                            old_value: c.old_value.clone(),
                            new_value: c.new_value.clone(),
                        }));
                        out.pending.updated.push(UpdatedTrackEntry {
                            slug: slug.clone(),
                            name: entry.catalogue.name.clone(),
                            changes: d.profile,
                        });
                    }
                    Counted::ChurnOnly => out.pending.churn += 1,
                    Counted::Unchanged => out.pending.unchanged += 1,
                    Counted::Neither => {}
                }
            }
        }
        out.upserts.push(TrackUpsert {
            slug,
            catalogue: entry.catalogue,
            metadata,
            geo,
        });
    }

    /// A job's checkpoint: the run as it stands once this batch is stored,
    /// committed with it. `None` for a run that is not a job.
    fn checkpoint(
        &self,
        acc: &Accumulator,
        pending: &Pending,
    ) -> Result<Option<BatchCheckpoint>, RepositoryError> {
        let Some(job) = &self.ctx.job else {
            return Ok(None);
        };
        let mut next = acc.clone();
        next.absorb(pending.clone());
        let state = next.into_carried(acc.started_at, &self.adapters.source.stats());
        let state = serde_json::to_value(&state)
            .map_err(|e| RepositoryError::Rejected(format!("encoding the checkpoint: {e}")))?;
        Ok(Some(BatchCheckpoint {
            lease: job.lease,
            state,
        }))
    }
}

/// What this run knows about a track's dashboard, counted; a fetched page's
/// invalid values are dropped and reported.
fn metadata_update(slug: &str, result: FetchResult, acc: &mut Accumulator) -> MetadataUpdate {
    match result {
        FetchResult::Skipped | FetchResult::Dropped => {
            acc.counts.dashboards_skipped += 1;
            MetadataUpdate::Unknown
        }
        FetchResult::Failed(e) => {
            acc.counts.dashboards_failed += 1;
            let entry = MetadataErrorEntry {
                slug: slug.to_owned(),
                class: e.class.as_str().to_owned(),
                message: e.message.clone(),
                attempts: e.attempts,
            };
            keep_first(&mut acc.metadata_errors, [entry], by_slug);
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
            let anomalies = sanitize_profile(slug, &mut profile);
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
    }
}

/// The dashboards stage's timings: the stage itself, the database's share
/// (its batches' p95) and, when configured, the geocoder's.
pub(super) fn record_timings(run: &mut Run<'_>, dash_started: Instant, geocoding: bool) {
    let acc = &run.acc;
    let db_total: Duration = acc.batch_latencies.iter().sum();
    run.timings.push(timing(
        Stage::Dashboards,
        dash_started.elapsed(),
        Some(format!(
            "{} fetched, {} not modified, {} failed",
            acc.counts.dashboards_fetched,
            acc.counts.dashboards_not_modified,
            acc.counts.dashboards_failed
        )),
    ));
    run.timings.push(timing(
        Stage::Database,
        db_total,
        Some(batch_detail(&acc.batch_latencies)),
    ));
    if geocoding {
        run.timings.push(timing(
            Stage::Geocoding,
            acc.geocode_time,
            Some(format!(
                "{} addresses",
                acc.counts.geocoded + acc.counts.geocode_failures
            )),
        ));
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
