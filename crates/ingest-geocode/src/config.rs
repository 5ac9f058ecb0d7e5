//! The geocoder's configuration: one typed struct of plain data, built by the
//! binary (from its own configuration) and checked by
//! [`NominatimGeocoder::new`](crate::NominatimGeocoder::new). This crate never
//! reads environment variables itself.

use std::time::Duration;

use ingest_core::GeocodeError;
use reqwest::header::HeaderValue;
use url::Url;

/// The public OpenStreetMap Nominatim instance.
pub const DEFAULT_BASE_URL: &str = "https://nominatim.openstreetmap.org/";

/// The host of the public instance, whose usage policy allows at most one
/// request per second.
pub const PUBLIC_HOST: &str = "nominatim.openstreetmap.org";

/// The shortest spacing between two requests the public instance allows.
pub const PUBLIC_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The most retries a configuration may ask for: more would be a retry storm.
pub const MAX_RETRIES_LIMIT: u32 = 3;

/// User-Agent prefixes that HTTP libraries and tools send by default. The
/// usage policy says such stock agents "will not do": they identify nobody.
const STOCK_USER_AGENTS: &[&str] = &[
    "reqwest",
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java",
    "okhttp",
    "apache-httpclient",
    "axios",
    "node-fetch",
    "undici",
    "mozilla",
];

/// Everything [`NominatimGeocoder`](crate::NominatimGeocoder) needs to know.
///
/// There is no `Default`: the User-Agent must name the application and a way
/// to reach its operators, and only the deployment knows those. Start from
/// [`NominatimConfig::new`] and override fields as needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NominatimConfig {
    /// The Nominatim base URL; `search` is resolved against it (a missing
    /// trailing `/` is added). Default: [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Sent as `User-Agent` on every request. Must identify the application
    /// (a stock library agent such as `reqwest/…` is refused) and, unless
    /// [`email`](Self::email) is set, carry a contact: an e-mail address or a
    /// URL, e.g. `liverc-ingest/0.1 (+mailto:ops@example.org)`.
    pub user_agent: String,
    /// Sent as the `email` query parameter, as the Nominatim documentation
    /// asks of anyone making a large number of requests.
    pub email: Option<String>,
    /// The least time between the starts of two requests, shared by every
    /// clone of the geocoder. Default 1 s, the policy's absolute maximum of one
    /// request per second; anything shorter is refused for the public
    /// instance ([`PUBLIC_HOST`]) and allowed only for one's own server.
    pub min_interval: Duration,
    /// Whole-request timeout (connect, send, response and body). Default 10 s.
    pub timeout: Duration,
    /// Most distinct `(query, country)` results kept in memory, positive and
    /// negative; the least recently used is evicted first. Default 10,000.
    pub cache_capacity: usize,
    /// Retries after a failed first attempt, for failures that can succeed
    /// later only (timeouts, connection errors, 429, 5xx); each waits for the
    /// pacer, so never sooner than `min_interval` (or a `Retry-After`) after
    /// the previous start. Default 1, at most [`MAX_RETRIES_LIMIT`].
    pub max_retries: u32,
    /// The longest pause a `Retry-After` (on 429 or 503) may impose on the
    /// pacer; longer values are cut to this. Default 60 s.
    pub max_retry_after: Duration,
}

