//! Builds the concrete adapters and the `TrackSyncService` from configuration.

use std::sync::Arc;

use anyhow::Context as _;
use ingest_core::{SystemClock, TrackRepository, TrackSyncService};
use ingest_liverc::LiveRcSource;
use ingest_report::{MarkdownReportConfig, MarkdownReportWriter};

use crate::config::{
    DatabaseConfig, GeocodeSettings, GeocoderKind, LiveRcSettings, ReportSettings, SyncSettings,
};

/// Everything a sync needs, wired.
pub struct SyncApp {
    pub service: TrackSyncService,
    pub repository: Arc<dyn TrackRepository>,
    pub report_writer: MarkdownReportWriter,
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
    let database_url = database.url();
    let ingest_store::Store {
        tracks: store,
        reports: archive,
    } = ingest_store::open(&database_url)
        .await
        .with_context(|| format!("opening the database ({})", redact(&database_url)))?;
    let client = liverc::LiveRcClient::new(liverc.client_config(usize::from(sync.concurrency)))
        .context("building the LiveRC client")?;
    let metrics = Arc::new(ingest_metrics::Metrics::new());
    let report_writer = MarkdownReportWriter::new(MarkdownReportConfig {
        dir: reports.report_dir.clone(),
        retention_days: (reports.retention_days > 0).then_some(reports.retention_days),
        archive: Some(archive),
    });
    let service = TrackSyncService::new(
        Arc::new(LiveRcSource::new(client.clone())),
        store.clone(),
        metrics.clone(),
        Arc::new(SystemClock),
        build_geocoder(geocode)?,
    );
    Ok(SyncApp {
        service,
        repository: store,
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

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/tracks.db"), "sqlite://data/tracks.db");
    }
}
