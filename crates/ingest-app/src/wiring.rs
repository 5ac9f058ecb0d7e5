//! Builds the concrete adapters and the `TrackSyncService` from configuration.

use std::sync::Arc;

use anyhow::Context as _;
use ingest_core::{SystemClock, TrackRepository, TrackSyncService};
use ingest_liverc::LiveRcSource;
use ingest_report::{MarkdownReportConfig, MarkdownReportWriter};

use crate::config::{
    DatabaseConfig, GeocodeSettings, GeocoderKind, LiveRcSettings, ReportSettings, SyncSettings,
    redact,
};

/// Everything a sync needs, wired.
pub struct SyncApp {
    pub service: Arc<TrackSyncService>,
    /// The same service over a store that writes nothing, with metrics of
    /// its own that no one exports: what dry-run jobs run on.
    pub dry_run_service: Arc<TrackSyncService>,
    pub repository: Arc<dyn TrackRepository>,
    pub jobs: Arc<dyn ingest_core::JobQueue>,
    pub reports: Arc<dyn ingest_core::ReportArchive>,
    pub report_writer: Arc<MarkdownReportWriter>,
    pub metrics: Arc<ingest_metrics::Metrics>,
    pub client: liverc::LiveRcClient,
    pub database_url: String,
}

impl std::fmt::Debug for SyncApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncApp").finish_non_exhaustive()
    }
}

/// Connect the database (migrating it), build the LiveRC client, the report
/// writer and the metrics, and the service over them.
pub async fn build_sync_app(
    database: &DatabaseConfig,
    liverc: &LiveRcSettings,
    sync: &SyncSettings,
    reports: &ReportSettings,
    geocode: &GeocodeSettings,
) -> anyhow::Result<SyncApp> {
    let (store, database_url) = open_database(database).await?;
    build_sync_app_on(
        store,
        database_url,
        Arc::new(ingest_metrics::Metrics::new()),
        liverc,
        sync,
        reports,
        geocode,
    )
}

