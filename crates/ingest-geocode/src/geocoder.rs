//! [`NominatimGeocoder`]: the core's [`Geocoder`] port over Nominatim's
//! `search` endpoint, with the shared pacer, the result cache, bounded
//! retries and a body cap.

use std::error::Error as _;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{Coordinates, GeocodeError, Geocoder};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use tokio::time::Instant;
use tracing::{debug, warn};
use url::Url;

use crate::config::NominatimConfig;
use crate::pacer::Pacer;
use crate::response::{error_message, parse_search};
use hashlink::LruCache;

/// The provider name stored with every coordinate this geocoder produces.
pub const PROVIDER: &str = "nominatim";

/// The largest response body read; a one-result search answer is a few
/// hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The pause imposed after a 429 that carries no usable `Retry-After`
/// (cut to [`NominatimConfig::max_retry_after`]).
pub const DEFAULT_TOO_MANY_REQUESTS_PAUSE: Duration = Duration::from_secs(10);

/// Redirects followed at most; Nominatim itself does not redirect searches.
const MAX_REDIRECTS: usize = 3;

/// A cache key: the normalised query (case folded) and the country code.
type CacheKey = (String, Option<String>);

/// A geocoder backed by a Nominatim server, polite by construction.
///
/// Cloning is cheap and every clone shares one pacer, one cache and one HTTP
/// connection pool, so the rate limit holds across all of them.
#[derive(Clone)]
pub struct NominatimGeocoder {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    search_url: Url,
    config: NominatimConfig,
    pacer: Pacer,
    cache: Mutex<LruCache<CacheKey, Option<Coordinates>>>,
    /// Set after a 403: the server refuses us, so no further request is sent.
    refused: AtomicBool,
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    message: String,
    retryable: bool,
}

impl Failure {
    fn transient(message: String) -> Self {
        Self {
            message,
            retryable: true,
        }
    }

    fn fatal(message: String) -> Self {
        Self {
            message,
            retryable: false,
        }
    }
}

impl fmt::Debug for NominatimGeocoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NominatimGeocoder")
            .field("search_url", &self.inner.search_url.as_str())
            .field("user_agent", &self.inner.config.user_agent)
            .field("min_interval", &self.inner.config.min_interval)
            .field("cached", &self.cached())
            .field("refused", &self.inner.refused.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl NominatimGeocoder {
    /// Validate the configuration and build the geocoder (no request is
    /// sent).
    pub fn new(config: NominatimConfig) -> Result<Self, GeocodeError> {
        let search_url = config.validate()?;
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.trim())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| GeocodeError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                search_url,
                pacer: Pacer::new(config.min_interval),
                // hashlink keeps nothing at capacity 0: at least one entry.
                cache: Mutex::new(LruCache::new(config.cache_capacity.max(1))),
                refused: AtomicBool::new(false),
                config,
            }),
        })
    }

    /// The configuration the geocoder was built with.
    pub fn config(&self) -> &NominatimConfig {
        &self.inner.config
    }

    /// Results held in the cache (positive and negative).
    pub fn cached(&self) -> usize {
        self.cache().len()
    }

    /// Whether the server refused access (HTTP 403): from then on every call
    /// fails at once without a request, until a new geocoder is built.
    pub fn is_refused(&self) -> bool {
        self.inner.refused.load(Ordering::Relaxed)
    }

    fn cache(&self) -> MutexGuard<'_, LruCache<CacheKey, Option<Coordinates>>> {
        // A panic mid-operation leaves at worst a stale ordering entry.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn refused_error(&self) -> GeocodeError {
        GeocodeError(
            "Nominatim refused access earlier (HTTP 403); no further requests are sent".to_owned(),
        )
    }

    /// The search URL for one query.
    fn url(&self, query: &str, country: Option<&str>) -> Url {
        let mut url = self.inner.search_url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("q", query)
                .append_pair("format", "jsonv2")
                .append_pair("limit", "1");
            if let Some(country) = country {
                pairs.append_pair("countrycodes", country);
            }
            if let Some(email) = &self.inner.config.email {
                pairs.append_pair("email", email.trim());
            }
        }
        url
    }

    /// One request, once the pacer has granted its start.
    async fn attempt(&self, url: &Url) -> Result<Option<Coordinates>, Failure> {
        let response = self
            .inner
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport_failure(&e))?;
        let status = response.status();
        if status.is_success() {
            let body = self.read_body(response).await?;
            return parse_search(&body).map_err(Failure::fatal);
        }

        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| ingest_retry::retry_after(value, self.inner.config.max_retry_after));
        // The body of an error answer may explain it; read a little of it.
        let detail = self
            .read_body(response)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok())
            .and_then(|value| error_message(&value))
            .map(|message| format!(": {message}"))
            .unwrap_or_default();
        let mut message = format!("Nominatim answered HTTP {status}{detail}");
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let pause = retry_after.unwrap_or(
                    DEFAULT_TOO_MANY_REQUESTS_PAUSE.min(self.inner.config.max_retry_after),
                );
                self.inner.pacer.defer_until(Instant::now() + pause);
                message.push_str(&format!(" (pausing all requests for {pause:?})"));
                Err(Failure::transient(message))
            }
            StatusCode::FORBIDDEN => {
                self.inner.refused.store(true, Ordering::Relaxed);
                message.push_str(
                    "; access refused, check the User-Agent and the usage policy; \
                     no further requests are sent",
                );
                Err(Failure::fatal(message))
            }
            s if s.is_server_error() => {
                if let Some(pause) = retry_after {
                    self.inner.pacer.defer_until(Instant::now() + pause);
                    message.push_str(&format!(" (pausing all requests for {pause:?})"));
                }
                Err(Failure::transient(message))
            }
            _ => Err(Failure::fatal(message)),
        }
    }

    /// Read the body, failing as soon as it exceeds [`MAX_BODY_BYTES`].
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let too_large = || {
            Failure::fatal(format!(
                "Nominatim answer larger than {MAX_BODY_BYTES} bytes"
            ))
        };
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_failure(&e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Timeouts, connection and protocol errors: all may pass.
    fn transport_failure(&self, error: &reqwest::Error) -> Failure {
        if error.is_builder() {
            return Failure::fatal(format!("cannot build the Nominatim request: {error}"));
        }
        let chain = error_chain(error);
        if error.is_timeout() {
            Failure::transient(format!(
                "Nominatim timed out after {:?}: {chain}",
                self.inner.config.timeout
            ))
        } else if error.is_connect() {
            Failure::transient(format!("cannot connect to Nominatim: {chain}"))
        } else {
            Failure::transient(format!("Nominatim request failed: {chain}"))
        }
    }
}

