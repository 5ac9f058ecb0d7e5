//! Typed configuration, one struct per concern. Every field is a flag with an
//! environment fallback; `docs/configuration.md` and `.env.example` list them.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ingest_core::{MetadataMode, SyncOptions, Trigger};

/// The embedded database used when no URL is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tracks.db";

/// [`ingest_core::MAX_CONCURRENCY`] as clap's range bound: every
/// `--concurrency` (sync, demo, remote sync, worker, API) refuses what the
/// API refuses.
#[expect(clippy::cast_possible_wrap, reason = "32 fits in i64")]
pub const CONCURRENCY_ARG_MAX: i64 = ingest_core::MAX_CONCURRENCY as i64;

/// Where tracks are stored.
#[derive(Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: `postgres://…` or `sqlite://PATH`. Default: the embedded
    /// SQLite database `data/tracks.db`, created on first use.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("database_url", &self.database_url.as_deref().map(redact))
            .finish()
    }
}

impl DatabaseConfig {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }
}

/// How the LiveRC site is reached.
#[derive(Debug, Clone, Args)]
pub struct LiveRcSettings {
    /// Kill switch: `false` stops every request to LiveRC before it is sent.
    #[arg(long = "scrape-enabled", env = "MRE_SCRAPE_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub scrape_enabled: bool,
    /// The catalogue page.
    #[arg(
        long = "catalogue-url",
        env = "MRE_LIVERC_CATALOGUE_URL",
        default_value = "https://live.liverc.com/"
    )]
    pub catalogue_url: String,
    /// A track's dashboard URL; `{slug}` is replaced.
    #[arg(
        long = "track-url-template",
        env = "MRE_LIVERC_TRACK_URL_TEMPLATE",
        default_value = "https://{slug}.liverc.com/"
    )]
    pub track_url_template: String,
    /// User-Agent sent to LiveRC; must name the service and a contact.
    #[arg(long = "user-agent", env = "MRE_LIVERC_USER_AGENT")]
    pub user_agent: Option<String>,
    /// Minimum gap between request starts, in milliseconds.
    #[arg(
        long = "min-request-spacing-ms",
        env = "MRE_LIVERC_MIN_REQUEST_SPACING_MS",
        default_value_t = 0
    )]
    pub min_request_spacing_ms: u64,
    /// Whole-response timeout, in seconds.
    #[arg(
        long = "request-timeout-secs",
        env = "MRE_LIVERC_REQUEST_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub request_timeout_secs: u64,
    /// Client retries per request (connect errors, timeouts, 5xx, 429).
    #[arg(
        long = "max-retries",
        env = "MRE_LIVERC_MAX_RETRIES",
        default_value_t = 3
    )]
    pub max_retries: u32,
    /// Largest response body accepted, in MiB (the real catalogue is under 1 MiB).
    #[arg(
        long = "max-body-mib",
        env = "MRE_LIVERC_MAX_BODY_MIB",
        default_value_t = 5
    )]
    pub max_body_mib: u64,
    /// Obey robots.txt (Disallow and Crawl-delay).
    #[arg(long = "respect-robots", env = "MRE_LIVERC_RESPECT_ROBOTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub respect_robots: bool,
}

