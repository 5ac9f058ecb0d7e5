//! The polite HTTP client for LiveRC: fetches the catalogue and track
//! dashboards and hands the bodies to the pure parsers in [`crate::parse`].
//!
//! Politeness lives here and nowhere else: one in-flight cap across every
//! host, a minimum gap between request starts, robots.txt (and its
//! `Crawl-delay`) per host, retries only of what can succeed later with
//! capped, jittered exponential backoff, `Retry-After` obeyed site-wide, a
//! body-size cap enforced while streaming, and a kill switch checked before
//! every request. See the crate README for the rules in prose.

mod config;
mod kill_switch;
mod pacer;
mod retry;
mod robots;
mod stats;

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use reqwest::header::{
    ETAG, HeaderMap, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    RETRY_AFTER,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

pub use self::config::{DEFAULT_USER_AGENT, LiveRcConfig, RetryPolicy, SLUG_PLACEHOLDER};
pub use self::kill_switch::KillSwitch;
pub use self::stats::{ClientStats, ResponseClasses};

use self::pacer::Pacer;
use self::robots::{CachedRobots, ROBOTS_FAILURE_TTL, ROBOTS_TTL, RobotsCache, RobotsRules};
use self::stats::Counters;
use crate::error::{FormatError, LiveRcError, PageKind};
use crate::model::{Catalogue, Dashboard};

/// Redirects followed per request before giving up with
/// [`LiveRcError::TooManyRedirects`].
pub const MAX_REDIRECTS: usize = 5;

/// Largest robots.txt read (Google's limit); a longer one counts as
/// unreadable.
const ROBOTS_MAX_BYTES: usize = 512 * 1024;

/// HTTP cache validators of a fetched page, sent back on the next fetch so
/// the server can answer 304 Not Modified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` response header, verbatim (quotes and `W/` included).
    pub etag: Option<String>,
    /// The `Last-Modified` response header, verbatim.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Neither validator is known (a conditional fetch is then a plain one).
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            etag: get(ETAG),
            last_modified: get(LAST_MODIFIED),
        }
    }

    /// The validators a 304 carries replace the old ones; absent ones are kept.
    fn refreshed_by(&self, newer: Self) -> Self {
        Self {
            etag: newer.etag.or_else(|| self.etag.clone()),
            last_modified: newer.last_modified.or_else(|| self.last_modified.clone()),
        }
    }
}

/// A fetched and parsed track dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardPage {
    /// The validated, lowercased slug.
    pub slug: String,
    /// The URL requested (from the configured template).
    pub url: String,
    /// What the parser found.
    pub dashboard: Dashboard,
    /// `ETag` / `Last-Modified` of the response, for the next conditional fetch.
    pub validators: Validators,
    /// When the response arrived.
    pub fetched_at: DateTime<Utc>,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
}

/// The result of [`LiveRcClient::fetch_dashboard_if_changed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[expect(
    clippy::large_enum_variant,
    reason = "the API contract names `Modified(DashboardPage)`; one value per fetch, moved, never stored in bulk"
)]
pub enum DashboardFetch {
    /// The page changed (or the server ignored the validators): here it is.
    Modified(DashboardPage),
    /// 304 Not Modified: what the caller has is current.
    NotModified {
        /// The validated, lowercased slug.
        slug: String,
        /// The URL requested.
        url: String,
        /// The validators to keep (refreshed from the 304 where it sent any).
        validators: Validators,
        /// Attempts made.
        attempts: u32,
    },
}

/// The polite LiveRC client. Cheap to clone: clones share the connection
/// pool, the in-flight cap, the pacer, the robots.txt cache, the kill switch
/// and the counters.
#[derive(Debug, Clone)]
pub struct LiveRcClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: LiveRcConfig,
    http: reqwest::Client,
    pacer: Pacer,
    robots: RobotsCache,
    robots_token: String,
    kill_switch: KillSwitch,
    counters: Arc<Counters>,
}

