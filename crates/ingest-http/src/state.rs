//! What the binary hands the router: the ports, the configuration the API
//! applies, and the metrics renderer. Built once in `main`; shared by every
//! request behind an `Arc`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use ingest_core::{Clock, JobQueue, MetadataMode, ReportArchive, SOURCE_LIVERC, TrackRepository};

use crate::auth::AdminTokens;

/// Default request-body limit: 64 KiB (the only body is a few fields of JSON).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Default bound on a whole request, from its head being read to the
/// response being ready (reading the body included): 30 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default bound on the database work of one request (waiting for a pooled
/// connection included): 3 s, after which the route answers
/// `503 unavailable`; also how long `/readyz` waits.
pub const DEFAULT_DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything [`router`](crate::router) needs.
///
/// ```ignore
/// let app = ingest_http::router(ingest_http::ApiState {
///     jobs,                                 // Arc<dyn JobQueue>
///     tracks,                               // Arc<dyn TrackRepository>
///     reports,                              // Arc<dyn ReportArchive>
///     metrics: MetricsEndpoint::new(ingest_metrics::CONTENT_TYPE, move || m.render()),
///     admin_tokens: AdminTokens::parse_list(&config.admin_tokens)?,
///     job_defaults: JobDefaults { max_attempts: 3, ..JobDefaults::default() },
///     scrape_enabled: config.scrape_enabled,
///     body_limit: ingest_http::DEFAULT_BODY_LIMIT,
///     request_timeout: ingest_http::DEFAULT_REQUEST_TIMEOUT,
///     database_timeout: ingest_http::DEFAULT_DATABASE_TIMEOUT,
///     clock: Arc::new(ingest_core::SystemClock),
/// });
/// ```
#[derive(Clone)]
pub struct ApiState {
    /// The sync-job queue: enqueue, get, list, cancel, resume.
    pub jobs: Arc<dyn JobQueue>,
    /// The tracks (`GET /api/v1/tracks`) and the readiness probe.
    pub tracks: Arc<dyn TrackRepository>,
    /// Archived run reports: the report of job X is the one with `run_id == X`.
    pub reports: Arc<dyn ReportArchive>,
    /// `GET /metrics`.
    pub metrics: MetricsEndpoint,
    /// Bearer tokens accepted on `/api/`; none configured refuses every call.
    pub admin_tokens: AdminTokens,
    /// Source, retry budget and metadata mode of enqueued jobs.
    pub job_defaults: JobDefaults,
    /// The kill switch (`MRE_SCRAPE_ENABLED`): when false, enqueue and resume
    /// answer 503 `scrape_disabled` and enqueue nothing.
    pub scrape_enabled: bool,
    /// Largest request body accepted, in bytes ([`DEFAULT_BODY_LIMIT`]).
    pub body_limit: usize,
    /// Longest a request may take, body read included
    /// ([`DEFAULT_REQUEST_TIMEOUT`]); past it the answer is
    /// `408 request_timeout` and the connection is closed.
    pub request_timeout: Duration,
    /// Longest the database work of one request may take
    /// ([`DEFAULT_DATABASE_TIMEOUT`]); past it the answer is
    /// `503 unavailable` (`503 not_ready` on `/readyz`).
    pub database_timeout: Duration,
    /// "Now", for the elapsed time of running jobs.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("admin_tokens", &self.admin_tokens)
            .field("job_defaults", &self.job_defaults)
            .field("scrape_enabled", &self.scrape_enabled)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("database_timeout", &self.database_timeout)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// What a job enqueued through the API gets when the request does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDefaults {
    /// The source every API job syncs (`liverc`).
    pub source: String,
    /// Attempts before a transiently failing job is marked failed (≥ 1).
    pub max_attempts: u32,
    /// Mode when the body has no `metadata`.
    pub metadata: MetadataMode,
}

impl Default for JobDefaults {
    /// `liverc`, 3 attempts, `changed` (the cheap, conditional mode).
    fn default() -> Self {
        Self {
            source: SOURCE_LIVERC.to_owned(),
            max_attempts: 3,
            metadata: MetadataMode::Changed,
        }
    }
}

/// The `/metrics` endpoint: a renderer of the exposition text and its
/// content type (e.g. `ingest_metrics::CONTENT_TYPE` with
/// `move || metrics.render()`).
#[derive(Clone)]
pub struct MetricsEndpoint {
    pub(crate) render: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) content_type: HeaderValue,
    /// The API's request metrics, recorded when set (their series are
    /// rendered by `render`, from the registry they were registered in).
    pub(crate) http: Option<Arc<crate::HttpMetrics>>,
    /// The queue's series, read from the database on every scrape when set.
    pub(crate) queue: Option<crate::QueueMetrics>,
}

impl MetricsEndpoint {
    /// # Panics
    ///
    /// If `content_type` is not a valid header value (a programming error).
    pub fn new(
        content_type: &'static str,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        Self {
            render: Arc::new(render),
            content_type: HeaderValue::from_static(content_type),
            http: None,
            queue: None,
        }
    }

    /// Records every request in `http` (registered, with
    /// [`crate::HttpMetrics::register`], in the registry `render` encodes).
    #[must_use]
    pub fn with_http_metrics(mut self, http: crate::HttpMetrics) -> Self {
        self.http = Some(Arc::new(http));
        self
    }

    /// Reads the job queue and the last success from the database on every
    /// scrape into `queue` (registered, with
    /// [`crate::QueueMetrics::register`], in the registry `render` encodes).
    /// For the process that owns the queue: the API.
    #[must_use]
    pub fn with_queue_metrics(mut self, queue: crate::QueueMetrics) -> Self {
        self.queue = Some(queue);
        self
    }
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}