impl LiveRcSettings {
    /// The connector's configuration, with `max_in_flight` = the sync's concurrency.
    pub fn client_config(&self, max_in_flight: usize) -> liverc::LiveRcConfig {
        let defaults = liverc::LiveRcConfig::default();
        liverc::LiveRcConfig {
            catalogue_url: self.catalogue_url.clone(),
            track_url_template: self.track_url_template.clone(),
            user_agent: self.user_agent.clone().unwrap_or(defaults.user_agent),
            read_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            max_in_flight: max_in_flight.max(1),
            min_request_spacing: Duration::from_millis(self.min_request_spacing_ms),
            retry: liverc::client::RetryPolicy {
                max_retries: self.max_retries,
                ..defaults.retry
            },
            max_body_bytes: usize::try_from(self.max_body_mib.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            respect_robots: self.respect_robots,
            enabled: self.scrape_enabled,
            ..defaults
        }
    }
}

/// What one sync does.
#[derive(Debug, Clone, Args)]
pub struct SyncSettings {
    /// Which dashboards to fetch: all, changed (conditional, only where
    /// activity moved or the TTL passed), none.
    #[arg(
        long = "metadata",
        env = "MRE_TRACK_SYNC_METADATA_MODE",
        default_value = "all"
    )]
    pub metadata: MetadataMode,
    /// `false` turns dashboards off entirely (same as `--metadata none`).
    #[arg(long = "metadata-enabled", env = "MRE_TRACK_SYNC_METADATA_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub metadata_enabled: bool,
    /// Dashboards in flight at once (also the client's global cap), 1–32.
    #[arg(long = "concurrency", env = "MRE_TRACK_SYNC_METADATA_CONCURRENCY", default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=CONCURRENCY_ARG_MAX))]
    pub concurrency: u16,
    /// Tracks per database batch.
    #[arg(long = "batch-size", env = "MRE_TRACK_SYNC_BATCH_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Refuse to deactivate more than this share (0–1) of active tracks.
    #[arg(
        long = "guard-max-share",
        env = "MRE_TRACK_SYNC_GUARD_MAX_DEACTIVATE_SHARE",
        default_value_t = 0.10,
        value_parser = parse_share
    )]
    pub guard_max_share: f64,
    /// In `changed` mode, dashboards older than this many hours are fetched again.
    #[arg(
        long = "metadata-ttl-hours",
        env = "MRE_TRACK_SYNC_METADATA_TTL_HOURS",
        default_value_t = 168
    )]
    pub metadata_ttl_hours: u64,
    /// Deactivate even when the guard would refuse, and without waiting out
    /// the grace period: the catalogue really shrank.
    #[arg(long = "force")]
    pub force: bool,
    /// A track missing from a complete catalogue is deactivated once it has
    /// been missing from this many consecutive complete catalogues (1: at
    /// once).
    #[arg(
        long = "deactivate-after-missing-runs",
        env = "MRE_TRACK_SYNC_DEACTIVATE_AFTER_MISSING_RUNS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub deactivate_after_missing_runs: u32,
    /// The markup-drift guard: a profile field that vanishes from more than
    /// this share (0–1) of the fetched tracks that had it is kept as stored
    /// for every track, and the run ends `drift_suspected`.
    #[arg(
        long = "drift-max-share",
        env = "MRE_TRACK_SYNC_DRIFT_MAX_LOSS_SHARE",
        default_value_t = ingest_core::drift::DEFAULT_MAX_LOSS_SHARE,
        value_parser = parse_share
    )]
    pub drift_max_share: f64,
    /// …provided at least this many tracks lost it.
    #[arg(
        long = "drift-min-tracks",
        env = "MRE_TRACK_SYNC_DRIFT_MIN_TRACKS",
        default_value_t = ingest_core::drift::DEFAULT_MIN_TRACKS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub drift_min_tracks: u64,
    /// Accept the loss of these profile fields this run (the page really
    /// dropped them): a field name such as `phone`, or `all`; repeat or
    /// separate with commas. Only for a run started here: a job takes it from
    /// its request.
    #[arg(
        long = "accept-drift",
        value_name = "FIELD|all",
        value_delimiter = ',',
        value_parser = ingest_core::drift::parse_accepted
    )]
    pub accept_drift: Vec<String>,
}

/// The flags' defaults (checked against clap's in this module's tests).
impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            metadata: MetadataMode::All,
            metadata_enabled: true,
            concurrency: 6,
            batch_size: 100,
            guard_max_share: 0.10,
            metadata_ttl_hours: 168,
            force: false,
            deactivate_after_missing_runs: 2,
            drift_max_share: ingest_core::drift::DEFAULT_MAX_LOSS_SHARE,
            drift_min_tracks: ingest_core::drift::DEFAULT_MIN_TRACKS,
            accept_drift: Vec::new(),
        }
    }
}

