//! [`WebhookNotifier`]: the core's [`Notifier`] port as one JSON `POST` per
//! alert, retried with capped exponential backoff on what can pass (5xx,
//! 429, connection failures, timeouts) and given up at once on what cannot
//! (any other status). Errors name the receiver by scheme and host only: the
//! URL's path is a secret.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{Alert, Notifier, NotifyError};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use tracing::{debug, warn};
use url::Url;

use crate::config::{WebhookConfig, WebhookConfigError, redact_url};
use crate::payload::{payload, truncate};

/// The most of an error answer's body read for its message (Slack explains
/// a refusal in a word or two: `invalid_payload`, `no_service`).
const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;
/// The most of that body quoted in an error.
const MAX_ERROR_BODY_CHARS: usize = 200;

/// Sends alerts to one webhook.
///
/// Cloning is cheap: clones share one connection pool.
#[derive(Clone)]
pub struct WebhookNotifier {
    http: reqwest::Client,
    url: Url,
    /// `scheme://host[:port]/<redacted>`, for messages.
    target: String,
    config: WebhookConfig,
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug)]
struct Failure {
    message: String,
    retryable: bool,
    /// The server's `Retry-After`, already capped.
    retry_after: Option<Duration>,
}

impl WebhookNotifier {
    /// Validate the configuration and build the client (nothing is sent).
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookConfigError> {
        let url = config.validate()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "liverc-ingestion/",
                env!("CARGO_PKG_VERSION"),
                " (alerts)"
            ))
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A POST redirected becomes a GET elsewhere: a webhook that
            // redirects is misconfigured, and the body is not sent on.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| WebhookConfigError::Client(e.without_url().to_string()))?;
        Ok(Self {
            http,
            target: redact_url(url.as_str()),
            url,
            config,
        })
    }

    /// The configuration the notifier was built with.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// One POST.
    async fn attempt(&self, body: &[u8]) -> Result<(), Failure> {
        let response = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| ingest_retry::retry_after(value, self.config.max_retry_after));
        let detail = error_body(response).await;
        let message = format!("{} answered HTTP {status}{detail}", self.target);
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Err(Failure {
            message,
            retryable,
            retry_after: retry_after.filter(|_| retryable),
        })
    }

    /// Connection failures and timeouts may pass; a request that could not
    /// be built will not.
    fn transport_failure(&self, error: reqwest::Error) -> Failure {
        let retryable = !error.is_builder();
        let what = if error.is_timeout() {
            format!("timed out after {:?}", self.config.timeout)
        } else if error.is_connect() {
            "cannot connect".to_owned()
        } else if error.is_builder() {
            "cannot build the request".to_owned()
        } else {
            "request failed".to_owned()
        };
        let chain = error_chain(&error.without_url());
        Failure {
            // Belt and braces: no source in the chain may quote the URL.
            message: format!("{}: {what}: {chain}", self.target)
                .replace(self.url.as_str(), &self.target),
            retryable,
            retry_after: None,
        }
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError> {
        let body = serde_json::to_vec(&payload(self.config.format, alert)?)
            .map_err(|e| NotifyError(format!("cannot serialise the alert: {e}")))?;
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            debug!(
                kind = alert.kind.as_str(),
                run_id = %alert.run_id,
                attempt,
                target = %self.target,
                "sending alert"
            );
            let failure = match self.attempt(&body).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            if !failure.retryable || attempt >= max_attempts {
                let tries = if attempt == 1 {
                    "1 attempt".to_owned()
                } else {
                    format!("{attempt} attempts")
                };
                let verdict = if failure.retryable {
                    "giving up"
                } else {
                    "not retried"
                };
                return Err(NotifyError(format!(
                    "{} ({verdict} after {tries})",
                    failure.message
                )));
            }
            let pause = failure
                .retry_after
                .unwrap_or_else(|| self.config.backoff(attempt));
            warn!(
                kind = alert.kind.as_str(),
                run_id = %alert.run_id,
                attempt,
                error = %failure.message,
                pause_ms = pause.as_millis() as u64,
                "alert not delivered; retrying"
            );
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// `: <first line of the body>` when the error answer explains itself.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY_BYTES);
    let text = String::from_utf8_lossy(&body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let line: String = line.chars().filter(|c| !c.is_control()).collect();
    if line.is_empty() {
        String::new()
    } else {
        format!(": {}", truncate(&line, MAX_ERROR_BODY_CHARS))
    }
}

/// An error and its sources, `outer: inner: innermost`.
fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notifier_is_not_built_from_an_invalid_config() {
        let err = WebhookNotifier::new(WebhookConfig {
            max_attempts: 0,
            ..WebhookConfig::new("http://127.0.0.1:9/hook")
        })
        .expect_err("invalid");
        assert!(err.to_string().contains("max_attempts"), "{err}");
    }

    #[test]
    fn debug_of_the_notifier_hides_the_url() {
        let notifier = WebhookNotifier::new(WebhookConfig::new(
            "https://hooks.slack.com/services/T1/B2/s3cr3t",
        ))
        .expect("valid");
        let debug = format!("{notifier:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("hooks.slack.com"), "{debug}");
    }
}