/// What one successful fetch brought back.
#[derive(Debug)]
enum Outcome {
    Body {
        text: String,
        validators: Validators,
        received_at: DateTime<Utc>,
    },
    NotModified {
        validators: Validators,
    },
}

#[derive(Debug)]
struct Fetched {
    outcome: Outcome,
    attempts: u32,
}

/// What one URL answered: a final outcome, or a 3xx with a `Location`. The
/// client follows redirects itself, so every hop passes robots.txt, the
/// pacer and the kill switch like any request.
#[derive(Debug)]
enum Reply {
    Done(Outcome),
    Redirect(Url),
}

/// One URL's reply after retries, and the requests it took.
#[derive(Debug)]
struct Hop {
    reply: Reply,
    attempts: u32,
}

/// Why one attempt failed.
#[derive(Debug)]
enum AttemptError {
    /// Worth another attempt.
    Retryable {
        message: String,
        /// `Retry-After` as sent (uncapped), when there was one.
        retry_after: Option<Duration>,
    },
    /// Final.
    Fatal(LiveRcError),
}

/// Which kind of request, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestKind {
    Robots,
    Catalogue,
    Dashboard,
}

impl RequestKind {
    fn as_str(self) -> &'static str {
        match self {
            RequestKind::Robots => "robots",
            RequestKind::Catalogue => "catalogue",
            RequestKind::Dashboard => "dashboard",
        }
    }
}