impl SyncSettings {
    pub fn options(&self, trigger: Trigger) -> SyncOptions {
        SyncOptions {
            trigger,
            metadata: if self.metadata_enabled {
                self.metadata
            } else {
                MetadataMode::None
            },
            concurrency: usize::from(self.concurrency),
            batch_size: self.batch_size as usize,
            guard_max_deactivate_share: self.guard_max_share,
            force: self.force,
            metadata_ttl: Duration::from_secs(self.metadata_ttl_hours.saturating_mul(3600)),
            deactivate_after_missing_runs: self.deactivate_after_missing_runs,
            drift_max_loss_share: self.drift_max_share,
            drift_min_tracks: self.drift_min_tracks,
            accept_drift: self.accept_drift.clone(),
            ..SyncOptions::default()
        }
    }
}

/// Where run reports go.
#[derive(Debug, Clone, Args)]
pub struct ReportSettings {
    /// Directory for the Markdown run reports.
    #[arg(
        long = "report-dir",
        env = "MRE_TRACK_SYNC_REPORT_DIR",
        default_value = "docs/reports"
    )]
    pub report_dir: PathBuf,
    /// Reports older than this many days are pruned (0 keeps all).
    #[arg(
        long = "report-retention-days",
        env = "MRE_TRACK_SYNC_REPORT_RETENTION_DAYS",
        default_value_t = 90
    )]
    pub retention_days: u32,
}

/// Which geocoder fills in coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GeocoderKind {
    /// No geocoding: coordinates stay as stored.
    Off,
    /// OpenStreetMap Nominatim (1 request/s, identifying User-Agent).
    Nominatim,
}

/// Geocoding: off unless configured.
#[derive(Debug, Clone, Args)]
pub struct GeocodeSettings {
    /// Geocoder for tracks without coordinates or whose address changed.
    #[arg(
        long = "geocoder",
        env = "MRE_GEOCODER",
        value_enum,
        default_value = "off"
    )]
    pub geocoder: GeocoderKind,
    /// Nominatim's base URL.
    #[arg(
        long = "nominatim-url",
        env = "MRE_NOMINATIM_URL",
        default_value = "https://nominatim.openstreetmap.org/"
    )]
    pub nominatim_url: String,
    /// User-Agent for Nominatim: the application and a contact (required with nominatim).
    #[arg(long = "nominatim-user-agent", env = "MRE_NOMINATIM_USER_AGENT")]
    pub nominatim_user_agent: Option<String>,
    /// Contact e-mail sent with each Nominatim request.
    #[arg(long = "nominatim-email", env = "MRE_NOMINATIM_EMAIL")]
    pub nominatim_email: Option<String>,
}

impl Default for GeocodeSettings {
    fn default() -> Self {
        Self {
            geocoder: GeocoderKind::Off,
            nominatim_url: "https://nominatim.openstreetmap.org/".to_owned(),
            nominatim_user_agent: None,
            nominatim_email: None,
        }
    }
}

/// How a worker claims and runs queued sync jobs.
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// This worker's name in job rows (default: host name and process id).
    #[arg(long = "worker-id", env = "MRE_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Lease on a claimed job, in seconds; a worker that stops renewing it
    /// (crash, partition) loses the job to another after this long.
    #[arg(long = "job-lease-seconds", env = "MRE_JOB_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub lease_seconds: u64,
    /// How often an idle worker looks for jobs without a notification.
    #[arg(long = "job-poll-seconds", env = "MRE_JOB_POLL_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub poll_seconds: u64,
    /// Attempts before a transiently failing job is marked failed.
    #[arg(long = "job-max-attempts", env = "MRE_JOB_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// First retry delay in seconds; doubles per attempt up to the maximum.
    #[arg(
        long = "job-retry-base-seconds",
        env = "MRE_JOB_RETRY_BASE_SECONDS",
        default_value_t = 30
    )]
    pub retry_base_seconds: u64,
    /// Longest retry delay, in seconds.
    #[arg(
        long = "job-retry-max-seconds",
        env = "MRE_JOB_RETRY_MAX_SECONDS",
        default_value_t = 900
    )]
    pub retry_max_seconds: u64,
    /// Days a finished job (succeeded, failed, cancelled) is kept before a
    /// worker deletes it; 0 keeps jobs forever. Run reports are kept apart
    /// (`MRE_TRACK_SYNC_REPORT_RETENTION_DAYS`).
    #[arg(long = "job-retention-days", env = "MRE_JOB_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub job_retention_days: u32,
}

