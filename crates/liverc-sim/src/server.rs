//! The HTTP side: an axum server on loopback serving the catalogue at `/`,
//! dashboards at `/t/{slug}/`, `/robots.txt`, and the admin routes under
//! `/__sim/`. Every crawl response waits the configured latency, may carry a
//! fault, and is counted; admin requests are counted apart.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::SimError;
use crate::config::{Fault, FaultConfig, RetryAfter, SimConfig};
use crate::faults::Target;
use crate::render;
use crate::site::{MutationRequest, SiteHandle};
use crate::stats::{PathClass, SimStats};

const HTML: &str = "text/html; charset=UTF-8";

/// How long [`RunningSim::shutdown`] waits for open connections before it
/// aborts the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct App {
    site: SiteHandle,
    shutdown: CancellationToken,
}

/// Starts simulated sites.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Generates a site from `config`, binds `addr` (port 0: any free port)
    /// and spawns the server on the current Tokio runtime.
    pub async fn start(config: SimConfig, addr: SocketAddr) -> Result<RunningSim, SimError> {
        Self::serve(SiteHandle::new(&config), addr).await
    }

    /// Serves an existing site (for instance one mutated while no server
    /// ran, or one shared with a previous server) on `addr`.
    pub async fn serve(site: SiteHandle, addr: SocketAddr) -> Result<RunningSim, SimError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let shutdown = CancellationToken::new();
        let app = App {
            site: site.clone(),
            shutdown: shutdown.clone(),
        };
        let stop = shutdown.clone();
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY: {err}");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, router(app))
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        tracing::info!(addr = %local, tracks = site.len(), "liverc-sim listening");
        Ok(RunningSim {
            addr: local,
            site,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running simulated site. Dropping it stops the server abruptly;
/// [`RunningSim::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    site: SiteHandle,
    shutdown: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningSim {
    /// The bound address (port resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash; an unspecified bind
    /// address is reported as loopback).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The catalogue, `http://127.0.0.1:PORT/`.
    pub fn catalogue_url(&self) -> String {
        format!("{}/", self.base_url())
    }

    /// The client's `track_url_template`: `http://127.0.0.1:PORT/t/{slug}/`.
    pub fn track_url_template(&self) -> String {
        format!("{}/t/{{slug}}/", self.base_url())
    }

    /// One track's dashboard URL.
    pub fn track_url(&self, slug: &str) -> String {
        format!("{}/t/{slug}/", self.base_url())
    }

    /// A handle on the site (mutations, faults, stats).
    pub fn site(&self) -> SiteHandle {
        self.site.clone()
    }

    /// What the server saw since start or the last reset.
    pub fn stats(&self) -> SimStats {
        self.site.stats()
    }

    /// Zeroes the figures of [`RunningSim::stats`].
    pub fn reset_stats(&self) {
        self.site.reset_stats();
    }

    /// Stops accepting, ends hangs and latency waits, lets open responses
    /// finish (at most a few seconds, then aborts) and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        self.shutdown.cancel();
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(result)) => result.map_err(SimError::Server),
            Ok(Err(join)) => Err(SimError::Server(io::Error::other(join))),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/__sim/stats", get(admin_stats))
        .route("/__sim/reset-stats", post(admin_reset_stats))
        .route("/__sim/mutate", post(admin_mutate))
        .route("/__sim/tracks", get(admin_tracks))
        .route("/__sim/tracks/{slug}", get(admin_track))
        .route("/__sim/faults", get(admin_faults).post(admin_set_faults))
        .route(
            "/__sim/inject",
            post(admin_inject).delete(admin_clear_injected),
        )
        .route("/__sim/latency", get(admin_latency).post(admin_set_latency))
        .route("/__sim", any(admin_unknown))
        .route("/__sim/{*rest}", any(admin_unknown))
        .fallback(crawl)
        .with_state(app)
}

// ---------------------------------------------------------------------------
// crawl paths

/// A crawl path.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Catalogue,
    /// Lowercased slug.
    Dashboard(String),
    Robots,
    Other,
}

