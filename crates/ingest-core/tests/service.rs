//! Unit tests of `TrackSyncService` with a fake source, an in-memory
//! repository that records every call, and mockall mocks of the report
//! writer, metrics and geocoder.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use ingest_core::ports::geocoder::MockGeocoder;
use ingest_core::ports::report::MockReportWriter;
use ingest_core::*;

// ---------------------------------------------------------------- fakes ----

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0)
        .single()
        .expect("valid time")
}

struct FixedClock(Mutex<DateTime<Utc>>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

#[derive(Clone)]
struct FakeTrack {
    name: String,
    profile: TrackProfile,
    last_updated_at: Option<DateTime<Utc>>,
    /// Failures to serve before success (transient).
    fail_times: u32,
    /// Always fail with this class.
    fail_class: Option<SourceErrorClass>,
    etag: String,
}

#[derive(Default)]
struct FakeSource {
    tracks: Mutex<BTreeMap<String, FakeTrack>>,
    requests: Mutex<Vec<(String, Option<HttpValidators>)>>,
    catalogue_error: Mutex<Option<SourceError>>,
    /// Cancel this flag once this many dashboards were requested.
    cancel_after: Mutex<Option<(usize, CancelFlag)>>,
    /// Reading this slug's dashboard panics (a parser bug).
    panic_on: Mutex<Option<String>>,
    /// Every dashboard answers after this long (real time).
    delay: Mutex<Option<Duration>>,
    /// Dashboards answered (after any delay).
    answered: std::sync::atomic::AtomicUsize,
}

impl FakeSource {
    fn with_tracks(n: usize) -> Arc<Self> {
        let s = Self::default();
        {
            let mut t = s.tracks.lock().expect("lock");
            for i in 0..n {
                t.insert(
                    format!("track{i:03}"),
                    FakeTrack {
                        name: format!("Track {i}"),
                        profile: TrackProfile {
                            city: Some(format!("City {i}")),
                            country_code: Some("US".into()),
                            phone: Some("+1 252-291-4088".into()),
                            total_laps: Some(1000 + i as i64),
                            ..TrackProfile::default()
                        },
                        last_updated_at: Some(t0() - chrono::Duration::days(3)),
                        fail_times: 0,
                        fail_class: None,
                        etag: format!("\"v1-{i}\""),
                    },
                );
            }
        }
        Arc::new(s)
    }
    fn dashboard_requests(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }
    fn edit(&self, slug: &str, f: impl FnOnce(&mut FakeTrack)) {
        let mut t = self.tracks.lock().expect("lock");
        f(t.get_mut(slug).expect("known slug"));
    }
}

#[async_trait]
impl TrackSource for FakeSource {
    async fn catalogue(&self) -> Result<SourceCatalogue, SourceError> {
        if let Some(e) = self.catalogue_error.lock().expect("lock").clone() {
            return Err(e);
        }
        let tracks = self.tracks.lock().expect("lock");
        Ok(SourceCatalogue {
            fetched_at: t0(),
            entries: tracks
                .iter()
                .map(|(slug, t)| SourceEntry {
                    slug: slug.clone(),
                    catalogue: CatalogueFields {
                        name: t.name.clone(),
                        track_url: format!("https://{slug}.liverc.com/"),
                        events_url: format!("https://{slug}.liverc.com/results/"),
                        last_updated_text: Some("3 days ago".into()),
                        last_updated_at: t.last_updated_at,
                        is_live: false,
                        live_video: false,
                        status: "idle".into(),
                        featured: false,
                        current_event: None,
                    },
                })
                .collect(),
            skipped: vec![],
        })
    }

    async fn dashboard(
        &self,
        slug: &str,
        validators: Option<HttpValidators>,
    ) -> Result<DashboardOutcome, SourceError> {
        let n = {
            let mut r = self.requests.lock().expect("lock");
            r.push((slug.to_owned(), validators.clone()));
            r.len()
        };
        if let Some((after, flag)) = &*self.cancel_after.lock().expect("lock")
            && n >= *after
        {
            flag.cancel();
        }
        let delay = *self.delay.lock().expect("lock");
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let boom = self.panic_on.lock().expect("lock").as_deref() == Some(slug);
        assert!(!boom, "the parser met something it did not expect");
        let mut tracks = self.tracks.lock().expect("lock");
        let t = tracks.get_mut(slug).ok_or(SourceError {
            class: SourceErrorClass::Gone,
            message: "404".into(),
            attempts: 1,
        })?;
        if let Some(class) = t.fail_class {
            return Err(SourceError {
                class,
                message: "always failing".into(),
                attempts: 4,
            });
        }
        if t.fail_times > 0 {
            t.fail_times -= 1;
            return Err(SourceError {
                class: SourceErrorClass::Transient,
                message: "HTTP 503".into(),
                attempts: 4,
            });
        }
        let v = HttpValidators {
            etag: Some(t.etag.clone()),
            last_modified: None,
        };
        if validators.as_ref().and_then(|v| v.etag.as_ref()) == Some(&t.etag) {
            return Ok(DashboardOutcome::NotModified {
                validators: v,
                fetched_at: t0(),
                attempts: 1,
            });
        }
        Ok(DashboardOutcome::Fetched {
            profile: Box::new(t.profile.clone()),
            source_url: format!("https://{slug}.liverc.com/"),
            validators: v,
            fetched_at: t0(),
            attempts: 1,
        })
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            requests: self.dashboard_requests() as u64,
            ..SourceStats::default()
        }
    }
}

