//! Configuration of a simulated site: how many tracks from which seed, how
//! slow it answers, which faults it serves, and its robots.txt.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default robots.txt body: allows everything.
pub const ALLOW_ALL_ROBOTS: &str = "User-agent: *\nDisallow:\n";

/// Everything a simulated site is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Number of tracks generated (default 1,090, like the real catalogue).
    pub tracks: usize,
    /// Generation seed: same seed, same site (within one build).
    pub seed: u64,
    /// Fixed delay before every crawl response (not admin routes).
    #[serde(with = "duration_ms")]
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per response.
    #[serde(with = "duration_ms")]
    pub jitter: Duration,
    /// Faults served by rate.
    pub faults: FaultConfig,
    /// The robots.txt body; `None` answers `/robots.txt` with 404.
    pub robots_txt: Option<String>,
    /// Put a few rows the parser must skip into the catalogue (an
    /// infrastructure host, a non-LiveRC host); default on.
    pub decoy_rows: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            tracks: 1_090,
            seed: 0x11BE_0C5E,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: FaultConfig::default(),
            robots_txt: Some(ALLOW_ALL_ROBOTS.to_owned()),
            decoy_rows: true,
        }
    }
}

/// A fault the simulator can serve instead of (or on the way to) a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Fault {
    /// HTTP 500.
    #[serde(rename = "500")]
    InternalServerError,
    /// HTTP 503.
    #[serde(rename = "503")]
    ServiceUnavailable,
    /// HTTP 429 with `Retry-After` (see [`FaultConfig::retry_after`]).
    #[serde(rename = "429")]
    TooManyRequests,
    /// HTTP 404 for a track that still exists (a one-off; a removed track
    /// 404s without any fault).
    #[serde(rename = "404")]
    NotFound,
    /// Wait [`FaultConfig::hang`] before answering (longer than a client's
    /// timeout), then serve the page.
    #[serde(rename = "hang")]
    Hang,
    /// Declare the full `Content-Length`, send half the page, then drop the
    /// connection: the client sees a body error, never a short page.
    #[serde(rename = "truncate")]
    Truncate,
    /// A 200 page that does not parse: a dashboard with every panel below
    /// the top tiles removed (no About, no Lifetime Track Stats) or cut off
    /// before the About panel; a catalogue without track rows.
    #[serde(rename = "malformed")]
    Malformed,
}

impl Fault {
    /// Every fault, in declaration order.
    pub const ALL: [Fault; 7] = [
        Fault::InternalServerError,
        Fault::ServiceUnavailable,
        Fault::TooManyRequests,
        Fault::NotFound,
        Fault::Hang,
        Fault::Truncate,
        Fault::Malformed,
    ];

    /// The name used on the command line and in JSON: `500`, `503`, `429`,
    /// `404`, `hang`, `truncate`, `malformed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::InternalServerError => "500",
            Fault::ServiceUnavailable => "503",
            Fault::TooManyRequests => "429",
            Fault::NotFound => "404",
            Fault::Hang => "hang",
            Fault::Truncate => "truncate",
            Fault::Malformed => "malformed",
        }
    }

    /// Whether a polite client retries this fault (5xx and 429 answers).
    /// A hang or a truncated body is retried too when the client treats
    /// timeouts and broken bodies as transient.
    pub fn is_retryable_status(self) -> bool {
        matches!(
            self,
            Fault::InternalServerError | Fault::ServiceUnavailable | Fault::TooManyRequests
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault name that is not one of [`Fault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?} (expected 500, 503, 429, 404, hang, truncate or malformed)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Fault::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// What a 429 says in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `Retry-After: N` (delta-seconds).
    Seconds(u64),
    /// `Retry-After: <HTTP-date>` this many seconds after the response.
    DateInSeconds(u64),
    /// No `Retry-After` header.
    Absent,
}

/// Faults served by rate: each eligible request independently gets a fault
/// with probability `rate`, the kind drawn uniformly from `kinds`. The draws
/// come from one `StdRng` seeded with `seed`, so a run is reproducible given
/// the order in which requests arrive. Targeted faults
/// ([`crate::SiteHandle::inject`]) come first and take no draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Probability per eligible request, `0.0..=1.0` (default 0).
    pub rate: f64,
    /// Kinds drawn from (default 500, 503, 429).
    pub kinds: Vec<Fault>,
    /// Seed of the fault draws.
    pub seed: u64,
    /// `Retry-After` of a 429 (default 1 second).
    pub retry_after: RetryAfter,
    /// How long a [`Fault::Hang`] waits before answering (default 60 s).
    #[serde(with = "duration_ms")]
    pub hang: Duration,
    /// Whether rate-based faults hit the catalogue too (default: dashboards
    /// only).
    pub include_catalogue: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            kinds: vec![
                Fault::InternalServerError,
                Fault::ServiceUnavailable,
                Fault::TooManyRequests,
            ],
            seed: 7,
            retry_after: RetryAfter::Seconds(1),
            hang: Duration::from_secs(60),
            include_catalogue: false,
        }
    }
}

impl FaultConfig {
    /// No rate-based faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Faults of `kinds` at `rate`, other settings default.
    pub fn rate(rate: f64, kinds: impl IntoIterator<Item = Fault>) -> Self {
        Self {
            rate,
            kinds: kinds.into_iter().collect(),
            ..Self::default()
        }
    }
}

/// Serialises a `Duration` as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_round_trip() {
        for fault in Fault::ALL {
            assert_eq!(fault.as_str().parse::<Fault>(), Ok(fault));
            let json = serde_json::to_string(&fault).expect("serialise");
            assert_eq!(json, format!("\"{fault}\""));
        }
        assert_eq!("HANG".parse::<Fault>(), Ok(Fault::Hang));
        assert!("502".parse::<Fault>().is_err());
    }

    #[test]
    fn config_json_uses_milliseconds_and_defaults() {
        let config: SimConfig =
            serde_json::from_str(r#"{"tracks": 10, "latency": 20, "faults": {"rate": 0.1}}"#)
                .expect("valid config");
        assert_eq!(config.tracks, 10);
        assert_eq!(config.latency, Duration::from_millis(20));
        assert_eq!(config.faults.kinds.len(), 3);
        assert!(config.decoy_rows);
    }
}