impl Route {
    fn parse(path: &str) -> Self {
        if path == "/" {
            return Route::Catalogue;
        }
        if path == "/robots.txt" {
            return Route::Robots;
        }
        let Some(rest) = path.strip_prefix("/t/") else {
            return Route::Other;
        };
        let (slug, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if slug.is_empty() {
            return Route::Other;
        }
        match tail {
            "" => Route::Dashboard(slug.to_ascii_lowercase()),
            "robots.txt" => Route::Robots,
            _ => Route::Other,
        }
    }

    fn class(&self) -> PathClass {
        match self {
            Route::Catalogue => PathClass::Catalogue,
            Route::Dashboard(_) => PathClass::Dashboard,
            Route::Robots => PathClass::Robots,
            Route::Other => PathClass::Other,
        }
    }
}

async fn crawl(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let route = Route::parse(uri.path());
    let mut guard = app.site.stats_counters().begin(route.class());
    let response = serve_crawl(&app, &method, route, &headers).await;
    guard.answered(response.status().as_u16());
    response
}

/// Waits `delay` unless the server shuts down first (then `false`).
async fn pause(app: &App, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = app.shutdown.cancelled() => false,
    }
}

async fn serve_crawl(app: &App, method: &Method, route: Route, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let fault = match &route {
        Route::Catalogue => app.site.decide_fault(Target::Catalogue),
        Route::Dashboard(slug) => app.site.decide_fault(Target::Dashboard(slug)),
        Route::Robots | Route::Other => None,
    };
    let delay = app.site.sample_delay();
    if !delay.is_zero() && !pause(app, delay).await {
        return error_response(StatusCode::SERVICE_UNAVAILABLE);
    }
    if let Some(fault) = fault {
        if let Some(response) = status_fault(app, fault) {
            app.site.stats_counters().fault(fault);
            return response;
        }
        if fault == Fault::Hang {
            app.site.stats_counters().fault(fault);
            let hang = app.site.faults_config().hang;
            if !pause(app, hang).await {
                return error_response(StatusCode::SERVICE_UNAVAILABLE);
            }
        }
    }
    match route {
        Route::Robots => match app.site.robots_txt() {
            Some(body) => (
                [(CONTENT_TYPE, "text/plain; charset=UTF-8")],
                body.to_string(),
            )
                .into_response(),
            None => error_response(StatusCode::NOT_FOUND),
        },
        Route::Other => error_response(StatusCode::NOT_FOUND),
        Route::Catalogue => catalogue(app, fault, headers),
        Route::Dashboard(slug) => dashboard(app, &slug, fault, headers),
    }
}

/// The response of a status fault (500, 503, 429, 404), `None` for others.
fn status_fault(app: &App, fault: Fault) -> Option<Response> {
    Some(match fault {
        Fault::InternalServerError => error_response(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::ServiceUnavailable => error_response(StatusCode::SERVICE_UNAVAILABLE),
        Fault::NotFound => error_response(StatusCode::NOT_FOUND),
        Fault::TooManyRequests => {
            let mut response = error_response(StatusCode::TOO_MANY_REQUESTS);
            let value = match app.site.faults_config().retry_after {
                RetryAfter::Seconds(secs) => Some(secs.to_string()),
                RetryAfter::DateInSeconds(secs) => Some(httpdate::fmt_http_date(
                    SystemTime::now() + Duration::from_secs(secs),
                )),
                RetryAfter::Absent => None,
            };
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            response
        }
        Fault::Hang | Fault::Truncate | Fault::Malformed => return None,
    })
}

fn error_response(status: StatusCode) -> Response {
    let body = render::error_page(status.as_u16(), status.canonical_reason().unwrap_or(""));
    (status, [(CONTENT_TYPE, HTML)], body).into_response()
}

/// Whether the request's validators match (RFC 9110: If-None-Match wins
/// over If-Modified-Since).
fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(value) = headers.get(IF_NONE_MATCH) {
        return value.to_str().is_ok_and(|list| {
            list.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        });
    }
    headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| modified <= since)
}

