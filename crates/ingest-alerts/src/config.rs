//! The webhook's configuration: one typed struct of plain data that the
//! binary builds from its own configuration (`MRE_ALERT_WEBHOOK_*`, see the
//! crate README) and [`WebhookNotifier::new`](crate::WebhookNotifier::new)
//! checks. This crate never reads environment variables itself.
//!
//! The URL is a secret (a Slack incoming-webhook path is a bearer
//! credential), so nothing here prints it: `Debug` and every error show only
//! its scheme and host.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// Whole-request timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts per alert (the first one included) when none is configured.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;

/// The pause before the first retry; each later one doubles it.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);

/// The longest pause between two attempts that the backoff may reach.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The longest pause a `Retry-After` may impose; longer values are cut.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The most attempts a configuration may ask for: an alert endpoint that is
/// down for longer is down, and more would only be a retry storm.
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;

/// The body the webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WebhookFormat {
    /// Slack's incoming-webhook body, `{"text": …, "blocks": […]}`, which
    /// Mattermost, Rocket.Chat and Discord's `/slack` endpoint accept too.
    Slack,
    /// The alert itself as camelCase JSON, plus `event` (the alert kind) and
    /// `service` (`liverc-ingestion`), for any HTTP receiver.
    #[default]
    Generic,
}

impl WebhookFormat {
    /// The name used in configuration: `slack` or `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Slack => "slack",
            WebhookFormat::Generic => "generic",
        }
    }
}

impl fmt::Display for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook format name that is neither `slack` nor `generic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert webhook format {0:?} (expected slack or generic)")]
pub struct UnknownWebhookFormat(pub String);

impl FromStr for WebhookFormat {
    type Err = UnknownWebhookFormat;

    /// `slack` or `generic`, case-insensitive, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "slack" => Ok(WebhookFormat::Slack),
            "generic" => Ok(WebhookFormat::Generic),
            _ => Err(UnknownWebhookFormat(s.to_owned())),
        }
    }
}

/// Why a [`WebhookNotifier`](crate::WebhookNotifier) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookConfigError {
    /// A field is out of range or the URL is not an http(s) URL. The message
    /// never contains the URL's secret part.
    #[error("invalid alert webhook config: {0}")]
    Invalid(String),
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot build the alert webhook's HTTP client: {0}")]
    Client(String),
}

/// Everything a [`WebhookNotifier`](crate::WebhookNotifier) needs to know.
///
/// Start from [`WebhookConfig::new`], which sets the defaults, and override
/// fields as needed. A delivery takes at most about `max_attempts × timeout`
/// plus the pauses between attempts (each at most `max_backoff`, or
/// `max_retry_after` when the server asked for longer).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where alerts are POSTed (http or https). Treated as a secret.
    pub url: String,
    /// The body's shape. Default [`WebhookFormat::Generic`].
    pub format: WebhookFormat,
    /// Whole-request timeout of one attempt (connect, send, response).
    /// Default [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Attempts per alert, the first included (1 = no retry), at most
    /// [`MAX_ATTEMPTS_LIMIT`]. Default [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// The pause before the first retry; doubled for each later one.
    /// Default [`DEFAULT_INITIAL_BACKOFF`].
    pub initial_backoff: Duration,
    /// The cap of the doubling pause. Default [`DEFAULT_MAX_BACKOFF`].
    pub max_backoff: Duration,
    /// The cap of a server's `Retry-After` (on 429 and 5xx answers).
    /// Default [`DEFAULT_MAX_RETRY_AFTER`].
    pub max_retry_after: Duration,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redact_url(&self.url))
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

impl WebhookConfig {
    /// The defaults, posting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            format: WebhookFormat::default(),
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }

    /// The URL with everything but its scheme, host and port hidden: safe to
    /// log.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The pause before retry number `retry` (1 for the second attempt):
    /// `initial_backoff × 2^(retry-1)`, capped at `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        ingest_retry::Backoff::new(self.initial_backoff, self.max_backoff).delay(retry)
    }

    /// Check every field; returns the parsed URL.
    pub(crate) fn validate(&self) -> Result<Url, WebhookConfigError> {
        let invalid = |message: String| WebhookConfigError::Invalid(message);
        let url = Url::parse(self.url.trim())
            .map_err(|e| invalid(format!("url is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(format!(
                "url {} must be an http(s) URL with a host",
                redact_url(&self.url)
            )));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout must be positive".to_owned()));
        }
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS_LIMIT {
            return Err(invalid(format!(
                "max_attempts {} must be between 1 and {MAX_ATTEMPTS_LIMIT}",
                self.max_attempts
            )));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(invalid(format!(
                "initial_backoff {:?} is above max_backoff {:?}",
                self.initial_backoff, self.max_backoff
            )));
        }
        Ok(url)
    }
}

