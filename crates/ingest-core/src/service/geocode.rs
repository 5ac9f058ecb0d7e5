//! Geocoding within a batch: whether (and how) a track's coordinates change
//! this run. Only a fetched page's new address is geocoded; the answer is
//! validated, and each address is asked at most once a batch.
//!
//! Architecture invariant: a step of the store stage; reaches the world
//! through the `Geocoder` port only, and a failure never fails the run.

use std::collections::HashMap;
use std::time::Instant;

use tracing::warn;

use crate::domain::diff::address_query;
use crate::domain::track::{GeoPoint, GeoUpdate, MetadataUpdate, StoredTrack, TrackProfile};
use crate::domain::validate::validate_coordinates;
use crate::ports::clock::Clock;
use crate::ports::geocoder::Geocoder;
use crate::service::carried::Accumulator;
use crate::service::run::Adapters;

/// One batch's geocoding, with the answers it already has.
pub(super) struct BatchGeocoder<'a> {
    geocoder: Option<&'a dyn Geocoder>,
    clock: &'a dyn Clock,
    cache: HashMap<String, Option<GeoPoint>>,
}

impl<'a> BatchGeocoder<'a> {
    pub(super) fn new(adapters: &'a Adapters) -> Self {
        Self {
            geocoder: adapters.geocoder.as_deref(),
            clock: adapters.clock.as_ref(),
            cache: HashMap::new(),
        }
    }

    /// Whether (and how) this track's coordinates change this run.
    pub(super) async fn decide(
        &mut self,
        old: Option<&StoredTrack>,
        metadata: &MetadataUpdate,
        profile: &TrackProfile,
        acc: &mut Accumulator,
    ) -> GeoUpdate {
        let Some(geocoder) = self.geocoder else {
            return GeoUpdate::Keep;
        };
        if !matches!(metadata, MetadataUpdate::Fetched(_)) {
            return GeoUpdate::Keep;
        }
        let Some(query) = address_query(profile) else {
            return GeoUpdate::Keep;
        };
        let stored_geo = old.and_then(|o| o.geo.as_ref());
        if stored_geo.is_some_and(|g| g.query == query) {
            return GeoUpdate::Keep;
        }
        if let Some(hit) = self.cache.get(&query) {
            return hit.clone().map_or(GeoUpdate::Keep, GeoUpdate::Set);
        }
        let t = Instant::now();
        let result = geocoder.geocode(&query, profile.country_code.clone()).await;
        acc.geocode_time += t.elapsed();
        let point = match result {
            Ok(Some(c)) if validate_coordinates(c.latitude, c.longitude).is_ok() => {
                acc.counts.geocoded += 1;
                Some(GeoPoint {
                    latitude: c.latitude,
                    longitude: c.longitude,
                    provider: geocoder.provider(),
                    query: query.clone(),
                    geocoded_at: self.clock.now(),
                })
            }
            Ok(_) => {
                acc.counts.geocode_failures += 1;
                None
            }
            Err(e) => {
                warn!(error = %e, query, "geocoding failed");
                acc.counts.geocode_failures += 1;
                None
            }
        };
        self.cache.insert(query, point.clone());
        point.map_or(GeoUpdate::Keep, GeoUpdate::Set)
    }
}