/// Creates the report directory if missing and proves a file can be
/// written in it.
fn ensure_report_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("the report directory {} cannot be created", dir.display()))?;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("the report directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The metrics of a process that runs syncs: the sync metrics, with runs
/// held to `sla` (`MRE_TRACK_SYNC_SLA_SECONDS`), and the process's
/// `liverc_build_info{service}`.
pub fn sync_metrics(
    service: &str,
    sla: Option<std::time::Duration>,
) -> Arc<ingest_metrics::Metrics> {
    let mut metrics = ingest_metrics::Metrics::new().with_sla(sla);
    ingest_metrics::register_build_info(metrics.registry_mut(), service);
    Arc::new(metrics)
}

/// Connect the database named by the configuration and migrate it; the URL
/// is returned for messages (redact it before printing).
pub async fn open_database(
    database: &DatabaseConfig,
) -> anyhow::Result<(ingest_store::Store, String)> {
    let database_url = database.url();
    let store = ingest_store::open(&database_url)
        .await
        .with_context(|| format!("opening the database ({})", redact(&database_url)))?;
    Ok((store, database_url))
}

/// The LiveRC client, the report writer and the service over an open
/// database and the given metrics. Only a process that runs syncs needs
/// this: the API alone serves from the database, so a LiveRC or geocoder
/// setting it does not use cannot stop it starting.
pub fn build_sync_app_on(
    store: ingest_store::Store,
    database_url: String,
    metrics: Arc<ingest_metrics::Metrics>,
    liverc: &LiveRcSettings,
    sync: &SyncSettings,
    reports: &ReportSettings,
    geocode: &GeocodeSettings,
) -> anyhow::Result<SyncApp> {
    let ingest_store::Store {
        tracks: store,
        dry_run_tracks,
        reports: archive,
        jobs,
    } = store;
    let client = liverc::LiveRcClient::new(liverc.client_config(usize::from(sync.concurrency)))
        .context("building the LiveRC client")?;
    // Before any run: a report directory that cannot hold files is found
    // now, not after an hour of fetching.
    ensure_report_dir(&reports.report_dir)?;
    let report_writer = Arc::new(MarkdownReportWriter::new(MarkdownReportConfig {
        dir: reports.report_dir.clone(),
        retention_days: (reports.retention_days > 0).then_some(reports.retention_days),
        archive: Some(archive.clone()),
    }));
    let geocoder = build_geocoder(geocode)?;
    let service = Arc::new(TrackSyncService::new(
        Arc::new(LiveRcSource::new(client.clone())),
        store.clone(),
        metrics.clone(),
        Arc::new(SystemClock),
        geocoder.clone(),
    ));
    let dry_run_service = Arc::new(TrackSyncService::new(
        Arc::new(LiveRcSource::new(client.clone())),
        dry_run_tracks,
        Arc::new(ingest_metrics::Metrics::new()),
        Arc::new(SystemClock),
        geocoder,
    ));
    Ok(SyncApp {
        service,
        dry_run_service,
        repository: store,
        jobs,
        reports: archive,
        report_writer,
        metrics,
        client,
        database_url,
    })
}

/// The configured geocoder, if any.
pub fn build_geocoder(
    settings: &GeocodeSettings,
) -> anyhow::Result<Option<Arc<dyn ingest_core::Geocoder>>> {
    match settings.geocoder {
        GeocoderKind::Off => Ok(None),
        GeocoderKind::Nominatim => {
            let user_agent = settings
                .nominatim_user_agent
                .clone()
                .context("MRE_NOMINATIM_USER_AGENT must identify the application and a contact")?;
            let config = ingest_geocode::NominatimConfig {
                base_url: settings.nominatim_url.clone(),
                email: settings.nominatim_email.clone(),
                ..ingest_geocode::NominatimConfig::new(user_agent)
            };
            let geocoder = ingest_geocode::NominatimGeocoder::new(config)
                .map_err(|e| anyhow::anyhow!("Nominatim geocoder: {e}"))?;
            Ok(Some(Arc::new(geocoder)))
        }
    }
}

/// A job worker over `app`, as `ingest-worker` and `ingest-api
/// --with-worker` run it: jobs run with the configured sync options (a job's
/// own request overrides them), and alerts go to the configured webhook.
pub fn build_worker(
    app: &SyncApp,
    worker: &crate::config::WorkerSettings,
    sync: &SyncSettings,
    alerts: &crate::config::AlertSettings,
    public_url: Option<String>,
) -> anyhow::Result<crate::worker::Worker> {
    Ok(crate::worker::Worker::new(
        app.jobs.clone(),
        app.service.clone(),
        app.report_writer.clone(),
        sync.options(ingest_core::Trigger::Api),
        worker.worker_config(sync),
        build_alert_hook(alerts, public_url)?,
    )
    .with_dry_run_service(app.dry_run_service.clone()))
}

/// The alert hook of a worker, when a webhook is configured.
pub fn build_alert_hook(
    settings: &crate::config::AlertSettings,
    public_url: Option<String>,
) -> anyhow::Result<Option<crate::worker::AlertHook>> {
    let Some(url) = settings
        .webhook_url
        .clone()
        .filter(|u| !u.trim().is_empty())
    else {
        return Ok(None);
    };
    let format: ingest_alerts::WebhookFormat = settings
        .webhook_format
        .parse()
        .map_err(|e| anyhow::anyhow!("MRE_ALERT_WEBHOOK_FORMAT: {e}"))?;
    let config = ingest_alerts::WebhookConfig {
        format,
        timeout: std::time::Duration::from_secs(settings.webhook_timeout_seconds.max(1)),
        ..ingest_alerts::WebhookConfig::new(url)
    };
    let notifier = ingest_alerts::WebhookNotifier::new(config)
        .map_err(|e| anyhow::anyhow!("alert webhook: {e}"))?;
    Ok(Some(crate::worker::AlertHook {
        notifier: Arc::new(notifier),
        sla: settings.sla(),
        public_url,
    }))
}
