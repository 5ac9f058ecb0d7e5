//! Errors, sorted by what a caller can do about them.

use std::fmt;

/// Which page a [`FormatError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// The catalogue, `https://live.liverc.com/`.
    Catalogue,
    /// A track dashboard, `https://{slug}.liverc.com/`.
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
    /// Which page failed to parse.
    pub page: PageKind,
    /// What was wrong, in words an operator can act on.
    pub message: String,
}

impl FormatError {
    /// A format error about `page`.
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
        /// The URL requested.
        url: String,
        /// Attempts made (the first plus the retries).
        attempts: u32,
        /// The last HTTP status, when the last attempt got one.
        status: Option<u16>,
        /// What the last attempt failed with.
        message: String,
    },
    /// HTTP 404 (or 410): the track no longer exists. Not retried.
    #[error("{url} is gone (HTTP {status})")]
    Gone {
        /// The URL requested.
        url: String,
        /// 404 or 410.
        status: u16,
    },
    /// Any other 4xx answer. Not retried.
    #[error("{url} answered HTTP {status}")]
    Rejected {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body was fetched but does not parse: the site changed shape.
    #[error("{url}: {source}")]
    Format {
        /// The URL whose body did not parse.
        url: String,
        /// What the parser objected to.
        #[source]
        source: FormatError,
    },
    /// The body exceeded the configured cap; the connection was dropped.
    #[error("{url}: response body exceeds the {limit}-byte cap")]
    BodyTooLarge {
        /// The URL requested.
        url: String,
        /// The configured cap, in bytes.
        limit: usize,
    },
    /// The kill switch is off; no request was sent.
    #[error("scraping is disabled (kill switch)")]
    Disabled,
    /// robots.txt of the host disallows this path for our User-Agent.
    #[error("robots.txt disallows {url}")]
    RobotsDisallowed {
        /// The URL that was not requested.
        url: String,
    },
    /// The server kept redirecting: more hops than the client follows.
    /// Not retried.
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects {
        /// The URL requested.
        url: String,
        /// Redirects followed before giving up.
        limit: usize,
    },
    /// A slug that cannot name a LiveRC track host, or a bad configuration.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Coarse class of a [`LiveRcError`], for reports and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Failed for now; try again later.
    Transient,
    /// The track is gone (404/410).
    Gone,
    /// The server refused (other 4xx, redirect loops).
    Rejected,
    /// The body did not parse, or was too large.
    Format,
    /// The kill switch is off.
    Disabled,
    /// robots.txt forbids the URL.
    RobotsDisallowed,
    /// A bad slug or configuration.
    Invalid,
}

impl ErrorClass {
    /// A stable snake_case label (for metrics and reports).
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
    /// The coarse class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            LiveRcError::Transient { .. } => ErrorClass::Transient,
            LiveRcError::Gone { .. } => ErrorClass::Gone,
            LiveRcError::Rejected { .. } | LiveRcError::TooManyRedirects { .. } => {
                ErrorClass::Rejected
            }
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