impl LiveRcClient {
    /// Validate the configuration and build the client (no request is sent).
    pub fn new(config: LiveRcConfig) -> Result<Self, LiveRcError> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.read_timeout)
            .gzip(true)
            // Redirects are followed by `fetch`, hop by hop.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| LiveRcError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pacer: Pacer::new(config.max_in_flight, config.min_request_spacing),
                robots: RobotsCache::default(),
                robots_token: config.robots_token(),
                kill_switch: KillSwitch::new(config.enabled),
                counters,
                http,
                config,
            }),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &LiveRcConfig {
        &self.inner.config
    }

    /// A handle on the kill switch shared by this client and its clones.
    pub fn kill_switch(&self) -> KillSwitch {
        self.inner.kill_switch.clone()
    }

    /// The dashboard URL of a track. The slug is lowercased and must be a
    /// DNS label (`[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`), else
    /// [`LiveRcError::Invalid`].
    pub fn track_url(&self, slug: &str) -> Result<String, LiveRcError> {
        let slug = normalise_slug(slug)?;
        Ok(self
            .inner
            .config
            .track_url_template
            .replace(SLUG_PLACEHOLDER, &slug))
    }

    /// Fetch and parse the catalogue page.
    pub async fn list_tracks(&self) -> Result<Catalogue, LiveRcError> {
        let url = parse_url(&self.inner.config.catalogue_url)?;
        let span = tracing::info_span!("liverc_list_tracks", url = %url);
        async {
            let fetched = self
                .fetch(&url, HeaderMap::new(), RequestKind::Catalogue)
                .await?;
            match fetched.outcome {
                Outcome::Body {
                    text, received_at, ..
                } => {
                    // The catalogue is ~1 MB of HTML: parse it off the
                    // async worker threads.
                    let parsed = tokio::task::spawn_blocking(move || {
                        crate::parse::parse_catalogue(&text, received_at)
                    })
                    .await
                    .map_err(|e| {
                        FormatError::new(PageKind::Catalogue, format!("parser task failed: {e}"))
                    })
                    .and_then(|r| r);
                    parsed.map_err(|source| LiveRcError::Format {
                        url: url.to_string(),
                        source,
                    })
                }
                Outcome::NotModified { .. } => Err(LiveRcError::Rejected {
                    url: url.to_string(),
                    status: 304,
                }),
            }
        }
        .instrument(span)
        .await
    }

    /// Fetch and parse a track's dashboard.
    pub async fn fetch_dashboard(&self, slug: &str) -> Result<DashboardPage, LiveRcError> {
        match self.dashboard(slug, None).await? {
            DashboardFetch::Modified(page) => Ok(page),
            // Only reachable if a server answers 304 to an unconditional
            // request, which is a protocol error on its side.
            DashboardFetch::NotModified { url, .. } => {
                Err(LiveRcError::Rejected { url, status: 304 })
            }
        }
    }

    /// Fetch a track's dashboard unless it is unchanged since `validators`
    /// were taken: sends `If-None-Match` / `If-Modified-Since` and returns
    /// [`DashboardFetch::NotModified`] on 304. Empty validators make this a
    /// plain fetch.
    pub async fn fetch_dashboard_if_changed(
        &self,
        slug: &str,
        validators: &Validators,
    ) -> Result<DashboardFetch, LiveRcError> {
        self.dashboard(slug, Some(validators)).await
    }

    /// Counters since the client was built (shared by all clones).
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot()
    }

    async fn dashboard(
        &self,
        slug: &str,
        validators: Option<&Validators>,
    ) -> Result<DashboardFetch, LiveRcError> {
        let slug = normalise_slug(slug)?;
        let url_string = self
            .inner
            .config
            .track_url_template
            .replace(SLUG_PLACEHOLDER, &slug);
        let url = parse_url(&url_string)?;
        let mut headers = HeaderMap::new();
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                headers.insert(IF_NONE_MATCH, header_value("ETag", etag)?);
            }
            if let Some(last_modified) = &v.last_modified {
                headers.insert(
                    IF_MODIFIED_SINCE,
                    header_value("Last-Modified", last_modified)?,
                );
            }
        }
        let span = tracing::info_span!("liverc_fetch_dashboard", slug = %slug, url = %url);
        async {
            let fetched = self.fetch(&url, headers, RequestKind::Dashboard).await?;
            match fetched.outcome {
                Outcome::Body {
                    text,
                    validators: new_validators,
                    received_at,
                } => {
                    let dashboard = crate::parse::parse_dashboard(&text).map_err(|source| {
                        LiveRcError::Format {
                            url: url_string.clone(),
                            source,
                        }
                    })?;
                    Ok(DashboardFetch::Modified(DashboardPage {
                        slug: slug.clone(),
                        url: url_string.clone(),
                        dashboard,
                        validators: new_validators,
                        fetched_at: received_at,
                        attempts: fetched.attempts,
                    }))
                }
                Outcome::NotModified {
                    validators: new_validators,
                } => Ok(DashboardFetch::NotModified {
                    slug: slug.clone(),
                    url: url_string.clone(),
                    validators: validators
                        .map(|old| old.refreshed_by(new_validators.clone()))
                        .unwrap_or(new_validators),
                    attempts: fetched.attempts,
                }),
            }
        }
        .instrument(span)
        .await
    }

    /// robots.txt check, then the fetch with retries; a redirect is followed
    /// the same way, up to [`MAX_REDIRECTS`] hops, each checked against the
    /// robots.txt of its own host and paced like it.
    async fn fetch(
        &self,
        url: &Url,
        headers: HeaderMap,
        kind: RequestKind,
    ) -> Result<Fetched, LiveRcError> {
        let headers = &headers;
        follow_redirects(
            url,
            |at| async move { self.fetch_one(&at, headers, kind).await },
        )
        .await
    }

    /// One URL: its host's robots.txt, then the fetch with retries.
    async fn fetch_one(
        &self,
        url: &Url,
        headers: &HeaderMap,
        kind: RequestKind,
    ) -> Result<Hop, LiveRcError> {
        let origin = url.origin().ascii_serialization();
        let host_delay = if self.inner.config.respect_robots {
            let rules = self.robots_for(&origin).await?;
            if !rules.is_allowed(&path_and_query(url)) {
                tracing::info!(url = %url, "robots.txt disallows this URL; not fetching");
                return Err(LiveRcError::RobotsDisallowed {
                    url: url.to_string(),
                });
            }
            rules
                .crawl_delay()
                .map(|d| retry::cap(d, &self.inner.config.retry))
                .unwrap_or_default()
        } else {
            Duration::ZERO
        };
        self.fetch_with_retries(
            url,
            &origin,
            host_delay,
            headers,
            self.inner.config.max_body_bytes,
            kind,
        )
        .await
    }

    async fn robots_for(&self, origin: &str) -> Result<Arc<RobotsRules>, LiveRcError> {
        self.inner
            .robots
            .get(origin, || self.fetch_robots(origin))
            .await
    }

    /// Fetch and parse one host's robots.txt. Only the kill switch makes this
    /// fail; every other problem is turned into "allow everything" (see the
    /// crate README for why).
    async fn fetch_robots(&self, origin: &str) -> Result<CachedRobots, LiveRcError> {
        let url = parse_url(&format!("{origin}/robots.txt"))?;
        let result = self.fetch_robots_file(&url).await;
        let allow_all = |ttl| CachedRobots {
            rules: Arc::new(RobotsRules::allow_all()),
            ttl,
        };
        match result {
            Ok(Fetched {
                outcome: Outcome::Body { text, .. },
                ..
            }) => {
                let rules = RobotsRules::parse(&text, &self.inner.robots_token);
                tracing::debug!(url = %url, crawl_delay_ms = rules.crawl_delay().map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)), "robots.txt read");
                Ok(CachedRobots {
                    rules: Arc::new(rules),
                    ttl: ROBOTS_TTL,
                })
            }
            Ok(Fetched {
                outcome: Outcome::NotModified { .. },
                ..
            }) => Ok(allow_all(ROBOTS_TTL)),
            Err(LiveRcError::Disabled) => Err(LiveRcError::Disabled),
            Err(LiveRcError::Gone { status, .. } | LiveRcError::Rejected { status, .. }) => {
                tracing::debug!(url = %url, status, "no robots.txt: everything allowed");
                Ok(allow_all(ROBOTS_TTL))
            }
            Err(e @ LiveRcError::Transient { status: None, .. }) => {
                // Unreachable: the page request that follows fails the same
                // way and says so; one line here would only repeat it.
                tracing::info!(
                    url = %url,
                    error = %e,
                    "robots.txt unreachable: treating the host as allowing everything for now"
                );
                Ok(allow_all(ROBOTS_FAILURE_TTL))
            }
            Err(e) => {
                tracing::warn!(
                    url = %url,
                    error = %e,
                    "robots.txt unreadable: treating the host as allowing everything for now"
                );
                Ok(allow_all(ROBOTS_FAILURE_TTL))
            }
        }
    }

    /// A robots.txt, following up to [`MAX_REDIRECTS`] redirects (to any
    /// host, as RFC 9309 asks; a robots.txt is not itself subject to one).
    async fn fetch_robots_file(&self, url: &Url) -> Result<Fetched, LiveRcError> {
        let limit = ROBOTS_MAX_BYTES.min(self.inner.config.max_body_bytes);
        follow_redirects(url, |at| async move {
            let origin = at.origin().ascii_serialization();
            self.fetch_with_retries(
                &at,
                &origin,
                Duration::ZERO,
                &HeaderMap::new(),
                limit,
                RequestKind::Robots,
            )
            .await
        })
        .await
    }

    /// Send `url` until it succeeds, fails for good, or the retry policy is
    /// spent. The in-flight slot is held only while an attempt is on the wire.
    async fn fetch_with_retries(
        &self,
        url: &Url,
        origin: &str,
        host_delay: Duration,
        headers: &HeaderMap,
        max_body: usize,
        kind: RequestKind,
    ) -> Result<Hop, LiveRcError> {
        let inner = &*self.inner;
        let policy = &inner.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if !inner.kill_switch.is_enabled() {
                return Err(LiveRcError::Disabled);
            }
            let permit = inner
                .pacer
                .start(origin, host_delay, &inner.kill_switch)
                .await?;
            // The switch may have turned while we waited for our turn.
            if !inner.kill_switch.is_enabled() {
                return Err(LiveRcError::Disabled);
            }
            Counters::bump(&inner.counters.requests);
            if attempt > 1 {
                Counters::bump(&inner.counters.retries);
            }
            if kind == RequestKind::Robots {
                Counters::bump(&inner.counters.robots_fetches);
            }
            let started = Instant::now();
            let (status, result) = self.attempt(url, headers, max_body).await;
            drop(permit);
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            tracing::debug!(
                url = %url,
                kind = kind.as_str(),
                status,
                attempt,
                elapsed_ms,
                ok = result.is_ok(),
                "liverc request"
            );
            let (message, retry_after) = match result {
                Ok(reply) => {
                    return Ok(Hop {
                        reply,
                        attempts: attempt,
                    });
                }
                Err(AttemptError::Fatal(e)) => return Err(e),
                Err(AttemptError::Retryable {
                    message,
                    retry_after,
                }) => (message, retry_after),
            };
            // A robots.txt that cannot be reached at all (no answer: refused,
            // timed out, cut off) is not retried: the page request that
            // follows has its own retries and says what is wrong, and until
            // then this only delays it. A host that answers 5xx or 429 is
            // up, and its robots.txt is retried like any page.
            let unreachable_robots = kind == RequestKind::Robots && status.is_none();
            if attempt > policy.max_retries || unreachable_robots {
                if unreachable_robots {
                    return Err(LiveRcError::Transient {
                        url: url.to_string(),
                        attempts: attempt,
                        status,
                        message,
                    });
                }
                tracing::warn!(
                    url = %url,
                    attempts = attempt,
                    status,
                    reason = %message,
                    "liverc request failed; retries exhausted"
                );
                return Err(LiveRcError::Transient {
                    url: url.to_string(),
                    attempts: attempt,
                    status,
                    message,
                });
            }
            let backoff = retry::backoff_delay_random(policy, attempt - 1);
            let server_wait = retry_after.map(|d| retry::cap(d, policy));
            if let Some(wait) = server_wait {
                let added = inner.pacer.pause_site(wait);
                inner.counters.add_retry_after_wait(added);
            } else if status == Some(429) {
                // "Too many requests" without a date: the whole site slows
                // down for one backoff, not only this request.
                inner.pacer.pause_site(backoff);
            }
            let delay = backoff.max(server_wait.unwrap_or_default());
            // Retries are routine (a 429, a slow page); they are logged at
            // info, and only a request that fails for good warns.
            tracing::info!(
                url = %url,
                attempt,
                status,
                reason = %message,
                retry_after_ms = server_wait.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "liverc request failed; retrying"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = inner.kill_switch.wait_disabled() => return Err(LiveRcError::Disabled),
            }
        }
    }

    /// One HTTP exchange, body included. Returns the status when a response
    /// arrived.
    async fn attempt(
        &self,
        url: &Url,
        headers: &HeaderMap,
        max_body: usize,
    ) -> (Option<u16>, Result<Reply, AttemptError>) {
        let counters = &self.inner.counters;
        let response = match self
            .inner
            .http
            .get(url.clone())
            .headers(headers.clone())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return (None, Err(self.classify(url, &e))),
        };
        let status = response.status();
        let code = status.as_u16();
        counters.response(code);
        let url_string = url.to_string();
        let result = if status == reqwest::StatusCode::NOT_MODIFIED {
            Counters::bump(&counters.not_modified);
            Ok(Reply::Done(Outcome::NotModified {
                validators: Validators::from_headers(response.headers()),
            }))
        } else if status.is_success() {
            let received_at = Utc::now();
            let validators = Validators::from_headers(response.headers());
            self.read_body(url, response, max_body).await.map(|text| {
                Reply::Done(Outcome::Body {
                    text,
                    validators,
                    received_at,
                })
            })
        } else if code == 429 || status.is_server_error() {
            if code == 429 {
                Counters::bump(&counters.responses_429);
            } else {
                Counters::bump(&counters.server_errors);
            }
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
            Err(AttemptError::Retryable {
                message: format!("HTTP {status}"),
                retry_after,
            })
        } else if code == 404 || code == 410 {
            Err(AttemptError::Fatal(LiveRcError::Gone {
                url: url_string,
                status: code,
            }))
        } else if let Some(to) = status
            .is_redirection()
            .then(|| response.headers().get(reqwest::header::LOCATION))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|location| url.join(location).ok())
            .filter(|to| matches!(to.scheme(), "http" | "https"))
        {
            Ok(Reply::Redirect(to))
        } else {
            // Other 4xx, and a 1xx or a 3xx without a usable Location.
            Err(AttemptError::Fatal(LiveRcError::Rejected {
                url: url_string,
                status: code,
            }))
        };
        (Some(code), result)
    }

    /// Stream the body, aborting (and so dropping the connection) as soon as
    /// it exceeds `max_body` bytes.
    async fn read_body(
        &self,
        url: &Url,
        mut response: reqwest::Response,
        max_body: usize,
    ) -> Result<String, AttemptError> {
        let too_large = || {
            AttemptError::Fatal(LiveRcError::BodyTooLarge {
                url: url.to_string(),
                limit: max_body,
            })
        };
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let declared = response.content_length();
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(too_large());
        }
        let capacity = declared
            .and_then(|len| usize::try_from(len).ok())
            .unwrap_or(0)
            .min(max_body);
        let mut body = Vec::with_capacity(capacity);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    Counters::add(&self.inner.counters.bytes_received, chunk.len() as u64);
                    if body.len() + chunk.len() > max_body {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(url, &e)),
            }
        }
        let (text, encoding, malformed) = decode_page(&body, content_type.as_deref());
        if malformed {
            // Kept (as U+FFFD) rather than failing the page, but said.
            tracing::warn!(
                url = %url,
                encoding = encoding.name(),
                "the page has byte sequences invalid in its encoding; they read as U+FFFD"
            );
        }
        Ok(text)
    }

    /// Sort a transport error: timeouts, connect errors and broken or
    /// truncated responses are retryable; a request that cannot be built is
    /// final.
    fn classify(&self, url: &Url, error: &reqwest::Error) -> AttemptError {
        if error.is_builder() {
            return AttemptError::Fatal(LiveRcError::Invalid(format!(
                "cannot request {url}: {}",
                error_chain(error)
            )));
        }
        let message = if error.is_timeout() {
            Counters::bump(&self.inner.counters.timeouts);
            match innermost_cause(error) {
                Some(cause) if !cause.contains("timed out") => format!("timed out: {cause}"),
                _ => "timed out".to_owned(),
            }
        } else if error.is_connect() {
            match innermost_cause(error) {
                Some(cause) => format!("could not connect: {cause}"),
                None => "could not connect".to_owned(),
            }
        } else {
            error_chain(error)
        };
        AttemptError::Retryable {
            message,
            retry_after: None,
        }
    }
}