impl WorkerSettings {
    /// The worker's configuration; `sync` says whether dashboards are on at all.
    pub fn worker_config(&self, sync: &SyncSettings) -> crate::worker::WorkerConfig {
        let lease = Duration::from_secs(self.lease_seconds.max(2));
        crate::worker::WorkerConfig {
            worker_id: self.worker_id.clone().unwrap_or_else(default_worker_id),
            lease,
            heartbeat: lease / 3,
            poll_interval: Duration::from_secs(self.poll_seconds.max(1)),
            progress_interval: crate::worker::PROGRESS_INTERVAL,
            retry_base: Duration::from_secs(self.retry_base_seconds),
            retry_max: Duration::from_secs(self.retry_max_seconds.max(self.retry_base_seconds)),
            dashboards_enabled: sync.metadata_enabled,
            job_retention: (self.job_retention_days > 0)
                .then(|| Duration::from_secs(u64::from(self.job_retention_days) * 24 * 3600)),
            prune_interval: PRUNE_INTERVAL,
        }
    }
}

/// How `ingest-cli sync` and `demo` hold their source while they run: the
/// run is a job of its own (trigger `cli`), leased and heartbeated like a
/// worker's, so no other entry point can sync the source meanwhile. The
/// variables are the worker's: one lease length for every holder.
#[derive(Debug, Clone, Args)]
pub struct RunClaimSettings {
    /// Lease on the run's job, in seconds, renewed every third of it. A run
    /// killed without a chance to clean up holds its source this long at
    /// most; then a worker or the next `sync` takes the job over.
    #[arg(long = "job-lease-seconds", env = "MRE_JOB_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub lease_seconds: u64,
    /// Attempts the run's job may take in all, counting take-overs after a
    /// crash.
    #[arg(long = "job-max-attempts", env = "MRE_JOB_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
}

impl Default for RunClaimSettings {
    /// The flags' defaults (a unit test keeps them equal).
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            max_attempts: 3,
        }
    }
}

/// How often a worker deletes expired finished jobs (and once at start).
const PRUNE_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// `host-pid`: unique enough among workers sharing one database.
pub(crate) fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}-{}", std::process::id())
}

/// A share between 0 and 1 (NaN and infinities refused).
fn parse_share(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("{s:?} is not a number: {e}"))?;
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s:?} is not a share between 0 and 1"))
    }
}

/// Alerts to operators.
#[derive(Clone, Args)]
pub struct AlertSettings {
    /// Webhook that receives alerts (Slack incoming webhook or any JSON
    /// endpoint); unset: no alerts.
    #[arg(
        long = "alert-webhook-url",
        env = "MRE_ALERT_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub webhook_url: Option<String>,
    /// Body format: `slack` or `generic` JSON.
    #[arg(
        long = "alert-webhook-format",
        env = "MRE_ALERT_WEBHOOK_FORMAT",
        default_value = "generic"
    )]
    pub webhook_format: String,
    /// Timeout of one webhook request, in seconds.
    #[arg(
        long = "alert-webhook-timeout-seconds",
        env = "MRE_ALERT_WEBHOOK_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub webhook_timeout_seconds: u64,
    /// A run taking longer than this many seconds raises an SLA alert (0: none).
    #[arg(
        long = "sla-seconds",
        env = "MRE_TRACK_SYNC_SLA_SECONDS",
        default_value_t = 1800
    )]
    pub sla_seconds: u64,
}

impl std::fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSettings")
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "***"))
            .field("webhook_format", &self.webhook_format)
            .field("webhook_timeout_seconds", &self.webhook_timeout_seconds)
            .field("sla_seconds", &self.sla_seconds)
            .finish()
    }
}

impl AlertSettings {
    pub fn sla(&self) -> Option<Duration> {
        (self.sla_seconds > 0).then(|| Duration::from_secs(self.sla_seconds))
    }
}

