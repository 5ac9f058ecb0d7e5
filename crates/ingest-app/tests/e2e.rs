//! End to end: the LiveRC simulator on loopback → `LiveRcClient` → the
//! `TrackSyncService` → the repository (SQLite and Postgres) → the Markdown
//! report. Every test runs on both backends, each on its own fresh database.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ingest_app::config::{
    DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, SyncSettings,
};
use ingest_app::wiring::{SyncApp, build_sync_app};
use ingest_core::{
    MetadataMode, NoProgress, ReportError, ReportLocation, ReportWriter, RunReport, RunStatus,
    SOURCE_LIVERC, SyncSummary, TrackQuery, Trigger,
};
use ingest_testdb::{self as testing, TestDb};
use liverc_sim::{RunningSim, SimConfig, Simulator, TrackField, TrackPatch};

const TRACKS: usize = 300;

/// slug → {(field, old, new)}
type ChangesBySlug = BTreeMap<String, BTreeSet<(String, Option<String>, Option<String>)>>;

/// A fresh Postgres database for one test, dropped when it ends (each
/// SQLite test gets `TestDb::sqlite()`).
async fn postgres_db() -> TestDb {
    let admin = testing::admin_url(std::env::var("MRE_TEST_DATABASE_URL").ok());
    TestDb::postgres(&admin, "e2e_").await
}

/// The app's report writer, keeping the last report's data for assertions.
struct Capture {
    inner: std::sync::Arc<ingest_report::MarkdownReportWriter>,
    last: std::sync::Mutex<Option<RunReport>>,
}

#[async_trait::async_trait]
impl ReportWriter for Capture {
    async fn write(&self, report: &RunReport) -> Result<ReportLocation, ReportError> {
        *self.last.lock().expect("lock") = Some(report.clone());
        self.inner.write(report).await
    }
    async fn previous_completeness(
        &self,
        source: &str,
    ) -> Result<Option<ingest_core::Completeness>, ReportError> {
        self.inner.previous_completeness(source).await
    }
}

struct Env {
    sim: RunningSim,
    app: SyncApp,
    writer: Capture,
    reports: tempfile::TempDir,
    _db: TestDb,
}

async fn env(db: TestDb) -> Env {
    env_of(db, TRACKS).await
}