/// An in-memory repository with the contract's semantics, recording calls.
#[derive(Default)]
struct MemRepo {
    rows: Mutex<BTreeMap<String, StoredTrack>>,
    batches: Mutex<Vec<UpsertBatch>>,
    finishes: Mutex<Vec<FinishRun>>,
    fail_batches: Mutex<bool>,
    /// Refuse fenced writes as a superseded lease would be.
    lease_lost: Mutex<bool>,
    /// Consecutive complete catalogues each missing track was absent from.
    missing: Mutex<BTreeMap<String, u32>>,
}

#[async_trait]
impl TrackRepository for MemRepo {
    async fn snapshot(&self, _source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError> {
        Ok(self
            .rows
            .lock()
            .expect("lock")
            .values()
            .map(|t| TrackSnapshot {
                slug: t.slug.clone(),
                name: t.catalogue.name.clone(),
                is_active: t.is_active,
                last_updated_at: t.catalogue.last_updated_at,
                metadata_fetched_at: t.metadata_fetched_at,
                validators: t.validators.clone(),
                content_hash: t.content_hash.clone(),
                has_geo: t.geo.is_some(),
                last_seen_at: t.last_seen_at,
                deactivated_at: t.deactivated_at,
            })
            .collect())
    }

    async fn get_tracks(
        &self,
        _source: &str,
        slugs: &[String],
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        let rows = self.rows.lock().expect("lock");
        Ok(slugs.iter().filter_map(|s| rows.get(s).cloned()).collect())
    }

    async fn apply_batch(&self, batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError> {
        if *self.fail_batches.lock().expect("lock") {
            return Err(RepositoryError::Unavailable("database down".into()));
        }
        if let Some(cp) = &batch.checkpoint
            && *self.lease_lost.lock().expect("lock")
        {
            return Err(RepositoryError::LeaseLost(cp.lease.job_id));
        }
        self.batches.lock().expect("lock").push(batch.clone());
        let mut rows = self.rows.lock().expect("lock");
        let mut out = BatchOutcome::default();
        for u in &batch.tracks {
            let next_id = rows.len() as i64 + 1;
            let row = rows.entry(u.slug.clone()).or_insert_with(|| {
                out.inserted += 1;
                StoredTrack {
                    id: next_id,
                    source: batch.source.clone(),
                    slug: u.slug.clone(),
                    catalogue: u.catalogue.clone(),
                    profile: TrackProfile::default(),
                    geo: None,
                    metadata_fetched_at: None,
                    metadata_source_url: None,
                    validators: HttpValidators::default(),
                    content_hash: None,
                    is_active: true,
                    first_seen_at: batch.seen_at,
                    last_seen_at: batch.seen_at,
                    deactivated_at: None,
                    created_at: batch.seen_at,
                    updated_at: batch.seen_at,
                }
            });
            row.catalogue = u.catalogue.clone();
            match &u.metadata {
                MetadataUpdate::Unknown => {}
                MetadataUpdate::NotModified {
                    fetched_at,
                    validators,
                } => {
                    row.metadata_fetched_at = Some(*fetched_at);
                    row.validators = validators.clone();
                }
                MetadataUpdate::Fetched(m) => {
                    row.profile = m.profile.clone();
                    row.metadata_fetched_at = Some(m.fetched_at);
                    row.validators = m.validators.clone();
                    row.content_hash = m.content_hash.clone();
                    row.metadata_source_url = Some(m.source_url.clone());
                }
            }
            match &u.geo {
                GeoUpdate::Keep => {}
                GeoUpdate::Set(g) => row.geo = Some(g.clone()),
                GeoUpdate::Clear => row.geo = None,
            }
            if !row.is_active {
                row.is_active = true;
                row.deactivated_at = None;
                out.reactivated.push(u.slug.clone());
            }
            row.last_seen_at = batch.seen_at;
        }
        out.updated = batch.tracks.len() as u64 - out.inserted;
        out.changes_recorded = batch.changes.len() as u64;
        Ok(out)
    }

    async fn finish_run(&self, finish: &FinishRun) -> Result<FinishOutcome, RepositoryError> {
        self.finishes.lock().expect("lock").push(finish.clone());
        let mut out = FinishOutcome::default();
        let mut rows = self.rows.lock().expect("lock");
        for c in &finish.clear_fields {
            let Some(row) = rows.get_mut(&c.slug) else {
                continue;
            };
            let field = match c.field.as_str() {
                "street" => &mut row.profile.street,
                "city" => &mut row.profile.city,
                "postal_code" => &mut row.profile.postal_code,
                "phone" => &mut row.profile.phone,
                "email" => &mut row.profile.email,
                "website" => &mut row.profile.website,
                other => panic!("the test clears no {other}"),
            };
            if *field == c.old_value {
                *field = None;
                out.cleared.push(c.clone());
            }
        }
        let mut missing = self.missing.lock().expect("lock");
        missing.retain(|slug, _| !finish.listed.contains(slug));
        if finish.deactivate {
            let keep = &finish.listed;
            for row in rows.values_mut() {
                if row.is_active && !keep.contains(&row.slug) {
                    let runs = missing.entry(row.slug.clone()).or_default();
                    *runs += 1;
                    if *runs < finish.deactivate_after_missing_runs {
                        out.pending.push(ingest_core::PendingDeactivation {
                            slug: row.slug.clone(),
                            name: row.catalogue.name.clone(),
                            missing_runs: *runs,
                            last_seen_at: row.last_seen_at,
                        });
                        continue;
                    }
                    missing.remove(&row.slug);
                    row.is_active = false;
                    row.deactivated_at = Some(finish.finished_at);
                    out.deactivated.push(DeactivatedTrack {
                        slug: row.slug.clone(),
                        name: row.catalogue.name.clone(),
                        first_seen_at: row.first_seen_at,
                        last_seen_at: row.last_seen_at,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn sync_state(&self, _source: &str) -> Result<Option<SyncState>, RepositoryError> {
        Ok(None)
    }

    async fn list_tracks(
        &self,
        _source: &str,
        query: TrackQuery,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        Ok(self
            .rows
            .lock()
            .expect("lock")
            .values()
            .filter(|t| !query.active_only || t.is_active)
            .skip(query.offset as usize)
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn count_tracks(&self, _source: &str, active_only: bool) -> Result<u64, RepositoryError> {
        Ok(self
            .rows
            .lock()
            .expect("lock")
            .values()
            .filter(|t| !active_only || t.is_active)
            .count() as u64)
    }

    /// The operator's browser; the service never searches.
    async fn search_tracks(
        &self,
        _source: &str,
        text: &str,
        limit: u32,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        let text = text.to_lowercase();
        Ok(self
            .rows
            .lock()
            .expect("lock")
            .values()
            .filter(|t| t.catalogue.name.to_lowercase().contains(&text))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    /// This repository keeps no change rows: no history.
    async fn track_history(
        &self,
        _source: &str,
        _slug: &str,
        _limit: u32,
    ) -> Result<Vec<ingest_core::TrackChange>, RepositoryError> {
        Ok(Vec::new())
    }
}

struct Harness {
    source: Arc<FakeSource>,
    repo: Arc<MemRepo>,
    service: TrackSyncService,
}

fn harness(n: usize) -> Harness {
    harness_with(n, None)
}

fn harness_with(n: usize, geocoder: Option<Arc<dyn Geocoder>>) -> Harness {
    let source = FakeSource::with_tracks(n);
    let repo = Arc::new(MemRepo::default());
    let service = TrackSyncService::new(
        source.clone(),
        repo.clone(),
        Arc::new(NoMetrics),
        Arc::new(FixedClock(Mutex::new(t0()))),
        geocoder,
    );
    Harness {
        source,
        repo,
        service,
    }
}

/// A report writer mock that keeps the last report it was given.
fn writer(last: Arc<Mutex<Option<RunReport>>>) -> MockReportWriter {
    let mut w = MockReportWriter::new();
    w.expect_previous_completeness().returning(|_| Ok(None));
    w.expect_write().returning(move |r| {
        *last.lock().expect("lock") = Some(r.clone());
        Ok(ReportLocation {
            file_name: format!("track-sync-{}.md", r.run_id.simple()),
            path: Some(format!("/tmp/track-sync-{}.md", r.run_id.simple())),
        })
    });
    w
}

/// Options of the tests: small batches, no pause between tries, and a
/// missing track deactivated at once (the grace period has tests of its own).
fn options(mode: MetadataMode) -> SyncOptions {
    SyncOptions {
        metadata: mode,
        batch_size: 4,
        dashboard_retry_delay: Duration::from_millis(1),
        deactivate_after_missing_runs: 1,
        ..SyncOptions::default()
    }
}

async fn run(h: &Harness, opts: &SyncOptions) -> (SyncSummary, RunReport) {
    let last = Arc::new(Mutex::new(None));
    let w = writer(last.clone());
    let summary = h.service.run_sync(opts, &w, &NoProgress).await;
    let report = last.lock().expect("lock").take().expect("report written");
    (summary, report)
}

// ---------------------------------------------------------------- tests ----

#[tokio::test]
async fn first_run_inserts_every_track_with_its_dashboard() {
    let h = harness(10);
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.tracks_total, 10);
    assert_eq!(summary.tracks_added, 10);
    assert_eq!(summary.metadata_fetched, 10);
    assert_eq!(report.new_tracks.len(), 10);
    assert_eq!(h.source.dashboard_requests(), 10);
    let rows = h.repo.rows.lock().expect("lock");
    assert_eq!(rows["track003"].profile.city.as_deref(), Some("City 3"));
    assert!(rows["track003"].content_hash.is_some());
}

#[tokio::test]
async fn batches_respect_the_batch_size() {
    let h = harness(10);
    run(&h, &options(MetadataMode::All)).await;
    let sizes: Vec<usize> = h
        .repo
        .batches
        .lock()
        .expect("lock")
        .iter()
        .map(|b| b.tracks.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 10);
    assert_eq!(sizes, [4, 4, 2]);
}

#[tokio::test]
async fn mode_none_fetches_no_dashboard_and_keeps_stored_fields() {
    let h = harness(5);
    run(&h, &options(MetadataMode::All)).await;
    h.source
        .edit("track001", |t| t.profile.city = Some("Elsewhere".into()));
    let before = h.source.dashboard_requests();
    let (summary, _) = run(&h, &options(MetadataMode::None)).await;
    assert_eq!(h.source.dashboard_requests(), before);
    assert_eq!(summary.metadata_skipped, 5);
    assert_eq!(summary.tracks_updated, 0);
    let last = h.repo.batches.lock().expect("lock");
    assert!(
        last.last()
            .expect("batch")
            .tracks
            .iter()
            .all(|t| t.metadata == MetadataUpdate::Unknown)
    );
    assert_eq!(
        h.repo.rows.lock().expect("lock")["track001"]
            .profile
            .city
            .as_deref(),
        Some("City 1")
    );
}

#[tokio::test]
async fn mode_changed_asks_conditionally_only_where_activity_moved() {
    let h = harness(6);
    run(&h, &options(MetadataMode::All)).await;
    let before = h.source.dashboard_requests();
    // Unchanged site: nothing to ask.
    let (summary, _) = run(&h, &options(MetadataMode::Changed)).await;
    assert_eq!(h.source.dashboard_requests(), before);
    assert_eq!(summary.metadata_skipped, 6);
    assert_eq!(summary.tracks_unchanged, 6);

    // Activity after the last fetch on two tracks; one page really changed.
    for slug in ["track001", "track002"] {
        h.source.edit(slug, |t| {
            t.last_updated_at = Some(t0() + chrono::Duration::hours(1))
        });
    }
    h.source.edit("track002", |t| {
        t.profile.phone = Some("+1 252-291-4099".into());
        t.etag = "\"v2\"".into();
    });
    let (summary, report) = run(&h, &options(MetadataMode::Changed)).await;
    let reqs = h.source.requests.lock().expect("lock");
    let new_reqs = &reqs[before..];
    assert_eq!(new_reqs.len(), 2);
    assert!(
        new_reqs
            .iter()
            .all(|(_, v)| v.as_ref().and_then(|v| v.etag.as_ref()).is_some())
    );
    assert_eq!(summary.metadata_not_modified, 1);
    assert_eq!(summary.metadata_fetched, 1);
    assert_eq!(summary.tracks_updated, 1);
    assert_eq!(report.updated_tracks[0].slug, "track002");
    assert_eq!(report.updated_tracks[0].changes[0].field, "phone");
    assert_eq!(
        report.updated_tracks[0].changes[0].new_value.as_deref(),
        Some("+1 252-291-4099")
    );
}

#[tokio::test]
async fn the_diff_separates_profile_changes_from_churn() {
    let h = harness(4);
    run(&h, &options(MetadataMode::All)).await;
    h.source
        .edit("track000", |t| t.name = "Renamed Raceway".into());
    h.source
        .edit("track001", |t| t.profile.total_laps = Some(99_999));
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.tracks_updated, 1);
    assert_eq!(summary.tracks_churn_only, 1);
    assert_eq!(summary.tracks_unchanged, 2);
    assert_eq!(report.updated_tracks[0].changes[0].field, "name");
    assert_eq!(
        report.updated_tracks[0].changes[0].old_value.as_deref(),
        Some("Track 0")
    );
    let batches = h.repo.batches.lock().expect("lock");
    let changes: Vec<_> = batches.iter().flat_map(|b| b.changes.iter()).collect();
    assert_eq!(changes.len(), 1, "churn is not historised");
    assert_eq!(changes[0].slug, "track000");
}

#[tokio::test]
async fn a_failing_dashboard_is_retried_then_recorded_and_keeps_its_fields() {
    let h = harness(3);
    run(&h, &options(MetadataMode::All)).await;
    // Two transient failures: the service's two extra tries recover it.
    h.source.edit("track000", |t| t.fail_times = 2);
    // Always failing: recorded as a metadata error after 1 + 2 tries.
    h.source.edit("track001", |t| {
        t.fail_class = Some(SourceErrorClass::Transient);
        t.profile.city = Some("Should not be stored".into());
    });
    let before = h.source.dashboard_requests();
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    let reqs = h.source.requests.lock().expect("lock")[before..].to_vec();
    assert_eq!(reqs.iter().filter(|(s, _)| s == "track000").count(), 3);
    assert_eq!(reqs.iter().filter(|(s, _)| s == "track001").count(), 3);
    assert_eq!(summary.metadata_failures, 1);
    assert_eq!(
        summary.retries, 4,
        "2 extra tries for each of the two tracks"
    );
    assert_eq!(report.metadata_errors.len(), 1);
    let err = &report.metadata_errors[0];
    assert_eq!(err.slug, "track001");
    assert_eq!(err.class, "transient");
    assert_eq!(err.attempts, 12, "3 service tries × 4 client attempts");
    // Null preservation: the failed track's stored fields stay.
    assert_eq!(
        h.repo.rows.lock().expect("lock")["track001"]
            .profile
            .city
            .as_deref(),
        Some("City 1")
    );
    assert_eq!(summary.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn gone_dashboards_are_not_retried() {
    let h = harness(2);
    h.source
        .edit("track000", |t| t.fail_class = Some(SourceErrorClass::Gone));
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(
        h.source
            .requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|(s, _)| s == "track000")
            .count(),
        1
    );
    assert_eq!(summary.metadata_failures, 1);
    assert_eq!(report.metadata_errors[0].class, "gone");
}

#[tokio::test]
async fn the_guard_refuses_mass_deactivation_unless_forced() {
    let h = harness(20);
    run(&h, &options(MetadataMode::None)).await;
    // The catalogue shrinks to 15 of 20 (25% missing > 10%).
    {
        let mut t = h.source.tracks.lock().expect("lock");
        for i in 15..20 {
            t.remove(&format!("track{i:03}"));
        }
    }
    let (summary, report) = run(&h, &options(MetadataMode::None)).await;
    assert_eq!(summary.status, RunStatus::GuardRefused);
    assert_eq!(summary.tracks_deactivated, 0);
    let guard = report.guard.expect("guard decision");
    assert!(!guard.allowed);
    assert_eq!(guard.missing, 5);
    assert_eq!(guard.active_before, 20);
    assert!(
        !h.repo
            .finishes
            .lock()
            .expect("lock")
            .last()
            .expect("finish")
            .deactivate
    );
    assert!(
        h.repo
            .rows
            .lock()
            .expect("lock")
            .values()
            .all(|t| t.is_active)
    );

    let forced = SyncOptions {
        force: true,
        ..options(MetadataMode::None)
    };
    let (summary, report) = run(&h, &forced).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.tracks_deactivated, 5);
    assert_eq!(report.deactivated.len(), 5);
}

#[tokio::test]
async fn a_missing_track_waits_out_the_grace_period_and_the_report_lists_it() {
    let h = harness(20);
    let grace = SyncOptions {
        deactivate_after_missing_runs: 2,
        ..options(MetadataMode::None)
    };
    run(&h, &grace).await;
    h.source.tracks.lock().expect("lock").remove("track007");
    let (summary, report) = run(&h, &grace).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.tracks_deactivated, 0);
    assert_eq!(report.counts.pending_deactivation, 1);
    assert_eq!(report.pending_deactivation[0].slug, "track007");
    assert_eq!(report.pending_deactivation[0].missing_runs, 1);
    let finish = h.repo.finishes.lock().expect("lock").last().cloned();
    assert_eq!(finish.expect("finish").deactivate_after_missing_runs, 2);
    let (summary, report) = run(&h, &grace).await;
    assert_eq!(summary.tracks_deactivated, 1);
    assert!(report.pending_deactivation.is_empty());
}

#[tokio::test]
async fn small_removals_deactivate_and_reappearance_reactivates() {
    let h = harness(20);
    run(&h, &options(MetadataMode::None)).await;
    let removed = h
        .source
        .tracks
        .lock()
        .expect("lock")
        .remove("track007")
        .expect("present");
    let (summary, _) = run(&h, &options(MetadataMode::None)).await;
    assert_eq!(summary.tracks_deactivated, 1);
    h.source
        .tracks
        .lock()
        .expect("lock")
        .insert("track007".into(), removed);
    let (summary, report) = run(&h, &options(MetadataMode::None)).await;
    assert_eq!(summary.tracks_reactivated, 1);
    assert_eq!(report.reactivated[0].slug, "track007");
    assert!(report.reactivated[0].inactive_since.is_some());
}

#[tokio::test]
async fn a_catalogue_format_error_fails_the_run_and_touches_nothing() {
    let h = harness(3);
    *h.source.catalogue_error.lock().expect("lock") = Some(SourceError {
        class: SourceErrorClass::Format,
        message: "no track rows".into(),
        attempts: 1,
    });
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.status, RunStatus::FormatError);
    assert!(report.error.expect("error").contains("no track rows"));
    assert!(h.repo.batches.lock().expect("lock").is_empty());
    assert!(h.repo.finishes.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_dead_database_fails_the_run_without_deactivating() {
    let h = harness(3);
    run(&h, &options(MetadataMode::None)).await;
    *h.repo.fail_batches.lock().expect("lock") = true;
    let finishes_before = h.repo.finishes.lock().expect("lock").len();
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(report.error.expect("error").contains("database down"));
    assert_eq!(h.repo.finishes.lock().expect("lock").len(), finishes_before);
}

#[tokio::test]
async fn invalid_values_are_not_stored_and_are_reported() {
    let h = harness(2);
    h.source.edit("track000", |t| {
        t.profile.phone = Some("555-RACE".into());
        t.profile.email = Some("info@mudrunners".into());
    });
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.validation_anomalies, 2);
    let rules: Vec<_> = report
        .anomalies
        .iter()
        .map(|a| (a.field.as_str(), a.rule.as_str()))
        .collect();
    assert!(rules.contains(&("phone", "not a valid number for US")));
    assert!(rules.contains(&("email", "no domain")));
    let rows = h.repo.rows.lock().expect("lock");
    assert_eq!(rows["track000"].profile.phone, None);
    assert_eq!(
        rows["track001"].profile.phone.as_deref(),
        Some("+1 252-291-4088")
    );
}

#[tokio::test]
async fn geocoding_only_for_new_or_moved_addresses_and_cached() {
    let mut geo = MockGeocoder::new();
    geo.expect_provider().returning(|| "test".to_owned());
    geo.expect_geocode().times(2).returning(|_, _| {
        Ok(Some(Coordinates {
            latitude: 35.0,
            longitude: -78.0,
        }))
    });
    let h = harness_with(2, Some(Arc::new(geo)));
    let (summary, _) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    // A second run with unchanged addresses asks nothing (times(2) above).
    let (_, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(report.counts.geocoded, 0);
    let rows = h.repo.rows.lock().expect("lock");
    let g = rows["track000"].geo.as_ref().expect("coordinates stored");
    assert_eq!(g.provider, "test");
    assert_eq!(g.query, "city 0, us");
}

#[tokio::test]
async fn cancellation_stops_before_the_next_batch() {
    let h = harness(10);
    let ctx = RunContext::default();
    ctx.cancel.cancel();
    let last = Arc::new(Mutex::new(None));
    let w = writer(last.clone());
    let summary = h
        .service
        .run_sync_with(&options(MetadataMode::All), &ctx, &w, &NoProgress)
        .await;
    assert_eq!(summary.status, RunStatus::Cancelled);
    assert_eq!(h.source.dashboard_requests(), 0);
    assert!(h.repo.finishes.lock().expect("lock").is_empty());
}

/// The checkpoint a job store would hold after these batches.
fn checkpoint_of(batches: &[UpsertBatch]) -> Checkpoint {
    Checkpoint {
        done_slugs: batches
            .iter()
            .flat_map(|b| b.tracks.iter().map(|t| t.slug.clone()))
            .collect(),
        state: batches
            .last()
            .and_then(|b| b.checkpoint.as_ref())
            .map(|c| c.state.clone()),
    }
}

#[tokio::test]
async fn a_cancelled_job_resumes_from_its_checkpoint_and_reports_every_attempt() {
    let h = harness(20);
    let opts = options(MetadataMode::All);
    let job_id = uuid::Uuid::now_v7();
    let first = RunContext {
        run_id: job_id,
        attempt: 1,
        job: Some(JobBinding {
            lease: Lease { job_id, token: 1 },
            checkpoint: Checkpoint::default(),
        }),
        ..RunContext::default()
    };
    *h.source.cancel_after.lock().expect("lock") = Some((7, first.cancel.clone()));
    let last = Arc::new(Mutex::new(None));
    let w = writer(last.clone());
    let summary = h
        .service
        .run_sync_with(&opts, &first, &w, &NoProgress)
        .await;
    assert_eq!(summary.status, RunStatus::Cancelled);
    let after_first = h.source.dashboard_requests();
    // What was fetched before the cancel is stored, not thrown away.
    let batches = h.repo.batches.lock().expect("lock").clone();
    let stored: usize = batches.iter().map(|b| b.tracks.len()).sum();
    assert!((7..20).contains(&stored), "stored {stored} of 20");
    assert_eq!(stored, after_first, "every fetched dashboard was stored");
    assert!(
        batches
            .iter()
            .all(|b| b.checkpoint.as_ref().is_some_and(|c| c.lease.token == 1))
    );
    assert!(
        h.repo.finishes.lock().expect("lock").is_empty(),
        "no deactivation on cancel"
    );

    *h.source.cancel_after.lock().expect("lock") = None;
    let checkpoint = checkpoint_of(&batches);
    let second = RunContext {
        run_id: job_id,
        attempt: 2,
        job: Some(JobBinding {
            lease: Lease { job_id, token: 2 },
            checkpoint: checkpoint.clone(),
        }),
        ..RunContext::default()
    };
    let summary = h
        .service
        .run_sync_with(&opts, &second, &w, &NoProgress)
        .await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    // Only what was left is fetched again.
    assert_eq!(h.source.dashboard_requests(), 20);
    let later = h.repo.batches.lock().expect("lock")[batches.len()..].to_vec();
    for b in &later {
        assert_eq!(b.checkpoint.as_ref().map(|c| c.lease.token), Some(2));
        for t in &b.tracks {
            assert!(
                !checkpoint.done_slugs.contains(&t.slug),
                "{} stored twice",
                t.slug
            );
        }
    }
    // One report over both attempts.
    let report = last.lock().expect("lock").take().expect("report");
    assert_eq!(report.run_id, job_id);
    assert_eq!(report.attempt, 2);
    assert_eq!(report.counts.new, 20);
    assert_eq!(report.new_tracks.len(), 20);
    assert_eq!(report.counts.dashboards_fetched, 20);
    assert_eq!(summary.tracks_added, 20);
    assert_eq!(h.repo.rows.lock().expect("lock").len(), 20);
}

#[tokio::test]
async fn a_lost_lease_stops_the_run_and_writes_no_report() {
    let h = harness(6);
    *h.repo.lease_lost.lock().expect("lock") = true;
    let job_id = uuid::Uuid::now_v7();
    let ctx = RunContext {
        run_id: job_id,
        job: Some(JobBinding {
            lease: Lease { job_id, token: 1 },
            checkpoint: Checkpoint::default(),
        }),
        ..RunContext::default()
    };
    let mut w = MockReportWriter::new();
    w.expect_previous_completeness().returning(|_| Ok(None));
    w.expect_write().times(0);
    let summary = h
        .service
        .run_sync_with(&options(MetadataMode::All), &ctx, &w, &NoProgress)
        .await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(
        summary
            .error
            .as_deref()
            .is_some_and(|e| e.contains("lease"))
    );
    assert!(h.repo.finishes.lock().expect("lock").is_empty());
    assert!(h.repo.rows.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_writer_that_stops_early_never_leaves_the_fetcher_waiting() {
    // Far more tracks than the hand-over channel holds: when the first batch
    // fails, the fetcher must notice instead of blocking on a full channel.
    let h = harness(200);
    *h.repo.fail_batches.lock().expect("lock") = true;
    let (summary, _) = tokio::time::timeout(
        Duration::from_secs(20),
        run(&h, &options(MetadataMode::All)),
    )
    .await
    .expect("the run ends instead of hanging");
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(
        h.source.dashboard_requests() < 200,
        "fetching stopped early"
    );
}

#[tokio::test]
async fn a_panic_reading_one_dashboard_fails_that_track_not_the_run() {
    let h = harness(3);
    run(&h, &options(MetadataMode::All)).await;
    h.source.edit("track001", |t| {
        t.profile.city = Some("Should not be stored".into());
    });
    *h.source.panic_on.lock().expect("lock") = Some("track001".into());
    let (summary, report) = run(&h, &options(MetadataMode::All)).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.metadata_failures, 1);
    assert_eq!(report.metadata_errors.len(), 1);
    assert_eq!(report.metadata_errors[0].slug, "track001");
    assert_eq!(report.metadata_errors[0].class, "format");
    // Null preservation, as for any failed dashboard.
    assert_eq!(
        h.repo.rows.lock().expect("lock")["track001"]
            .profile
            .city
            .as_deref(),
        Some("City 1")
    );
}

/// Dashboards are fetched on tasks of their own; dropping the run (an
/// aborted worker) aborts them, so no request outlives its run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_aborts_its_dashboard_fetches() {
    let h = Arc::new(harness(12));
    *h.source.delay.lock().expect("lock") = Some(Duration::from_millis(300));
    let run_task = tokio::spawn({
        let h = h.clone();
        async move {
            let w = writer(Arc::new(Mutex::new(None)));
            h.service
                .run_sync(&options(MetadataMode::All), &w, &NoProgress)
                .await
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.source.dashboard_requests() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no dashboard requested"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    run_task.abort();
    assert!(run_task.await.is_err_and(|e| e.is_cancelled()));
    let requested = h.source.dashboard_requests();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        h.source.answered.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no fetch of the {requested} in flight went on after the run was dropped"
    );
    assert_eq!(h.source.dashboard_requests(), requested, "and none started");
}