/// The admin API.
#[derive(Clone, Args)]
pub struct ApiSettings {
    /// Bearer tokens accepted on `/api/`, comma-separated (each at least 16
    /// characters). None: every `/api/` call is refused.
    #[arg(
        long = "admin-api-tokens",
        env = "MRE_ADMIN_API_TOKENS",
        hide_env_values = true,
        default_value = ""
    )]
    pub admin_tokens: String,
    /// Largest request body accepted, in bytes.
    #[arg(
        long = "api-body-limit-bytes",
        env = "MRE_API_BODY_LIMIT_BYTES",
        default_value_t = 65_536
    )]
    pub body_limit_bytes: usize,
    /// Seconds a connection may take to send a complete request head
    /// (request line and headers), idle keep-alive waits included; a slower
    /// one is closed.
    #[arg(long = "api-header-read-timeout-seconds", env = "MRE_API_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_seconds: u64,
    /// Seconds a whole request may take, body included; past it the answer
    /// is `408 request_timeout`.
    #[arg(long = "api-request-timeout-seconds", env = "MRE_API_REQUEST_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,
    /// Seconds the database work of one request may take (waiting for a
    /// connection included); past it the answer is `503 unavailable`.
    #[arg(long = "api-database-timeout-seconds", env = "MRE_API_DATABASE_TIMEOUT_SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub database_timeout_seconds: u64,
    /// Connections open at once; past it new ones are closed at once.
    #[arg(long = "api-max-connections", env = "MRE_API_MAX_CONNECTIONS", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}

impl ApiSettings {
    /// [`header_read_timeout_seconds`](Self::header_read_timeout_seconds) as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    /// [`request_timeout_seconds`](Self::request_timeout_seconds) as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// [`database_timeout_seconds`](Self::database_timeout_seconds) as a duration.
    pub fn database_timeout(&self) -> Duration {
        Duration::from_secs(self.database_timeout_seconds)
    }
}

impl std::fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings")
            .field("admin_tokens", &"***")
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field(
                "header_read_timeout_seconds",
                &self.header_read_timeout_seconds,
            )
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("database_timeout_seconds", &self.database_timeout_seconds)
            .field("max_connections", &self.max_connections)
            .finish()
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
    use clap::Parser;

    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/tracks.db"), "sqlite://data/tracks.db");
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sync: SyncSettings,
    }

    #[test]
    fn sync_settings_default_is_what_clap_gives_without_flags() {
        let parsed = Cli::try_parse_from(["x"]).expect("no flags").sync;
        assert_eq!(
            format!("{parsed:?}"),
            format!("{:?}", SyncSettings::default())
        );
    }

    #[test]
    fn accept_drift_takes_fields_and_all_and_refuses_the_rest() {
        let parsed = Cli::try_parse_from([
            "x",
            "--accept-drift",
            "Phone,email",
            "--accept-drift",
            "all",
        ])
        .expect("flags")
        .sync;
        assert_eq!(parsed.accept_drift, ["phone", "email", "all"]);
        assert!(Cli::try_parse_from(["x", "--accept-drift", "name"]).is_err());
    }

    #[derive(Debug, Parser)]
    struct ClaimCli {
        #[command(flatten)]
        claim: RunClaimSettings,
    }

    #[derive(Debug, Parser)]
    struct WorkerCli {
        #[command(flatten)]
        worker: WorkerSettings,
    }

    #[test]
    fn a_cli_run_defaults_to_the_flags_and_the_workers_lease() {
        let parsed = ClaimCli::try_parse_from(["t"]).expect("defaults parse");
        let default = RunClaimSettings::default();
        assert_eq!(parsed.claim.lease_seconds, default.lease_seconds);
        assert_eq!(parsed.claim.max_attempts, default.max_attempts);
        let worker = WorkerCli::try_parse_from(["t"]).expect("defaults parse");
        assert_eq!(default.lease_seconds, worker.worker.lease_seconds);
        assert_eq!(default.max_attempts, worker.worker.max_attempts);

        let claim = crate::foreground::ForegroundClaim::new(&default, true);
        assert!(claim.owner.starts_with("cli-"), "{}", claim.owner);
        assert_eq!(claim.lease, Duration::from_secs(30));
        assert!(
            ClaimCli::try_parse_from(["t", "--job-lease-seconds", "1"]).is_err(),
            "a lease under 2 s is refused"
        );
    }
}
