//! Errors, sorted by what a caller can do about them.

use std::fmt;

/// Which page a [`FormatError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    Catalogue,
    Dashboard,
}

impl fmt::Display for PageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PageKind::Catalogue => "catalogue",
            PageKind::Dashboard => "dashboard",
        })
    }
}

/// The page does not have the shape the parser knows: the site changed, or
/// the body is not a LiveRC page at all. Never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{page} page format: {message}")]
pub struct FormatError {
    pub page: PageKind,
    pub message: String,
}

impl FormatError {
    pub fn new(page: PageKind, message: impl Into<String>) -> Self {
        Self {
            page,
            message: message.into(),
        }
    }
}

/// Everything [`crate::LiveRcClient`] can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveRcError {
    /// Retried as the policy allows and still failing (connect error,
    /// timeout, 5xx, 429). Worth trying again in a later run.
    #[error("transient failure fetching {url} after {attempts} attempt(s): {message}")]
    Transient {
        url: String,
        attempts: u32,
        /// The last HTTP status, when the last attempt got one.
        status: Option<u16>,
        message: String,
    },
    /// HTTP 404 (or 410): the track no longer exists. Not retried.
    #[error("{url} is gone (HTTP {status})")]
    Gone { url: String, status: u16 },
    /// Any other 4xx answer. Not retried.
    #[error("{url} answered HTTP {status}")]
    Rejected { url: String, status: u16 },
    /// The body was fetched but does not parse: the site changed shape.
    #[error("{url}: {source}")]
    Format {
        url: String,
        #[source]
        source: FormatError,
    },
    /// The body exceeded the configured cap; the connection was dropped.
    #[error("{url}: response body exceeds the {limit}-byte cap")]
    BodyTooLarge { url: String, limit: usize },
    /// The kill switch is off; no request was sent.
    #[error("scraping is disabled (kill switch)")]
    Disabled,
    /// robots.txt of the host disallows this path for our User-Agent.
    #[error("robots.txt disallows {url}")]
    RobotsDisallowed { url: String },
    /// A slug that cannot name a LiveRC track host, or a bad configuration.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Coarse class of a [`LiveRcError`], for reports and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Transient,
    Gone,
    Rejected,
    Format,
    Disabled,
    RobotsDisallowed,
    Invalid,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Gone => "gone",
            ErrorClass::Rejected => "rejected",
            ErrorClass::Format => "format",
            ErrorClass::Disabled => "disabled",
            ErrorClass::RobotsDisallowed => "robots_disallowed",
            ErrorClass::Invalid => "invalid",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl LiveRcError {
    pub fn class(&self) -> ErrorClass {
        match self {
            LiveRcError::Transient { .. } => ErrorClass::Transient,
            LiveRcError::Gone { .. } => ErrorClass::Gone,
            LiveRcError::Rejected { .. } => ErrorClass::Rejected,
            LiveRcError::Format { .. } | LiveRcError::BodyTooLarge { .. } => ErrorClass::Format,
            LiveRcError::Disabled => ErrorClass::Disabled,
            LiveRcError::RobotsDisallowed { .. } => ErrorClass::RobotsDisallowed,
            LiveRcError::Invalid(_) => ErrorClass::Invalid,
        }
    }

    /// Whether a later attempt (in this run or the next) may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, LiveRcError::Transient { .. })
    }
}