/// An error and its sources, `outer: inner: innermost`, short: without the
/// URL (every log line and error carries it already) and without the
/// layers that only restate their cause (hyper's "client error (Connect)",
/// "tcp connect error" above "Connection refused (os error 111)").
fn error_chain(error: &reqwest::Error) -> String {
    // The innermost cause is the one that says what happened; reqwest's
    // own line says at which step.
    match innermost_cause(error) {
        Some(cause) => format!("{}: {cause}", reqwest_summary(error)),
        None => reqwest_summary(error),
    }
}

/// The last error in `error`'s source chain, if it has one.
fn innermost_cause(error: &reqwest::Error) -> Option<String> {
    let mut last = None;
    let mut source = error.source();
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last
}

/// reqwest's own line for `error`, without the URL.
fn reqwest_summary(error: &reqwest::Error) -> String {
    let message = error.to_string();
    // "error sending request for url (http://…)": the URL is said elsewhere.
    match message.find(" for url (") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// Lowercase a slug and check that it is one DNS label.
fn normalise_slug(slug: &str) -> Result<String, LiveRcError> {
    let slug = slug.to_ascii_lowercase();
    let bytes = slug.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid = (1..=63).contains(&bytes.len())
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(slug)
    } else {
        Err(LiveRcError::Invalid(format!(
            "{slug:?} is not a valid track slug (one DNS label: letters, digits, inner hyphens, at most 63)"
        )))
    }
}

