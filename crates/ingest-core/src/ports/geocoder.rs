//! The geocoder port: an address in, coordinates out.

use async_trait::async_trait;

/// A geocoding failure. The run goes on without coordinates for that track.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("geocoding failed: {0}")]
pub struct GeocodeError(pub String);

/// Coordinates for an address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Turns a normalised address into coordinates.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Geocoder: Send + Sync {
    /// Provider name stored as provenance, e.g. `nominatim`.
    fn provider(&self) -> String;

    /// `Ok(None)`: the geocoder knows no such place.
    async fn geocode(
        &self,
        query: &str,
        country_code: Option<String>,
    ) -> Result<Option<Coordinates>, GeocodeError>;
}