async fn env_of(db: TestDb, tracks: usize) -> Env {
    let sim = Simulator::start(
        SimConfig {
            tracks,
            latency: Duration::from_millis(1),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let reports = tempfile::tempdir().expect("report dir");
    let app = build_sync_app(
        &DatabaseConfig {
            database_url: Some(db.url.clone()),
        },
        &LiveRcSettings {
            scrape_enabled: true,
            catalogue_url: sim.catalogue_url(),
            track_url_template: sim.track_url_template(),
            user_agent: None,
            min_request_spacing_ms: 0,
            request_timeout_secs: 10,
            max_retries: 3,
            max_body_mib: 5,
            respect_robots: true,
        },
        &settings(MetadataMode::All),
        &ReportSettings {
            report_dir: reports.path().to_path_buf(),
            retention_days: 0,
        },
        &GeocodeSettings::default(),
    )
    .await
    .expect("app wires up");
    let writer = Capture {
        inner: app.report_writer.clone(),
        last: std::sync::Mutex::new(None),
    };
    Env {
        sim,
        app,
        writer,
        reports,
        _db: db,
    }
}

fn settings(mode: MetadataMode) -> SyncSettings {
    SyncSettings {
        metadata: mode,
        metadata_enabled: true,
        concurrency: 6,
        batch_size: 50,
        guard_max_share: 0.10,
        metadata_ttl_hours: 168,
        force: false,
        ..SyncSettings::default()
    }
}

impl Env {
    async fn sync(&self, mode: MetadataMode) -> (SyncSummary, RunReport) {
        self.sync_with(&settings(mode)).await
    }

    async fn sync_with(&self, settings: &SyncSettings) -> (SyncSummary, RunReport) {
        let summary = self
            .app
            .service
            .run_sync(&settings.options(Trigger::Cli), &self.writer, &NoProgress)
            .await;
        let report = self.report_data(&summary);
        (summary, report)
    }

    /// The report's data, re-read from the Markdown file's run: the file must
    /// exist, and the counts in it must be the summary's.
    fn report_data(&self, summary: &SyncSummary) -> RunReport {
        let path = PathBuf::from(summary.report_path.as_deref().expect("report written"));
        assert!(path.starts_with(self.reports.path()));
        let body = std::fs::read_to_string(&path).expect("report readable");
        assert!(body.contains(&summary.run_id.to_string()));
        self.writer
            .last
            .lock()
            .expect("lock")
            .take()
            .expect("the writer kept the report data")
    }
}

async fn first_run_inserts_every_track(db: TestDb) {
    let env = env(db).await;
    let (summary, report) = env.sync(MetadataMode::All).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(summary.tracks_total, TRACKS as u64);
    assert_eq!(summary.tracks_added, TRACKS as u64);
    assert_eq!(summary.metadata_fetched, TRACKS as u64);
    assert_eq!(summary.metadata_failures, 0);
    assert_eq!(report.new_tracks.len(), TRACKS);
    let stored = env
        .app
        .repository
        .count_tracks(SOURCE_LIVERC, true)
        .await
        .expect("count");
    assert_eq!(stored, TRACKS as u64);
    // Spot-check stored values against the simulator's records.
    let tracks = env
        .app
        .repository
        .list_tracks(
            SOURCE_LIVERC,
            TrackQuery {
                active_only: true,
                limit: 10_000,
                offset: 0,
            },
        )
        .await
        .expect("list");
    let by_slug: BTreeMap<_, _> = tracks.iter().map(|t| (t.slug.clone(), t)).collect();
    for record in env.sim.site().tracks().iter().take(50) {
        let stored = by_slug
            .get(&record.key())
            .unwrap_or_else(|| panic!("{} stored", record.key()));
        assert_eq!(stored.catalogue.name, record.name);
        assert_eq!(stored.profile.city, record.field(TrackField::City));
        assert_eq!(
            stored.profile.total_laps.map(|n| n.to_string()),
            record.field(TrackField::TotalLaps)
        );
        assert!(stored.metadata_fetched_at.is_some());
        assert!(stored.validators.etag.is_some());
    }
    assert!(env.sim.stats().max_in_flight <= 6);

    // The report is archived in the database, byte for byte the file.
    let archive = ingest_store::open(&env._db.url)
        .await
        .expect("reopen")
        .reports;
    let archived = archive
        .get_report(summary.run_id)
        .await
        .expect("read archive")
        .expect("report archived");
    let file =
        std::fs::read_to_string(summary.report_path.as_deref().expect("path")).expect("file");
    assert_eq!(archived.body, file);
    assert_eq!(archived.status, "succeeded");
    let listed = archive.list_reports(SOURCE_LIVERC, 10).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].run_id, summary.run_id);
}