fn parse_url(value: &str) -> Result<Url, LiveRcError> {
    Url::parse(value).map_err(|e| LiveRcError::Invalid(format!("{value:?} is not a URL: {e}")))
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, LiveRcError> {
    HeaderValue::from_str(value).map_err(|_| {
        LiveRcError::Invalid(format!(
            "{what} validator {value:?} is not a valid header value"
        ))
    })
}

/// The part of a URL robots.txt rules are matched against.
fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(template: &str) -> LiveRcClient {
        LiveRcClient::new(LiveRcConfig {
            track_url_template: template.to_owned(),
            ..LiveRcConfig::default()
        })
        .expect("valid config")
    }

    #[test]
    fn track_url_validates_and_lowercases_slugs() {
        let c = client("https://{slug}.liverc.com/");
        assert_eq!(
            c.track_url("FastandFunToyandHobby").expect("valid"),
            "https://fastandfuntoyandhobby.liverc.com/"
        );
        assert_eq!(c.track_url("a").expect("valid"), "https://a.liverc.com/");
        assert_eq!(
            c.track_url("a-1-b").expect("valid"),
            "https://a-1-b.liverc.com/"
        );
        assert!(c.track_url(&"a".repeat(63)).is_ok());
        for bad in [
            "",
            "-abc",
            "abc-",
            "a.b",
            "a_b",
            "a b",
            "ab/c",
            "ümlaut",
            "abc\n",
            &"a".repeat(64),
            "{slug}",
        ] {
            assert!(
                matches!(c.track_url(bad), Err(LiveRcError::Invalid(_))),
                "{bad:?} should be rejected"
            );
        }
        let sim = client("http://127.0.0.1:8080/t/{slug}/");
        assert_eq!(
            sim.track_url("ABC").expect("valid"),
            "http://127.0.0.1:8080/t/abc/"
        );
    }

    #[test]
    fn validators_refresh_keeps_what_a_304_omits() {
        let old = Validators {
            etag: Some("\"a\"".into()),
            last_modified: Some("Mon, 01 Jan 2024 00:00:00 GMT".into()),
        };
        let new = old.refreshed_by(Validators {
            etag: Some("\"b\"".into()),
            last_modified: None,
        });
        assert_eq!(new.etag.as_deref(), Some("\"b\""));
        assert_eq!(new.last_modified, old.last_modified);
        assert!(Validators::default().is_empty());
        assert!(!old.is_empty());
    }

    #[test]
    fn path_and_query_keeps_the_query() {
        let url = Url::parse("http://h/t/abc/?x=1&y").expect("url");
        assert_eq!(path_and_query(&url), "/t/abc/?x=1&y");
        let url = Url::parse("http://h").expect("url");
        assert_eq!(path_and_query(&url), "/");
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<LiveRcClient>();
        assert_traits::<KillSwitch>();
        assert_traits::<ClientStats>();
        assert_traits::<DashboardFetch>();
    }
}