#[async_trait]
impl Geocoder for NominatimGeocoder {
    fn provider(&self) -> String {
        PROVIDER.to_owned()
    }

    async fn geocode(
        &self,
        query: &str,
        country_code: Option<String>,
    ) -> Result<Option<Coordinates>, GeocodeError> {
        let query = normalise_query(query);
        if query.is_empty() {
            return Err(GeocodeError("empty address query".to_owned()));
        }
        let country = country_code.as_deref().and_then(|code| {
            let normalised = normalise_country(code);
            if normalised.is_none() {
                debug!(
                    country_code = code,
                    "not an ISO 3166-1 alpha-2 code; searching without a country filter"
                );
            }
            normalised
        });
        let key: CacheKey = (query.to_lowercase(), country.clone());
        if let Some(hit) = self.cache().get(&key).cloned() {
            return Ok(hit);
        }
        if self.is_refused() {
            return Err(self.refused_error());
        }

        let url = self.url(&query, country.as_deref());
        let mut attempts = 0_u32;
        loop {
            let turn = self.inner.pacer.turn().await;
            // While this caller queued, another may have fetched the same
            // place, or the server may have refused us.
            if let Some(hit) = self.cache().get(&key).cloned() {
                return Ok(hit);
            }
            if self.is_refused() {
                return Err(self.refused_error());
            }
            turn.start().await;
            attempts += 1;
            debug!(query, country = ?country, attempt = attempts, "nominatim search");
            match self.attempt(&url).await {
                Ok(result) => {
                    self.cache().insert(key, result);
                    return Ok(result);
                }
                Err(failure) if failure.retryable && attempts <= self.inner.config.max_retries => {
                    warn!(query, error = %failure.message, "nominatim search failed; retrying");
                }
                Err(failure) => {
                    let mut message = failure.message;
                    if attempts > 1 {
                        message.push_str(&format!(" (after {attempts} attempts)"));
                    }
                    return Err(GeocodeError(message));
                }
            }
        }
    }
}

/// Trim and collapse runs of whitespace to one space.
fn normalise_query(query: &str) -> String {
    query.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An ISO 3166-1 alpha-2 code, lowercased as Nominatim's `countrycodes`
/// expects; anything else is `None`.
fn normalise_country(code: &str) -> Option<String> {
    let code = code.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_lowercase())
}

/// An error and its sources, `outer: inner: innermost`.
fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_trimmed_and_collapsed() {
        assert_eq!(
            normalise_query("  5320 us 301,\t lucama,\n nc  "),
            "5320 us 301, lucama, nc"
        );
        assert_eq!(normalise_query(" \t "), "");
    }

    #[test]
    fn only_alpha_2_country_codes_filter() {
        assert_eq!(normalise_country("US"), Some("us".to_owned()));
        assert_eq!(normalise_country(" gb "), Some("gb".to_owned()));
        assert_eq!(normalise_country("USA"), None);
        assert_eq!(normalise_country("1a"), None);
        assert_eq!(normalise_country(""), None);
        assert_eq!(normalise_country("é"), None);
    }
}