/// `scheme://host[:port]/…`: the parts of a URL that identify the receiver
/// without the path, query or credentials that may authenticate to it.
pub(crate) fn redact_url(raw: &str) -> String {
    let Ok(url) = Url::parse(raw.trim()) else {
        return "<invalid URL, redacted>".to_owned();
    };
    let Some(host) = url.host_str() else {
        return format!("{}:<redacted>", url.scheme());
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let hidden = url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some();
    let rest = if hidden { "/<redacted>" } else { "/" };
    format!("{}://{host}{port}{rest}", url.scheme())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "https://hooks.slack.com/services/T0001/B0002/s3cr3tT0k3n";

    fn error(config: &WebhookConfig) -> String {
        config.validate().expect_err("invalid config").to_string()
    }

    #[test]
    fn formats_parse_case_insensitively() {
        assert_eq!("slack".parse(), Ok(WebhookFormat::Slack));
        assert_eq!(" Generic ".parse(), Ok(WebhookFormat::Generic));
        assert_eq!("SLACK".parse(), Ok(WebhookFormat::Slack));
        let err = "teams".parse::<WebhookFormat>().expect_err("unknown");
        assert_eq!(err, UnknownWebhookFormat("teams".to_owned()));
        assert!(err.to_string().contains("slack or generic"), "{err}");
        assert_eq!(WebhookFormat::default(), WebhookFormat::Generic);
        for format in [WebhookFormat::Slack, WebhookFormat::Generic] {
            assert_eq!(format.to_string().parse(), Ok(format));
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let config = WebhookConfig::new(SLACK);
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("T0001"), "{debug}");
        assert!(
            debug.contains("https://hooks.slack.com/<redacted>"),
            "{debug}"
        );
        assert_eq!(config.redacted_url(), "https://hooks.slack.com/<redacted>");
    }

    #[test]
    fn redaction_hides_path_query_and_credentials() {
        assert_eq!(
            redact_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/hook"),
            "http://127.0.0.1:8080/<redacted>"
        );
        assert_eq!(
            redact_url("https://alerts.example.org/?token=abc"),
            "https://alerts.example.org/<redacted>"
        );
        let with_user = redact_url("https://user:pw@alerts.example.org/");
        assert_eq!(with_user, "https://alerts.example.org/<redacted>");
        assert_eq!(redact_url("not a url s3cr3t"), "<invalid URL, redacted>");
    }

    #[test]
    fn defaults_are_valid() {
        let config = WebhookConfig::new(SLACK);
        assert_eq!(config.format, WebhookFormat::Generic);
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.max_attempts, DEFAULT_MAX_ATTEMPTS);
        assert_eq!(config.validate().expect("valid").as_str(), SLACK);
    }

    #[test]
    fn limits_are_checked_without_printing_the_url() {
        let base = WebhookConfig::new(SLACK);
        let cases = [
            (
                WebhookConfig {
                    url: "hooks.slack.com/services/s3cr3t".to_owned(),
                    ..base.clone()
                },
                "url",
            ),
            (
                WebhookConfig {
                    url: "ftp://hooks.slack.com/services/s3cr3t".to_owned(),
                    ..base.clone()
                },
                "http(s)",
            ),
            (
                WebhookConfig {
                    timeout: Duration::ZERO,
                    ..base.clone()
                },
                "timeout",
            ),
            (
                WebhookConfig {
                    max_attempts: 0,
                    ..base.clone()
                },
                "max_attempts",
            ),
            (
                WebhookConfig {
                    max_attempts: MAX_ATTEMPTS_LIMIT + 1,
                    ..base.clone()
                },
                "max_attempts",
            ),
            (
                WebhookConfig {
                    initial_backoff: Duration::from_secs(60),
                    max_backoff: Duration::from_secs(1),
                    ..base
                },
                "initial_backoff",
            ),
        ];
        for (config, needle) in cases {
            let message = error(&config);
            assert!(message.contains(needle), "{needle}: {message}");
            assert!(!message.contains("s3cr3t"), "{message}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let config = WebhookConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..WebhookConfig::new(SLACK)
        };
        let pauses: Vec<_> = (1..=5).map(|retry| config.backoff(retry)).collect();
        assert_eq!(
            pauses,
            [100, 200, 400, 500, 500]
                .map(Duration::from_millis)
                .to_vec()
        );
        // Far past any sane attempt count: capped, no overflow.
        assert_eq!(config.backoff(200), Duration::from_millis(500));
        assert_eq!(config.backoff(0), Duration::from_millis(100));
    }
}