/// Fetch `url` with `hop`, following its redirects with `hop` too, up to
/// [`MAX_REDIRECTS`] of them; the attempts of every hop add up.
async fn follow_redirects<F, Fut>(url: &Url, mut hop: F) -> Result<Fetched, LiveRcError>
where
    F: FnMut(Url) -> Fut,
    Fut: std::future::Future<Output = Result<Hop, LiveRcError>>,
{
    let mut at = url.clone();
    let mut attempts = 0;
    for n in 0..=MAX_REDIRECTS {
        let fetched = hop(at.clone()).await?;
        attempts += fetched.attempts;
        match fetched.reply {
            Reply::Redirect(to) => {
                tracing::debug!(from = %at, to = %to, hop = n + 1, "liverc redirect");
                at = to;
            }
            Reply::Done(outcome) => return Ok(Fetched { outcome, attempts }),
        }
    }
    Err(LiveRcError::TooManyRedirects {
        url: url.to_string(),
        limit: MAX_REDIRECTS,
    })
}

/// A page's text in the encoding it declares: a byte-order mark first, then
/// the `charset` of the `Content-Type` header, then a `<meta charset>` (or
/// `http-equiv` Content-Type) in its first 1,024 bytes, as browsers look;
/// UTF-8 when none names an encoding `encoding_rs` knows. Returns the text,
/// the encoding used and whether any byte sequence was invalid in it (those
/// read as U+FFFD).
pub(crate) fn decode_page(
    body: &[u8],
    content_type: Option<&str>,
) -> (String, &'static encoding_rs::Encoding, bool) {
    let declared = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&body[..body.len().min(1024)]))
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    // `decode` lets a BOM override the declared encoding, as browsers do.
    let (text, used, malformed) = declared.decode(body);
    (text.into_owned(), used, malformed)
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| {
                value
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned()
            })
            .filter(|v| !v.is_empty())
    })
}