fn validators(etag: &str, modified: SystemTime) -> [(axum::http::HeaderName, HeaderValue); 3] {
    [
        (
            ETAG,
            HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
        ),
        (
            LAST_MODIFIED,
            HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
        ),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

/// Declares the whole length, sends the head and the first half of the
/// body, then fails the body so that the connection is cut: the client sees
/// the status and headers, then a body error, never a short page.
fn truncated(body: String) -> Response {
    let full = Bytes::from(body);
    let len = full.len();
    let half = full.slice(..len / 2);
    let cut = async {
        // Pending for a moment lets the server flush the head and the half.
        tokio::time::sleep(Duration::from_millis(5)).await;
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "liverc-sim: truncated-body fault",
        ))
    };
    let chunks = stream::iter([Ok(half)]).chain(stream::once(cut));
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// A dashboard that does not parse: every panel below the top tiles cut
/// out (About, Track Map, Lifetime Track Stats, Facebook), or the page cut
/// off somewhere before the About panel. Either way neither the About nor the
/// stats panel is left, which a parser must report as a format error.
fn malformed_dashboard(body: &str, variant: u64) -> String {
    let Some(about) = body.find("<!-- About -->") else {
        return String::new();
    };
    if variant.is_multiple_of(2) {
        let end = body[about..]
            .find("<!-- /#page-wrapper -->")
            .map_or(body.len(), |e| about + e);
        format!("{}{}", &body[..about], &body[end..])
    } else {
        let percent = 40 + usize::try_from(variant % 50).unwrap_or(0);
        let mut cut = about * percent / 100;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body[..cut].to_owned()
    }
}

fn dashboard(app: &App, slug: &str, fault: Option<Fault>, headers: &HeaderMap) -> Response {
    let Some(page) = app.site.render_dashboard(slug) else {
        return error_response(StatusCode::NOT_FOUND);
    };
    match fault {
        Some(Fault::Truncate) => {
            app.site.stats_counters().fault(Fault::Truncate);
            truncated(page.body)
        }
        Some(Fault::Malformed) => {
            app.site.stats_counters().fault(Fault::Malformed);
            let body = malformed_dashboard(&page.body, app.site.next_malformed_variant());
            ([(CONTENT_TYPE, HTML)], body).into_response()
        }
        _ => {
            let validators = validators(&page.etag, page.last_modified);
            if not_modified(headers, &page.etag, page.last_modified) {
                (StatusCode::NOT_MODIFIED, validators).into_response()
            } else {
                (validators, [(CONTENT_TYPE, HTML)], page.body).into_response()
            }
        }
    }
}

fn catalogue(app: &App, fault: Option<Fault>, headers: &HeaderMap) -> Response {
    let state = app.site.snapshot();
    match fault {
        Some(Fault::Truncate) => {
            app.site.stats_counters().fault(Fault::Truncate);
            truncated(state.render_catalogue())
        }
        Some(Fault::Malformed) => {
            app.site.stats_counters().fault(Fault::Malformed);
            ([(CONTENT_TYPE, HTML)], state.render_empty_catalogue()).into_response()
        }
        _ => {
            let etag = state.catalogue_etag();
            let modified = state.catalogue_modified();
            let validators = validators(&etag, modified);
            if not_modified(headers, &etag, modified) {
                return (StatusCode::NOT_MODIFIED, validators).into_response();
            }
            // Rendered chunk by chunk while it is sent: a 100,000-track
            // catalogue never sits in memory whole.
            let chunks = state.catalogue_chunk_count();
            let body = stream::iter(0..chunks)
                .map(move |i| Ok::<_, Infallible>(Bytes::from(state.catalogue_chunk(i))));
            (validators, [(CONTENT_TYPE, HTML)], Body::from_stream(body)).into_response()
        }
    }
}

// ---------------------------------------------------------------------------
// admin routes

#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
}

fn json_error(status: StatusCode, error: impl ToString) -> Response {
    (
        status,
        axum::Json(ErrorBody {
            error: error.to_string(),
        }),
    )
        .into_response()
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}

async fn admin_stats(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    axum::Json(app.site.stats()).into_response()
}

async fn admin_reset_stats(State(app): State<App>) -> Response {
    let before = app.site.stats();
    app.site.reset_stats();
    app.site.stats_counters().admin();
    axum::Json(before).into_response()
}

async fn admin_mutate(State(app): State<App>, body: Bytes) -> Response {
    app.site.stats_counters().admin();
    let request: MutationRequest = match parse_json(&body) {
        Ok(request) => request,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    match app.site.apply(&request) {
        Ok(log) => axum::Json(log).into_response(),
        Err(err @ SimError::UnknownTrack(_)) => json_error(StatusCode::NOT_FOUND, err),
        Err(err) => json_error(StatusCode::BAD_REQUEST, err),
    }
}

async fn admin_tracks(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    axum::Json(app.site.tracks()).into_response()
}

async fn admin_track(State(app): State<App>, Path(slug): Path<String>) -> Response {
    app.site.stats_counters().admin();
    match app.site.track(&slug) {
        Some(track) => axum::Json(track).into_response(),
        None => json_error(StatusCode::NOT_FOUND, SimError::UnknownTrack(slug)),
    }
}

async fn admin_faults(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    axum::Json(app.site.faults_config()).into_response()
}

async fn admin_set_faults(State(app): State<App>, body: Bytes) -> Response {
    app.site.stats_counters().admin();
    match parse_json::<FaultConfig>(&body) {
        Ok(config) if (0.0..=1.0).contains(&config.rate) => {
            app.site.set_faults(config);
            axum::Json(app.site.faults_config()).into_response()
        }
        Ok(_) => json_error(StatusCode::BAD_REQUEST, "rate must be within 0..=1"),
        Err(e) => json_error(StatusCode::BAD_REQUEST, e),
    }
}

/// `POST /__sim/inject`: `{"slug": "x", "fault": "429", "times": 2}`; no
/// slug targets the catalogue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectRequest {
    #[serde(default)]
    slug: Option<String>,
    fault: Fault,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Serialize)]