impl NominatimConfig {
    /// The defaults, with the given User-Agent.
    pub fn new(user_agent: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            user_agent: user_agent.into(),
            email: None,
            min_interval: PUBLIC_MIN_INTERVAL,
            timeout: Duration::from_secs(10),
            cache_capacity: 10_000,
            max_retries: 1,
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Check every field; returns the `search` endpoint URL.
    pub(crate) fn validate(&self) -> Result<Url, GeocodeError> {
        let invalid =
            |message: String| GeocodeError(format!("invalid Nominatim config: {message}"));

        let mut base = Url::parse(self.base_url.trim())
            .map_err(|e| invalid(format!("base_url {:?}: {e}", self.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(invalid(format!(
                "base_url {:?} must be an http(s) URL with a host",
                self.base_url
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid(format!(
                "base_url {:?} must carry no query or fragment",
                self.base_url
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let search = base
            .join("search")
            .map_err(|e| invalid(format!("base_url {:?}: {e}", self.base_url)))?;

        let agent = self.user_agent.trim();
        if agent.is_empty() {
            return Err(invalid(
                "user_agent is empty; it must name the application and a contact".to_owned(),
            ));
        }
        if HeaderValue::from_str(agent).is_err() {
            return Err(invalid(format!(
                "user_agent {agent:?} is not a valid header value"
            )));
        }
        let lower = agent.to_ascii_lowercase();
        if let Some(stock) = STOCK_USER_AGENTS.iter().find(|s| lower.starts_with(*s)) {
            return Err(invalid(format!(
                "user_agent {agent:?} looks like a stock {stock} agent; name the application"
            )));
        }
        let email = match self.email.as_deref().map(str::trim) {
            None => None,
            Some(email) if email_address::EmailAddress::is_valid(email) => Some(email),
            Some(email) => return Err(invalid(format!("email {email:?} is not an address"))),
        };
        let has_contact =
            lower.contains('@') || lower.contains("http://") || lower.contains("https://");
        if !has_contact && email.is_none() {
            return Err(invalid(format!(
                "user_agent {agent:?} carries no contact (an e-mail address or URL) and no email is set"
            )));
        }

        if self.min_interval.is_zero() {
            return Err(invalid("min_interval must be positive".to_owned()));
        }
        if base
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(PUBLIC_HOST))
            && self.min_interval < PUBLIC_MIN_INTERVAL
        {
            return Err(invalid(format!(
                "min_interval {:?} is below the public instance's limit of one request per second",
                self.min_interval
            )));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout must be positive".to_owned()));
        }
        if self.cache_capacity == 0 {
            return Err(invalid(
                "cache_capacity must be at least 1: the usage policy asks for caching".to_owned(),
            ));
        }
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(invalid(format!(
                "max_retries {} is above the limit of {MAX_RETRIES_LIMIT}",
                self.max_retries
            )));
        }
        Ok(search)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "liverc-ingest/0.1 (+mailto:ops@example.org)";

    fn error(config: &NominatimConfig) -> String {
        config.validate().expect_err("invalid config").0
    }

    #[test]
    fn defaults_follow_the_usage_policy() {
        let config = NominatimConfig::new(AGENT);
        assert_eq!(config.min_interval, Duration::from_secs(1));
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.cache_capacity, 10_000);
        let search = config.validate().expect("valid");
        assert_eq!(
            search.as_str(),
            "https://nominatim.openstreetmap.org/search"
        );
    }

    #[test]
    fn a_base_path_keeps_its_last_segment() {
        let config = NominatimConfig {
            base_url: "http://127.0.0.1:8080/nominatim".to_owned(),
            ..NominatimConfig::new(AGENT)
        };
        let search = config.validate().expect("valid");
        assert_eq!(search.as_str(), "http://127.0.0.1:8080/nominatim/search");
    }

    #[test]
    fn the_user_agent_must_identify_someone() {
        for agent in ["", "   ", "reqwest/0.13", "curl/8.0 ops@example.org"] {
            let message = error(&NominatimConfig::new(agent));
            assert!(message.contains("user_agent"), "{agent:?}: {message}");
        }
        let message = error(&NominatimConfig::new("liverc-ingest/0.1"));
        assert!(message.contains("no contact"), "{message}");
        let message = error(&NominatimConfig::new("bad\nagent ops@example.org"));
        assert!(message.contains("header"), "{message}");
    }

    #[test]
    fn an_email_parameter_is_a_contact() {
        let config = NominatimConfig {
            email: Some("ops@example.org".to_owned()),
            ..NominatimConfig::new("liverc-ingest/0.1")
        };
        assert!(config.validate().is_ok());
        let config = NominatimConfig {
            email: Some("not an address".to_owned()),
            ..NominatimConfig::new(AGENT)
        };
        assert!(error(&config).contains("email"));
    }

    #[test]
    fn the_public_instance_is_never_asked_more_than_once_a_second() {
        let config = NominatimConfig {
            min_interval: Duration::from_millis(999),
            ..NominatimConfig::new(AGENT)
        };
        assert!(error(&config).contains("one request per second"));
        let own_server = NominatimConfig {
            base_url: "http://127.0.0.1:8080/".to_owned(),
            ..config
        };
        assert!(own_server.validate().is_ok());
    }

    #[test]
    fn limits_are_checked() {
        let base = NominatimConfig {
            base_url: "http://127.0.0.1:8080/".to_owned(),
            ..NominatimConfig::new(AGENT)
        };
        let cases = [
            (
                NominatimConfig {
                    min_interval: Duration::ZERO,
                    ..base.clone()
                },
                "min_interval",
            ),
            (
                NominatimConfig {
                    timeout: Duration::ZERO,
                    ..base.clone()
                },
                "timeout",
            ),
            (
                NominatimConfig {
                    cache_capacity: 0,
                    ..base.clone()
                },
                "cache_capacity",
            ),
            (
                NominatimConfig {
                    max_retries: MAX_RETRIES_LIMIT + 1,
                    ..base.clone()
                },
                "max_retries",
            ),
            (
                NominatimConfig {
                    base_url: "ftp://example.org/".to_owned(),
                    ..base.clone()
                },
                "base_url",
            ),
            (
                NominatimConfig {
                    base_url: "http://127.0.0.1/?x=1".to_owned(),
                    ..base.clone()
                },
                "base_url",
            ),
            (
                NominatimConfig {
                    base_url: "not a url".to_owned(),
                    ..base
                },
                "base_url",
            ),
        ];
        for (config, field) in cases {
            let message = error(&config);
            assert!(message.contains(field), "{field}: {message}");
        }
    }
}