/// The encoding a `<meta>` tag in `head` names: `<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    // Labels are ASCII; reading the prefix as Latin-1 keeps byte offsets.
    let head: String = head.iter().map(|&b| char::from(b)).collect();
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<meta") {
        let start = from + at;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(pos) = tag.find("charset") {
            let rest = tag[pos + "charset".len()..].trim_start();
            if let Some(value) = rest.strip_prefix('=') {
                let value = value.trim_start().trim_start_matches(['"', '\'']);
                let label: String = value
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
                    .collect();
                if !label.is_empty() {
                    return Some(label);
                }
            }
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod decode_tests {
    use super::decode_page;

    #[test]
    fn utf8_is_the_default_and_invalid_bytes_are_flagged() {
        let (text, enc, bad) = decode_page("Caf\u{e9} Raceway".as_bytes(), None);
        assert_eq!(
            (text.as_str(), enc.name(), bad),
            ("Caf\u{e9} Raceway", "UTF-8", false)
        );
        let (text, _, bad) = decode_page(b"Caf\xe9", Some("text/html"));
        assert_eq!((text.as_str(), bad), ("Caf\u{fffd}", true));
    }

    #[test]
    fn the_header_charset_is_used() {
        let (text, enc, bad) = decode_page(b"Caf\xe9", Some("text/html; charset=ISO-8859-1"));
        // ISO-8859-1 is windows-1252 on the web.
        assert_eq!(
            (text.as_str(), enc.name(), bad),
            ("Caf\u{e9}", "windows-1252", false)
        );
        let (text, _, _) = decode_page(b"Caf\xe9", Some("text/html;charset=\"windows-1252\""));
        assert_eq!(text, "Caf\u{e9}");
    }

    #[test]
    fn a_meta_charset_is_used_without_a_header_charset() {
        let page = b"<html><head><meta charset=\"windows-1252\"></head><body>Caf\xe9</body>";
        let (text, enc, _) = decode_page(page, Some("text/html"));
        assert!(text.ends_with("Caf\u{e9}</body>"), "{text}");
        assert_eq!(enc.name(), "windows-1252");
        let page = b"<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=iso-8859-15'>\xa4";
        let (text, _, _) = decode_page(page, None);
        assert!(text.ends_with('\u{20ac}'), "{text}");
    }

    #[test]
    fn a_byte_order_mark_wins_and_unknown_labels_fall_back_to_utf8() {
        let (text, enc, _) = decode_page(
            b"\xef\xbb\xbfCaf\xc3\xa9",
            Some("text/html; charset=latin1"),
        );
        assert_eq!((text.as_str(), enc.name()), ("Caf\u{e9}", "UTF-8"));
        let (text, enc, _) =
            decode_page("Caf\u{e9}".as_bytes(), Some("text/html; charset=klingon"));
        assert_eq!((text.as_str(), enc.name()), ("Caf\u{e9}", "UTF-8"));
    }
}