struct InjectAnswer {
    queued: u64,
}

async fn admin_inject(State(app): State<App>, body: Bytes) -> Response {
    app.site.stats_counters().admin();
    let request: InjectRequest = match parse_json(&body) {
        Ok(request) => request,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    match &request.slug {
        Some(slug) => app.site.inject(slug, request.fault, request.times),
        None => app.site.inject_catalogue(request.fault, request.times),
    }
    axum::Json(InjectAnswer {
        queued: app.site.injected_remaining(),
    })
    .into_response()
}

async fn admin_clear_injected(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    app.site.clear_injected();
    axum::Json(InjectAnswer { queued: 0 }).into_response()
}

/// `GET|POST /__sim/latency`: `{"latency_ms": 20, "jitter_ms": 5}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyBody {
    latency_ms: u64,
    #[serde(default)]
    jitter_ms: u64,
}

async fn admin_latency(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    let (latency, jitter) = app.site.latency();
    axum::Json(LatencyBody {
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        jitter_ms: u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX),
    })
    .into_response()
}

async fn admin_set_latency(State(app): State<App>, body: Bytes) -> Response {
    app.site.stats_counters().admin();
    match parse_json::<LatencyBody>(&body) {
        Ok(l) => {
            app.site.set_latency(
                Duration::from_millis(l.latency_ms),
                Duration::from_millis(l.jitter_ms),
            );
            axum::Json(l).into_response()
        }
        Err(e) => json_error(StatusCode::BAD_REQUEST, e),
    }
}

async fn admin_unknown(State(app): State<App>) -> Response {
    app.site.stats_counters().admin();
    json_error(StatusCode::NOT_FOUND, "no such admin route")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::parse("/"), Route::Catalogue);
        assert_eq!(Route::parse("/robots.txt"), Route::Robots);
        assert_eq!(Route::parse("/t/bayrc/robots.txt"), Route::Robots);
        assert_eq!(
            Route::parse("/t/BayRC/"),
            Route::Dashboard("bayrc".to_owned())
        );
        assert_eq!(
            Route::parse("/t/bayrc"),
            Route::Dashboard("bayrc".to_owned())
        );
        assert_eq!(Route::parse("/t/bayrc/results/"), Route::Other);
        assert_eq!(Route::parse("/t//"), Route::Other);
        assert_eq!(Route::parse("/favicon.ico"), Route::Other);
    }

    #[test]
    fn conditional_requests() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        assert!(!not_modified(&headers, "\"a\"", modified));
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("\"b\", W/\"a\""));
        assert!(not_modified(&headers, "\"a\"", modified));
        assert!(!not_modified(&headers, "\"c\"", modified));
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(modified);
        headers.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_str(&date).expect("date"),
        );
        assert!(not_modified(&headers, "\"a\"", modified));
        assert!(!not_modified(
            &headers,
            "\"a\"",
            modified + Duration::from_secs(1)
        ));
        // If-None-Match wins over If-Modified-Since.
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("\"b\""));
        assert!(!not_modified(&headers, "\"a\"", modified));
    }

    #[test]
    fn malformed_pages_lose_the_address() {
        let body = "<html><title>x</title><!-- About --><address>a</address><!-- Track Map -->\
                    <th>Laps</th><!-- /#page-wrapper --></html>";
        for variant in 0..6 {
            let page = malformed_dashboard(body, variant);
            assert!(!page.contains("<address"), "{variant}: {page}");
            assert!(!page.contains("Laps"), "{variant}: {page}");
        }
        assert!(malformed_dashboard(body, 0).ends_with("</html>"));
    }
}
