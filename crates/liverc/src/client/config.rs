//! The client's configuration: one typed struct, plain data, built by the
//! binary (from its environment) and validated by
//! [`LiveRcClient::new`](crate::LiveRcClient::new). This crate never reads
//! environment variables itself.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::LiveRcError;

/// The placeholder in [`LiveRcConfig::track_url_template`] replaced by the
/// (validated, lowercased) track slug.
pub const SLUG_PLACEHOLDER: &str = "{slug}";

/// The default User-Agent: names the service and a contact address.
/// Deployments should set their own contact address.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "liverc-ingest/",
    env!("CARGO_PKG_VERSION"),
    " (track catalogue sync; +mailto:liverc-ingest@example.org)"
);

/// How failed attempts are retried.
///
/// Only failures that can succeed later are retried: connect errors,
/// timeouts, truncated bodies, 5xx and 429. The delay before retry `n`
/// (0-based) is `min(max_delay, base_delay * 2^n)`, with "equal jitter"
/// (a uniformly random value between half and all of it) when `jitter` is
/// on, and never shorter than a `Retry-After` the server sent (itself capped
/// at `max_retry_after`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Delay before the first retry, doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of the exponential delay.
    pub max_delay: Duration,
    /// Randomise each delay between half and all of its value.
    pub jitter: bool,
    /// The longest pause a server may impose with `Retry-After` (or with a
    /// robots.txt `Crawl-delay`); longer values are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Everything [`LiveRcClient`](crate::LiveRcClient) needs to know.
///
/// Build it with struct-update syntax over [`Default`]:
/// `LiveRcConfig { max_in_flight: 4, ..LiveRcConfig::default() }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRcConfig {
    /// The catalogue page. Default `https://live.liverc.com/`.
    pub catalogue_url: String,
    /// A track's dashboard URL, with [`SLUG_PLACEHOLDER`] where the slug
    /// goes. Default `https://{slug}.liverc.com/`; the simulator uses
    /// `http://127.0.0.1:PORT/t/{slug}/`.
    pub track_url_template: String,
    /// Sent with every request; its first word (before `/`) is the token
    /// matched against robots.txt `User-agent` lines.
    pub user_agent: String,
    /// TCP (and TLS) connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Timeout for a whole response, headers and body. Default 30 s.
    pub read_timeout: Duration,
    /// Requests in flight at once, across every host (robots.txt included).
    /// Default 6.
    pub max_in_flight: usize,
    /// Minimum gap between the starts of any two requests, site-wide.
    /// Default 0.
    pub min_request_spacing: Duration,
    /// Largest response body accepted (after content decoding). Default 5 MiB.
    pub max_body_bytes: usize,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Fetch and obey each host's robots.txt. Default true.
    pub respect_robots: bool,
    /// Initial state of the kill switch. Default true.
    pub enabled: bool,
}

impl Default for LiveRcConfig {
    fn default() -> Self {
        Self {
            catalogue_url: "https://live.liverc.com/".to_owned(),
            track_url_template: "https://{slug}.liverc.com/".to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_in_flight: 6,
            min_request_spacing: Duration::ZERO,
            max_body_bytes: 5 * 1024 * 1024,
            retry: RetryPolicy::default(),
            respect_robots: true,
            enabled: true,
        }
    }
}

impl LiveRcConfig {
    /// Check every field; the first problem found is an
    /// [`LiveRcError::Invalid`].
    pub fn validate(&self) -> Result<(), LiveRcError> {
        check_http_url("catalogue_url", &self.catalogue_url)?;
        if !self.track_url_template.contains(SLUG_PLACEHOLDER) {
            return Err(invalid(format!(
                "track_url_template {:?} lacks the {SLUG_PLACEHOLDER} placeholder",
                self.track_url_template
            )));
        }
        check_http_url(
            "track_url_template",
            &self.track_url_template.replace(SLUG_PLACEHOLDER, "slug"),
        )?;
        if self.user_agent.trim().is_empty() {
            return Err(invalid("user_agent is empty".to_owned()));
        }
        if reqwest::header::HeaderValue::from_str(&self.user_agent).is_err() {
            return Err(invalid(format!(
                "user_agent {:?} is not a valid header value",
                self.user_agent
            )));
        }
        if self.max_in_flight == 0 || self.max_in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(invalid(format!(
                "max_in_flight must be at least 1, got {}",
                self.max_in_flight
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(invalid("max_body_bytes must be positive".to_owned()));
        }
        if self.connect_timeout.is_zero() || self.read_timeout.is_zero() {
            return Err(invalid("timeouts must be positive".to_owned()));
        }
        if self.retry.max_delay < self.retry.base_delay {
            return Err(invalid(format!(
                "retry.max_delay ({:?}) is shorter than retry.base_delay ({:?})",
                self.retry.max_delay, self.retry.base_delay
            )));
        }
        Ok(())
    }

    /// The product token matched against robots.txt `User-agent` lines: the
    /// User-Agent's first word up to any `/`, lowercased
    /// (`liverc-ingest/0.1 (...)` gives `liverc-ingest`).
    pub fn robots_token(&self) -> String {
        self.user_agent
            .split(|c: char| c == '/' || c.is_whitespace())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}

fn invalid(message: String) -> LiveRcError {
    LiveRcError::Invalid(message)
}

fn check_http_url(field: &str, value: &str) -> Result<Url, LiveRcError> {
    let url =
        Url::parse(value).map_err(|e| invalid(format!("{field} {value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(format!(
            "{field} {value:?} must be an http(s) URL with a host"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_matches_the_contract() {
        let c = LiveRcConfig::default();
        c.validate().expect("default config is valid");
        assert_eq!(c.catalogue_url, "https://live.liverc.com/");
        assert_eq!(c.track_url_template, "https://{slug}.liverc.com/");
        assert_eq!(c.max_in_flight, 6);
        assert_eq!(c.max_body_bytes, 5 * 1024 * 1024);
        assert_eq!(c.retry.max_retries, 3);
        assert_eq!(c.retry.max_retry_after, Duration::from_secs(120));
        assert!(c.user_agent.contains("mailto:"));
        assert_eq!(c.robots_token(), "liverc-ingest");
    }

    #[test]
    fn rejects_bad_fields() {
        let bad = [
            LiveRcConfig {
                catalogue_url: "not a url".into(),
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                catalogue_url: "ftp://live.liverc.com/".into(),
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                track_url_template: "https://liverc.com/".into(),
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                user_agent: "  ".into(),
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                user_agent: "bad\nagent".into(),
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                max_in_flight: 0,
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                max_body_bytes: 0,
                ..LiveRcConfig::default()
            },
            LiveRcConfig {
                read_timeout: Duration::ZERO,
                ..LiveRcConfig::default()
            },
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(LiveRcError::Invalid(_))),
                "{config:?} should be invalid"
            );
        }
    }

    #[test]
    fn robots_token_takes_the_first_word() {
        let c = LiveRcConfig {
            user_agent: "MyBot/2.0 (+https://example.org)".into(),
            ..LiveRcConfig::default()
        };
        assert_eq!(c.robots_token(), "mybot");
        let c = LiveRcConfig {
            user_agent: "plainbot".into(),
            ..LiveRcConfig::default()
        };
        assert_eq!(c.robots_token(), "plainbot");
    }
}