async fn second_run_reports_exactly_the_mutations(db: TestDb) {
    let env = env(db).await;
    env.sync(MetadataMode::All).await;
    let site = env.sim.site();
    let slugs = site.catalogue_slugs();
    let mut log = site.add_tracks(3);
    log.merge(site.remove(&slugs[10]).expect("remove"));
    log.merge(site.remove(&slugs[11]).expect("remove"));
    log.merge(site.rename(&slugs[20], "Renamed Speedway").expect("rename"));
    log.merge(
        site.update(
            &slugs[30],
            &TrackPatch {
                phone: Some(Some("+1 919-555-0199".to_owned())),
                email: Some(Some("new-owner@example.com".to_owned())),
                ..TrackPatch::default()
            },
        )
        .expect("update"),
    );
    log.merge(
        site.update(
            &slugs[31],
            &TrackPatch {
                website: Some(Some("https://moved.example.org/".to_owned())),
                ..TrackPatch::default()
            },
        )
        .expect("update"),
    );
    // Churn only: lifetime stats.
    log.merge(
        site.update(
            &slugs[40],
            &TrackPatch {
                total_laps: Some(123_456_789),
                ..TrackPatch::default()
            },
        )
        .expect("update"),
    );

    let (summary, report) = env.sync(MetadataMode::All).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let previous = report
        .previous_completeness
        .expect("the first run's completeness, from the archive");
    assert_eq!(previous.active_tracks, TRACKS as u64);
    // The removed tracks wait out the grace period (2 runs by default).
    assert_eq!(report.completeness.active_tracks, TRACKS as u64 + 3);

    let new: BTreeSet<_> = report.new_tracks.iter().map(|t| t.slug.clone()).collect();
    assert_eq!(new, log.added.iter().cloned().collect());
    assert!(report.deactivated.is_empty());
    let pending: BTreeSet<_> = report
        .pending_deactivation
        .iter()
        .map(|t| (t.slug.clone(), t.missing_runs))
        .collect();
    assert_eq!(
        pending,
        log.removed.iter().map(|s| (s.clone(), 1)).collect()
    );

    // Expected profile changes, field by field, from the simulator's own log.
    let mut expected: ChangesBySlug = BTreeMap::new();
    for r in &log.renamed {
        expected.entry(r.slug.clone()).or_default().insert((
            "name".to_owned(),
            Some(r.old.clone()),
            Some(r.new.clone()),
        ));
    }
    for c in &log.changed {
        if c.field.as_str().starts_with("total_") || c.field.catalogue_only() {
            continue; // churn: counted, not listed
        }
        expected.entry(c.slug.clone()).or_default().insert((
            c.field.as_str().to_owned(),
            c.old.clone(),
            c.new.clone(),
        ));
    }
    let actual: ChangesBySlug = report
        .updated_tracks
        .iter()
        .map(|u| {
            (
                u.slug.clone(),
                u.changes
                    .iter()
                    .map(|c| (c.field.clone(), c.old_value.clone(), c.new_value.clone()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(summary.tracks_updated, expected.len() as u64);
    assert_eq!(summary.tracks_deactivated, 0);
    assert_eq!(summary.tracks_pending_deactivation, 2);
    assert_eq!(summary.tracks_added, 3);
    assert!(summary.tracks_churn_only >= 1);

    // Still missing the next time: deactivated.
    let (summary, report) = env.sync(MetadataMode::Changed).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let gone: BTreeSet<_> = report.deactivated.iter().map(|t| t.slug.clone()).collect();
    assert_eq!(gone, log.removed.iter().cloned().collect());
    assert!(report.pending_deactivation.is_empty());
}

/// A catalogue cut from 600 to 560 tracks deactivates nothing the first
/// time (40 pending), and the 40 the second time in a row; a full catalogue
/// in between starts the count again.
async fn a_cut_catalogue_waits_out_the_grace_period(db: TestDb) {
    let env = env_of(db, 600).await;
    let site = env.sim.site();
    let (first, _) = env.sync(MetadataMode::None).await;
    assert_eq!(first.tracks_added, 600);
    let cut: BTreeSet<String> = site.catalogue_slugs()[560..].iter().cloned().collect();
    let pending = |report: &RunReport| -> BTreeSet<(String, u32)> {
        report
            .pending_deactivation
            .iter()
            .map(|p| (p.slug.clone(), p.missing_runs))
            .collect()
    };
    let once: BTreeSet<(String, u32)> = cut.iter().map(|s| (s.clone(), 1)).collect();

    site.truncate_catalogue(Some(560));
    let (summary, report) = env.sync(MetadataMode::None).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(summary.tracks_deactivated, 0);
    assert_eq!(pending(&report), once);
    let body = std::fs::read_to_string(summary.report_path.as_deref().expect("report"))
        .expect("report file");
    assert!(
        body.contains("missing, pending deactivation (1 of 2)"),
        "{body}"
    );

    // The full catalogue again: every count resets.
    site.truncate_catalogue(None);
    let (summary, report) = env.sync(MetadataMode::None).await;
    assert_eq!(summary.tracks_deactivated, 0);
    assert!(report.pending_deactivation.is_empty());

    // Cut again: one missing run, not two.
    site.truncate_catalogue(Some(560));
    let (summary, report) = env.sync(MetadataMode::None).await;
    assert_eq!(summary.tracks_deactivated, 0);
    assert_eq!(pending(&report), once);

    // And again: now the 40 go.
    let (summary, report) = env.sync(MetadataMode::None).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(summary.tracks_deactivated, 40);
    let gone: BTreeSet<String> = report.deactivated.iter().map(|t| t.slug.clone()).collect();
    assert_eq!(gone, cut);
    assert!(report.pending_deactivation.is_empty());
    let active = env
        .app
        .repository
        .count_tracks(SOURCE_LIVERC, true)
        .await
        .expect("count");
    assert_eq!(active, 560);
}

/// A third of the tracks change city at once: applied (values replaced,
/// not lost), and flagged as a mass change in the summary and the report.
async fn a_mass_change_is_applied_and_flagged(db: TestDb) {
    let env = env(db).await;
    env.sync(MetadataMode::All).await;
    let site = env.sim.site();
    let movers: Vec<String> = site
        .tracks()
        .iter()
        .filter(|t| t.field(TrackField::City).is_some())
        .map(|t| t.key())
        .take(TRACKS / 3)
        .collect();
    for slug in &movers {
        site.update(
            slug,
            &TrackPatch {
                city: Some(Some("Shelbyville".to_owned())),
                ..TrackPatch::default()
            },
        )
        .expect("update");
    }
    let (summary, report) = env.sync(MetadataMode::All).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let flagged: Vec<&str> = summary
        .drift
        .iter()
        .filter(|f| f.mass_change)
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(flagged, ["city"]);
    assert_eq!(summary.tracks_updated, movers.len() as u64);
    let stored = env
        .app
        .repository
        .get_tracks(SOURCE_LIVERC, &movers)
        .await
        .expect("get");
    assert!(
        stored
            .iter()
            .all(|t| t.profile.city.as_deref() == Some("Shelbyville"))
    );
    let body = std::fs::read_to_string(summary.report_path.as_deref().expect("report"))
        .expect("report file");
    assert!(body.contains("| `city` | mass change, applied |"), "{body}");
    assert!(report.drift.expect("drift").mass_changes().count() == 1);
}

/// Three of 1,000 tracks really lose their phone number: the drift guard
/// does not hold the field, and the three are cleared and recorded.
async fn a_few_real_losses_are_not_held(db: TestDb) {
    let env = env_of(db, 1_000).await;
    env.sync(MetadataMode::All).await;
    let site = env.sim.site();
    let with_phone: Vec<String> = site
        .tracks()
        .iter()
        .filter(|t| t.field(TrackField::Phone).is_some())
        .map(|t| t.key())
        .take(3)
        .collect();
    assert_eq!(with_phone.len(), 3);
    for slug in &with_phone {
        site.update(
            slug,
            &TrackPatch {
                phone: Some(None),
                ..TrackPatch::default()
            },
        )
        .expect("update");
    }
    let (summary, report) = env.sync(MetadataMode::All).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert!(summary.drift.is_empty(), "{:?}", summary.drift);
    let phone = report
        .drift
        .as_ref()
        .and_then(|d| d.fields.iter().find(|f| f.field == "phone"))
        .expect("the phone's tally");
    assert_eq!(phone.lost, 3);
    assert_eq!(phone.decision, ingest_core::DriftDecision::Applied);
    assert_eq!(summary.tracks_updated, 3);
    let cleared: BTreeSet<String> = report
        .updated_tracks
        .iter()
        .filter(|u| {
            u.changes
                .iter()
                .any(|c| c.field == "phone" && c.new_value.is_none())
        })
        .map(|u| u.slug.clone())
        .collect();
    assert_eq!(cleared, with_phone.iter().cloned().collect());
    let stored = env
        .app
        .repository
        .get_tracks(SOURCE_LIVERC, &with_phone)
        .await
        .expect("get");
    assert!(stored.iter().all(|t| t.profile.phone.is_none()));
}

async fn truncated_catalogue_triggers_the_guard(db: TestDb) {
    let env = env(db).await;
    env.sync(MetadataMode::None).await;
    env.sim.site().truncate_catalogue(Some(TRACKS / 2));
    let (summary, report) = env.sync(MetadataMode::None).await;
    assert_eq!(summary.status, RunStatus::GuardRefused);
    assert_eq!(summary.tracks_deactivated, 0);
    let guard = report.guard.expect("guard decision");
    assert!(!guard.allowed);
    assert_eq!(guard.missing, (TRACKS - TRACKS / 2) as u64);
    let active = env
        .app
        .repository
        .count_tracks(SOURCE_LIVERC, true)
        .await
        .expect("count");
    assert_eq!(active, TRACKS as u64, "nothing deactivated");
}

async fn changed_mode_on_an_unchanged_site_fetches_no_bodies(db: TestDb) {
    let env = env(db).await;
    env.sync(MetadataMode::All).await;
    env.sim.reset_stats();
    let (summary, report) = env.sync(MetadataMode::Changed).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let stats = env.sim.stats();
    assert_eq!(
        stats.dashboard.status(200),
        0,
        "no dashboard body on an unchanged site: {:?}",
        stats.dashboard
    );
    assert_eq!(stats.dashboard.total, stats.dashboard.status(304));
    assert_eq!(summary.metadata_fetched, 0);
    assert_eq!(
        summary.metadata_not_modified + summary.metadata_skipped,
        TRACKS as u64
    );
    assert_eq!(summary.tracks_added, 0);
    assert_eq!(summary.tracks_updated, 0);
    assert_eq!(summary.tracks_deactivated, 0);
    assert!(report.updated_tracks.is_empty());
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::postgres_db().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    first_run_inserts_every_track,
    second_run_reports_exactly_the_mutations,
    truncated_catalogue_triggers_the_guard,
    changed_mode_on_an_unchanged_site_fetches_no_bodies,
    a_cut_catalogue_waits_out_the_grace_period,
    a_few_real_losses_are_not_held,
    a_mass_change_is_applied_and_flagged,
);
