//! The run's first stages and its plan: the catalogue (one request), the
//! snapshot of what is stored (one query), and from them what this attempt
//! processes and which dashboards it requests, with which validators.
//!
//! Architecture invariant: a stage; reads the source and the repository,
//! writes nothing.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::domain::run::{MetadataMode, RunStatus, Stage, SyncOptions};
use crate::domain::track::{HttpValidators, TrackSnapshot};
use crate::ports::source::{SourceCatalogue, SourceEntry, SourceErrorClass};
use crate::service::lists::keep;
use crate::service::run::{Adapters, Run, Stop, timing};

/// What the run knows once the catalogue and the snapshot are read: read
/// only for every later stage.
#[derive(Debug)]
pub(super) struct Plan {
    /// When the catalogue was read: every track stored this run is seen at it.
    pub(super) catalogue_time: DateTime<Utc>,
    /// Every slug of the catalogue, those an earlier attempt stored included.
    pub(super) listed: Vec<String>,
    /// Every stored track of the source, lean, by slug: the diff baseline.
    pub(super) snapshot: HashMap<String, TrackSnapshot>,
    /// Active stored tracks before the run.
    pub(super) active_before: u64,
}

/// Clamp options to sane ranges.
pub(super) fn normalise_options(options: &SyncOptions) -> SyncOptions {
    let mut o = options.clone();
    o.concurrency = o.concurrency.clamp(1, 64);
    o.batch_size = o.batch_size.clamp(1, 10_000);
    o.guard_max_deactivate_share = o.guard_max_deactivate_share.clamp(0.0, 1.0);
    o.drift_max_loss_share = o.drift_max_loss_share.clamp(0.0, 1.0);
    o.deactivate_after_missing_runs = o.deactivate_after_missing_runs.max(1);
    o
}

/// Stage 1: the catalogue. A format error fails the run before anything is
/// written: a page of the wrong shape never looks like an empty catalogue.
pub(super) async fn read_catalogue(
    adapters: &Adapters,
    run: &mut Run<'_>,
) -> Result<SourceCatalogue, Stop> {
    run.enter(Stage::Catalogue);
    let t = Instant::now();
    let catalogue = adapters.source.catalogue().await;
    run.timings
        .push(timing(Stage::Catalogue, t.elapsed(), None));
    let catalogue = catalogue.map_err(|e| {
        let status = if e.class == SourceErrorClass::Format {
            RunStatus::FormatError
        } else {
            RunStatus::Failed
        };
        warn!(error = %e, "catalogue unavailable");
        Stop::new(status, format!("catalogue: {e}"))
    })?;
    run.total = catalogue.entries.len() as u64;
    run.acc.counts.catalogue_rows = run.total;
    run.acc.counts.skipped_rows = catalogue.skipped.len() as u64;
    keep(
        &mut run.report.skipped_rows,
        catalogue.skipped.iter().cloned(),
    );
    info!(
        tracks = run.total,
        skipped = catalogue.skipped.len(),
        "catalogue read"
    );
    Ok(catalogue)
}

/// Stage 2: the snapshot, and the plan: the catalogue's entries this attempt
/// processes (those an earlier attempt stored are not fetched again).
pub(super) async fn plan(
    adapters: &Adapters,
    run: &mut Run<'_>,
    catalogue: SourceCatalogue,
) -> Result<(Plan, Vec<SourceEntry>), Stop> {
    run.enter(Stage::Diff);
    let t = Instant::now();
    let snapshot = adapters
        .repository
        .snapshot(&run.options.source)
        .await
        .map_err(|e| Stop::new(RunStatus::Failed, format!("loading stored tracks: {e}")))?;
    let snapshot: HashMap<String, TrackSnapshot> =
        snapshot.into_iter().map(|s| (s.slug.clone(), s)).collect();
    let active_before = snapshot.values().filter(|s| s.is_active).count() as u64;
    run.timings.push(timing(
        Stage::Diff,
        t.elapsed(),
        Some(format!("{} stored tracks", snapshot.len())),
    ));
    let SourceCatalogue {
        fetched_at: catalogue_time,
        entries,
        ..
    } = catalogue;
    let listed: Vec<String> = entries.iter().map(|e| e.slug.clone()).collect();
    let entries: Vec<SourceEntry> = if run.done.is_empty() {
        entries
    } else {
        entries
            .into_iter()
            .filter(|e| !run.done.contains(&e.slug))
            .collect()
    };
    let plan = Plan {
        catalogue_time,
        listed,
        snapshot,
        active_before,
    };
    Ok((plan, entries))
}

/// Which dashboards to request, and with which validators. `None`: skip.
pub(super) fn plan_fetch(
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
