//! What the end-to-end tests of this package share: a fresh Postgres
//! database per test, one "machine" (client, service, report writer) over it,
//! the API router served on loopback, and worker settings for tests.

use std::sync::Arc;
use std::time::Duration;

use ingest_app::config::{
    DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, SyncSettings,
};
use ingest_app::wiring::{SyncApp, build_sync_app};
use ingest_app::worker::WorkerConfig;
use ingest_core::MetadataMode;
use ingest_testdb as testing;
use liverc_sim::RunningSim;

/// Dashboards in flight and tracks per batch in every test machine.
pub(crate) const CONCURRENCY: u16 = 4;
pub(crate) const BATCH: u32 = 20;

/// A fresh Postgres database, dropped when the test ends.
pub(crate) struct TestDb {
    pub(crate) url: String,
    _db: testing::TestDb,
}

impl TestDb {
    pub(crate) async fn new() -> Self {
        let admin = testing::admin_url(std::env::var("MRE_TEST_DATABASE_URL").ok());
        let db = testing::TestDb::postgres(&admin, "api_e2e_").await;
        Self {
            url: db.url.clone(),
            _db: db,
        }
    }
}

pub(crate) fn sync_settings() -> SyncSettings {
    SyncSettings {
        metadata: MetadataMode::All,
        metadata_enabled: true,
        concurrency: CONCURRENCY,
        batch_size: BATCH,
        guard_max_share: 0.10,
        metadata_ttl_hours: 168,
        force: false,
        ..SyncSettings::default()
    }
}

/// One "machine": its own LiveRC client, service and report writer over the
/// shared database.
pub(crate) async fn machine(db: &TestDb, sim: &RunningSim, reports: &tempfile::TempDir) -> SyncApp {
    build_sync_app(
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
        &sync_settings(),
        &ReportSettings {
            report_dir: reports.path().to_path_buf(),
            retention_days: 0,
        },
        &GeocodeSettings::default(),
    )
    .await
    .expect("app wires up")
}

/// Worker settings for tests: quick polls and retries, progress every 100 ms.
pub(crate) fn worker_config(name: &str, lease: Duration, heartbeat: Duration) -> WorkerConfig {
    WorkerConfig {
        worker_id: name.to_owned(),
        lease,
        heartbeat,
        poll_interval: Duration::from_millis(200),
        progress_interval: Duration::from_millis(100),
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(1),
        dashboards_enabled: true,
        job_retention: None,
        prune_interval: Duration::from_secs(3600),
    }
}

/// The API router over `app`'s ports, served on loopback; its base URL.
pub(crate) async fn serve_api(
    app: &SyncApp,
    token: &str,
    scrape_enabled: bool,
    default_metadata: MetadataMode,
) -> String {
    let metrics = app.metrics.clone();
    let state = ingest_http::ApiState {
        jobs: app.jobs.clone(),
        tracks: app.repository.clone(),
        reports: app.reports.clone(),
        metrics: ingest_http::MetricsEndpoint::new(ingest_metrics::CONTENT_TYPE, move || {
            metrics.render()
        }),
        admin_tokens: ingest_http::AdminTokens::new([token]).expect("valid token"),
        job_defaults: ingest_http::JobDefaults {
            metadata: default_metadata,
            ..ingest_http::JobDefaults::default()
        },
        scrape_enabled,
        body_limit: ingest_http::DEFAULT_BODY_LIMIT,
        request_timeout: ingest_http::DEFAULT_REQUEST_TIMEOUT,
        database_timeout: ingest_http::DEFAULT_DATABASE_TIMEOUT,
        clock: Arc::new(ingest_core::SystemClock),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = ingest_http::serve(
            listener,
            ingest_http::router(state),
            ingest_http::ServerConfig::default(),
            std::future::pending(),
        )
        .await;
    });
    format!("http://{addr}")
}
