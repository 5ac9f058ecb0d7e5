#![doc = include_str!("../README.md")]
//!
//! # The Nominatim usage policy, point by point
//!
//! The public instance's policy
//! (<https://operations.osmfoundation.org/policies/nominatim/>) and how this
//! crate keeps it:
//!
//! - **At most one request per second.** One pacer, shared by every clone of
//!   a [`NominatimGeocoder`], spaces request *starts* at least
//!   [`NominatimConfig::min_interval`] apart (default 1 s; shorter spacing is
//!   refused for `nominatim.openstreetmap.org` and allowed only for one's own
//!   server). Concurrent callers queue in order. A `Retry-After` on a 429 or
//!   503 pushes the next start out for everyone (capped at
//!   [`NominatimConfig::max_retry_after`]).
//! - **An identifying User-Agent.** Required, no default: it must name the
//!   application, stock library agents (`reqwest/…`, `curl/…`) are refused,
//!   and it must carry a contact unless [`NominatimConfig::email`] is set,
//!   which is then sent as the `email` parameter.
//! - **Cache results.** A bounded least-recently-used cache keyed by the
//!   normalised query and country code keeps positive *and* negative answers,
//!   so a repeated address never reaches the network again. Errors are not
//!   cached.
//! - **No bulk or systematic queries; no retry storms.** The core asks only
//!   for tracks without coordinates or whose address changed, and caches per
//!   run; this adapter retries only transient failures, at most
//!   [`NominatimConfig::max_retries`] times (default 1, never more than 3),
//!   each through the pacer. A 403 (access refused) stops all further requests
//!   from that geocoder.
//! - **No autocomplete, one result.** Each search asks `limit=1` for a
//!   complete address; answers are read up to [`MAX_BODY_BYTES`].

mod config;
mod geocoder;
mod pacer;
mod response;

pub use config::{
    DEFAULT_BASE_URL, MAX_RETRIES_LIMIT, NominatimConfig, PUBLIC_HOST, PUBLIC_MIN_INTERVAL,
};
pub use geocoder::{DEFAULT_TOO_MANY_REQUESTS_PAUSE, MAX_BODY_BYTES, NominatimGeocoder, PROVIDER};
