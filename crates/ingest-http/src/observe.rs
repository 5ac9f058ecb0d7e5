//! What every request leaves behind: an id (`x-request-id`, taken from the
//! client when it is sane, else made here; echoed on the response and a
//! field of every log line of the request) and, when the binary registered
//! them, the API's own metrics: requests by route, method and status, and
//! their latency by route.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ingest_core::{JobQueue, QueueStats, ReportArchive};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The request id header, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent id kept; a longer or odd one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The route label of a request no route matched: one series for every
/// unknown path, so a scanner cannot blow up the number of series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Bucket bounds of `http_request_duration_seconds`: 1 ms to 30 s.
pub const REQUEST_DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The id a request is known by: the client's when it is 1–128 visible
/// ASCII characters (a load balancer's or a caller's, so logs join up),
/// else a fresh UUID v7.
pub(crate) fn request_id_for(client: Option<&HeaderValue>) -> HeaderValue {
    client
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= MAX_REQUEST_ID_LEN && b.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
                .expect("a UUID is a valid header value")
        })
}

/// Middleware, outermost: gives the request its id before the trace span
/// is made (the span reads it), and puts it on the response.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request_id_for(request.headers().get(&REQUEST_ID));
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_DURATION_BUCKETS)
}

/// The API's own metrics. Register them once in the process's registry
/// with [`HttpMetrics::register`], and hand them to the router through
/// [`crate::MetricsEndpoint::with_http_metrics`].
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily<RouteLabels>,
}

impl HttpMetrics {
    /// Registers `http_requests_total{route,method,status}` and
    /// `http_request_duration_seconds{route,method}` in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests the API answered, by route template, method and status",
            requests.clone(),
        );
        let duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(request_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's head to its response's head, by route template and method",
            Unit::Seconds,
            duration.clone(),
        );
        Self { requests, duration }
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(seconds);
    }
}

/// Middleware (route layer): counts and times each request under its route
/// template (`/api/v1/tracks/sync/{jobId}`), never its raw path.
pub(crate) async fn record(
    State(metrics): State<Option<Arc<HttpMetrics>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(metrics) = metrics else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_client_id_is_kept_and_anything_else_replaced() {
        let kept = HeaderValue::from_static("lb-7f3a:42");
        assert_eq!(request_id_for(Some(&kept)), kept);
        for odd in [
            HeaderValue::from_static(""),
            HeaderValue::from_static("has space"),
            HeaderValue::from_str(&"x".repeat(MAX_REQUEST_ID_LEN + 1)).expect("header"),
            HeaderValue::from_bytes(b"caf\xc3\xa9").expect("header"),
        ] {
            let made = request_id_for(Some(&odd));
            assert_ne!(made, odd);
            assert!(uuid::Uuid::parse_str(made.to_str().expect("ascii")).is_ok());
        }
        let made = request_id_for(None);
        assert!(uuid::Uuid::parse_str(made.to_str().expect("ascii")).is_ok());
        assert_ne!(request_id_for(None), made, "each request its own id");
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoLabels {}

type GaugeF64 = Gauge<f64, AtomicU64>;

/// The job queue and the last success, read from the database on every
/// scrape of the API (the API owns the queue; a worker's process only knows
/// its own jobs). Register once with [`QueueMetrics::register`] and hand it
/// to the router with [`crate::MetricsEndpoint::with_queue_metrics`].
///
/// - `liverc_jobs{state}`: `queued` (due, waiting for a worker), `retrying`
///   (backing off after a transient failure), `running`;
/// - `liverc_queue_oldest_age_seconds`: how long the longest-waiting due
///   job has waited (0: none waits);
/// - `liverc_last_success_timestamp_seconds`: when the newest succeeded run
///   finished, as Unix time (0: never).
///
/// When the database cannot be read the series are withdrawn for that
/// scrape (and the error logged), so a dashboard shows a gap, never a stale
/// or invented number.
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    jobs: Family<StateLabels, Gauge>,
    oldest_age: Family<NoLabels, GaugeF64>,
    last_success: Family<NoLabels, GaugeF64>,
}

impl QueueMetrics {
    /// Registers the three series in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "liverc_jobs",
            "Sync jobs by state: queued (due), retrying (backing off), running",
            jobs.clone(),
        );
        let oldest_age = Family::<NoLabels, GaugeF64>::default();
        registry.register_with_unit(
            "liverc_queue_oldest_age",
            "How long the longest-waiting due job has waited for a worker (0: none waits)",
            Unit::Seconds,
            oldest_age.clone(),
        );
        let last_success = Family::<NoLabels, GaugeF64>::default();
        registry.register_with_unit(
            "liverc_last_success_timestamp",
            "When the newest succeeded sync run finished, Unix time (0: never)",
            Unit::Seconds,
            last_success.clone(),
        );
        Self {
            jobs,
            oldest_age,
            last_success,
        }
    }

    /// Sets every series from what the database said.
    pub fn set(&self, stats: &QueueStats, last_success: Option<DateTime<Utc>>) {
        for (state, n) in [
            ("queued", stats.queued),
            ("retrying", stats.retrying),
            ("running", stats.running),
        ] {
            self.jobs
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.oldest_age
            .get_or_create(&NoLabels {})
            .set(stats.oldest_due_age.map_or(0.0, |d| d.as_secs_f64()));
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since 1970 fit in f64 exactly"
        )]
        let seconds = last_success.map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0);
        self.last_success.get_or_create(&NoLabels {}).set(seconds);
    }

    /// Withdraws every series (the database could not be read).
    pub fn clear(&self) {
        self.jobs.clear();
        self.oldest_age.clear();
        self.last_success.clear();
    }

    /// Reads the queue and the last success of `source` within `timeout`
    /// and sets the series, or withdraws them when that fails.
    pub(crate) async fn refresh(
        &self,
        jobs: &dyn JobQueue,
        reports: &dyn ReportArchive,
        source: &str,
        timeout: Duration,
    ) {
        let read = async { tokio::join!(jobs.stats(), reports.last_success_at(source)) };
        match tokio::time::timeout(timeout, read).await {
            Ok((Ok(stats), Ok(last))) => self.set(&stats, last),
            Ok((Err(e), _)) => {
                tracing::warn!(error = %e, "metrics: the job queue could not be read");
                self.clear();
            }
            Ok((_, Err(e))) => {
                tracing::warn!(error = %e, "metrics: the report archive could not be read");
                self.clear();
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    "metrics: the database did not answer in time"
                );
                self.clear();
            }
        }
    }
}
