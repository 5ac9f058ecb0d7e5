//! The track source port: where catalogue rows and dashboards come from.
//! The LiveRC adapter (`ingest-liverc`) implements it over `LiveRcClient`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::report::{ResponseTally, SkippedRowEntry};
use crate::domain::track::{CatalogueFields, HttpValidators, TrackProfile};

/// The whole catalogue as the source lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCatalogue {
    pub fetched_at: DateTime<Utc>,
    /// Unique slugs, in the source's order.
    pub entries: Vec<SourceEntry>,
    /// Rows the source could not turn into entries.
    pub skipped: Vec<SkippedRowEntry>,
}

/// One catalogue row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    pub slug: String,
    pub catalogue: CatalogueFields,
}

/// A dashboard request's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DashboardOutcome {
    /// The page was fetched and parsed.
    Fetched {
        profile: Box<TrackProfile>,
        source_url: String,
        validators: HttpValidators,
        fetched_at: DateTime<Utc>,
        attempts: u32,
    },
    /// The server answered 304 to a conditional request.
    NotModified {
        validators: HttpValidators,
        fetched_at: DateTime<Utc>,
        attempts: u32,
    },
}

/// What a caller can do about a source failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceErrorClass {
    /// Retried and still failing; may succeed later.
    Transient,
    /// The page no longer exists (404/410).
    Gone,
    /// Another 4xx.
    Rejected,
    /// The page does not have the expected shape (the site changed).
    Format,
    /// The kill switch is off.
    Disabled,
    /// robots.txt disallows the page.
    RobotsDisallowed,
    /// The request could not be made (bad slug, bad configuration).
    Invalid,
}

impl SourceErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceErrorClass::Transient => "transient",
            SourceErrorClass::Gone => "gone",
            SourceErrorClass::Rejected => "rejected",
            SourceErrorClass::Format => "format",
            SourceErrorClass::Disabled => "disabled",
            SourceErrorClass::RobotsDisallowed => "robots_disallowed",
            SourceErrorClass::Invalid => "invalid",
        }
    }
}

/// A source failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{} error: {message}", class.as_str())]
pub struct SourceError {
    pub class: SourceErrorClass,
    pub message: String,
    /// Requests the source made for this call (1 + its own retries).
    pub attempts: u32,
}

/// Cumulative request counters of a source, sampled at the start and end of
/// a run to get the run's own figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceStats {
    pub requests: u64,
    pub retries: u64,
    pub responses_429: u64,
    pub retry_after_wait: Duration,
    /// Answers by HTTP status class (label → count), cumulative.
    #[serde(default)]
    pub responses: ResponseTally,
}

impl SourceStats {
    /// `self - earlier`, saturating.
    pub fn since(&self, earlier: &SourceStats) -> SourceStats {
        SourceStats {
            requests: self.requests.saturating_sub(earlier.requests),
            retries: self.retries.saturating_sub(earlier.retries),
            responses_429: self.responses_429.saturating_sub(earlier.responses_429),
            retry_after_wait: self
                .retry_after_wait
                .saturating_sub(earlier.retry_after_wait),
            responses: self
                .responses
                .iter()
                .map(|(label, n)| {
                    let before = earlier.responses.get(label).copied().unwrap_or(0);
                    (label.clone(), n.saturating_sub(before))
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

/// A catalogue of tracks with a dashboard page per track.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TrackSource: Send + Sync {
    /// The whole catalogue. A page of the wrong shape is a `Format` error,
    /// never an empty catalogue.
    async fn catalogue(&self) -> Result<SourceCatalogue, SourceError>;

    /// One track's dashboard; with `validators`, a conditional request.
    async fn dashboard(
        &self,
        slug: &str,
        validators: Option<HttpValidators>,
    ) -> Result<DashboardOutcome, SourceError>;

    /// Cumulative counters since the source was built.
    fn stats(&self) -> SourceStats;
}
