//! The LiveRC connector as the core's [`TrackSource`] port: converts the
//! connector's records and errors into the core's, and nothing else. Every
//! politeness rule stays in `liverc::LiveRcClient`.

use async_trait::async_trait;
use chrono::Utc;
use ingest_core::{
    CatalogueFields, DashboardOutcome, HttpValidators, SkippedRowEntry, SourceCatalogue,
    SourceEntry, SourceError, SourceErrorClass, SourceStats, TrackProfile, TrackSource,
};
use liverc::client::{DashboardFetch, Validators};
use liverc::{CatalogueEntry, Dashboard, ErrorClass, LiveRcClient, LiveRcError, TrackStatus};

/// [`TrackSource`] over a [`LiveRcClient`].
#[derive(Debug, Clone)]
pub struct LiveRcSource {
    client: LiveRcClient,
}

impl LiveRcSource {
    pub fn new(client: LiveRcClient) -> Self {
        Self { client }
    }

    /// The wrapped client (its kill switch, its stats).
    pub fn client(&self) -> &LiveRcClient {
        &self.client
    }
}

#[async_trait]
impl TrackSource for LiveRcSource {
    async fn catalogue(&self) -> Result<SourceCatalogue, SourceError> {
        let catalogue = self.client.list_tracks().await.map_err(source_error)?;
        Ok(SourceCatalogue {
            fetched_at: catalogue.fetched_at,
            entries: catalogue.entries.into_iter().map(entry).collect(),
            skipped: catalogue
                .skipped
                .into_iter()
                .map(|s| SkippedRowEntry {
                    row_index: s.row_index as u64,
                    reason: s.reason,
                    href: s.href,
                })
                .collect(),
        })
    }

    async fn dashboard(
        &self,
        slug: &str,
        validators: Option<HttpValidators>,
    ) -> Result<DashboardOutcome, SourceError> {
        let page = match validators {
            Some(v) if v.etag.is_some() || v.last_modified.is_some() => {
                let v = Validators {
                    etag: v.etag,
                    last_modified: v.last_modified,
                };
                match self
                    .client
                    .fetch_dashboard_if_changed(slug, &v)
                    .await
                    .map_err(source_error)?
                {
                    DashboardFetch::Modified(page) => page,
                    DashboardFetch::NotModified {
                        validators,
                        attempts,
                        ..
                    } => {
                        return Ok(DashboardOutcome::NotModified {
                            validators: http_validators(validators),
                            fetched_at: Utc::now(),
                            attempts,
                        });
                    }
                }
            }
            _ => self
                .client
                .fetch_dashboard(slug)
                .await
                .map_err(source_error)?,
        };
        Ok(DashboardOutcome::Fetched {
            profile: Box::new(profile(page.dashboard)),
            source_url: page.url,
            validators: http_validators(page.validators),
            fetched_at: page.fetched_at,
            attempts: page.attempts,
        })
    }

    fn stats(&self) -> SourceStats {
        let s = self.client.stats();
        SourceStats {
            requests: s.requests,
            retries: s.retries,
            responses_429: s.responses_429,
            retry_after_wait: s.retry_after_wait,
            responses: s
                .responses
                .labelled()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(label, n)| (label.to_owned(), n))
                .collect(),
        }
    }
}

fn http_validators(v: Validators) -> HttpValidators {
    HttpValidators {
        etag: v.etag,
        last_modified: v.last_modified,
    }
}

fn entry(e: CatalogueEntry) -> SourceEntry {
    SourceEntry {
        slug: e.slug,
        catalogue: CatalogueFields {
            name: e.name,
            track_url: e.track_url,
            events_url: e.events_url,
            last_updated_text: e.last_updated_text,
            last_updated_at: e.last_updated_at,
            is_live: e.is_live,
            live_video: e.live_video,
            status: match e.status {
                TrackStatus::Idle => "idle",
                TrackStatus::Practicing => "practicing",
                TrackStatus::Racing => "racing",
                TrackStatus::Unknown => "unknown",
            }
            .to_owned(),
            featured: e.featured,
            current_event: e.current_event,
        },
    }
}

/// Counts above `i64::MAX` cannot be stored; they saturate.
fn count(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The dashboard fields the core stores. The dashboard's own name is not
/// used: the catalogue's name is the track's name.
pub fn profile(d: Dashboard) -> TrackProfile {
    TrackProfile {
        street: d.street,
        city: d.city,
        state: d.state,
        postal_code: d.postal_code,
        country: d.country,
        country_code: d.country_code,
        phone: d.phone,
        website: d.website,
        email: d.email,
        description: d.description,
        logo_url: d.logo_url,
        facebook_url: d.facebook_url,
        map_query: d.map_query,
        total_laps: count(d.total_laps),
        total_practice_sessions: count(d.total_practice_sessions),
        total_races: count(d.total_races),
        total_entries: count(d.total_entries),
        total_events: count(d.total_events),
    }
}

/// The connector's error as the core's.
pub fn source_error(e: LiveRcError) -> SourceError {
    let class = match e.class() {
        ErrorClass::Transient => SourceErrorClass::Transient,
        ErrorClass::Gone => SourceErrorClass::Gone,
        ErrorClass::Rejected => SourceErrorClass::Rejected,
        ErrorClass::Format => SourceErrorClass::Format,
        ErrorClass::Disabled => SourceErrorClass::Disabled,
        ErrorClass::RobotsDisallowed => SourceErrorClass::RobotsDisallowed,
        _ => SourceErrorClass::Invalid,
    };
    let attempts = match &e {
        LiveRcError::Transient { attempts, .. } => *attempts,
        _ => 1,
    };
    SourceError {
        class,
        message: e.to_string(),
        attempts,
    }
}
