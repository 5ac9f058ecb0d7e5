//! What a run is asked to do and how far it got: its options (`SyncOptions`,
//! the metadata mode, the trigger), its stages and how it ended.
//!
//! Architecture invariant: domain; imports only the domain below it (the
//! drift guard's defaults).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::drift;
use crate::domain::track::SOURCE_LIVERC;

/// Which dashboards a run fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataMode {
    /// Every dashboard, unconditionally.
    All,
    /// New tracks, tracks whose catalogue activity moved since their last
    /// dashboard fetch, and those older than the TTL — with conditional
    /// requests, so an unchanged page costs a 304.
    Changed,
    /// No dashboards: catalogue fields only.
    None,
}

impl MetadataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataMode::All => "all",
            MetadataMode::Changed => "changed",
            MetadataMode::None => "none",
        }
    }
}

impl std::str::FromStr for MetadataMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(MetadataMode::All),
            "changed" => Ok(MetadataMode::Changed),
            "none" => Ok(MetadataMode::None),
            other => Err(format!(
                "unknown metadata mode {other:?} (expected all, changed or none)"
            )),
        }
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Cli,
    Api,
    Cron,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Api => "api",
            Trigger::Cron => "cron",
        }
    }
}

/// The most dashboards a run may fetch at once, wherever it is asked for
/// (`--concurrency`, `MRE_TRACK_SYNC_METADATA_CONCURRENCY`, the API's
/// `concurrency`, the admin page): one range, `1..=MAX_CONCURRENCY`,
/// refused with a clear error outside it. A worker runs a job at the lower
/// of what the job asks and its own configured concurrency, the ceiling
/// its operator set for politeness.
pub const MAX_CONCURRENCY: usize = 32;

/// Options of one run. Fields missing from stored JSON (a job queued by an
/// older version) take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncOptions {
    pub source: String,
    pub trigger: Trigger,
    pub metadata: MetadataMode,
    /// Dashboards fetched at once (the connector's own cap still applies).
    pub concurrency: usize,
    /// Tracks per database batch.
    pub batch_size: usize,
    /// Refuse to deactivate more than this share of active tracks (0.0–1.0).
    pub guard_max_deactivate_share: f64,
    /// Deactivate even when the guard would refuse, and at once (no grace
    /// period): the operator checked that the catalogue really shrank.
    pub force: bool,
    /// In `changed` mode, dashboards older than this are fetched again.
    pub metadata_ttl: Duration,
    /// Extra tries the service gives a dashboard after the client's own retries.
    pub dashboard_extra_tries: u32,
    /// Pause between the service's extra tries.
    pub dashboard_retry_delay: Duration,
    /// The markup-drift guard: a profile field that vanishes from more than
    /// this share (0.0–1.0) of the fetched tracks that had it is held (kept
    /// as stored) for every track this run, and the run ends
    /// `drift_suspected`. See [`crate::domain::drift`].
    pub drift_max_loss_share: f64,
    /// …provided at least this many tracks lost it: a small run is not held
    /// by one track.
    pub drift_min_tracks: u64,
    /// Fields whose loss the operator accepts this run (`all` for every
    /// field): applied even above the share.
    pub accept_drift: Vec<String>,
    /// A track missing from a complete catalogue is deactivated only once it
    /// has been missing from this many consecutive complete catalogues
    /// (1 = at once).
    pub deactivate_after_missing_runs: u32,
    /// A dry run: the whole pipeline runs against a store that rolls back
    /// every write (what would be added, changed, deactivated, and the
    /// guards' decisions, as the real run would decide them), and the
    /// report says so; nothing is stored.
    pub dry_run: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            source: SOURCE_LIVERC.to_owned(),
            trigger: Trigger::Cli,
            metadata: MetadataMode::All,
            concurrency: 6,
            batch_size: 100,
            guard_max_deactivate_share: 0.10,
            force: false,
            metadata_ttl: Duration::from_secs(7 * 24 * 3600),
            dashboard_extra_tries: 2,
            dashboard_retry_delay: Duration::from_secs(2),
            drift_max_loss_share: drift::DEFAULT_MAX_LOSS_SHARE,
            drift_min_tracks: drift::DEFAULT_MIN_TRACKS,
            accept_drift: Vec::new(),
            deactivate_after_missing_runs: 2,
            dry_run: false,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything done (metadata errors of single tracks included).
    Succeeded,
    /// Everything but the deactivation, which the guard refused.
    GuardRefused,
    /// Stored, but one or more profile fields vanished from so many tracks
    /// that the markup probably changed: those fields were kept as stored
    /// for every track (see `RunReport::drift`).
    DriftSuspected,
    /// The catalogue could not be read (the site changed shape).
    FormatError,
    /// Any other failure (source unreachable, database down, kill switch).
    Failed,
    /// Stopped on request; what was stored stays.
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::GuardRefused => "guard_refused",
            RunStatus::DriftSuspected => "drift_suspected",
            RunStatus::FormatError => "format_error",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// Stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Starting,
    Catalogue,
    Diff,
    Dashboards,
    Geocoding,
    Database,
    Deactivation,
    Report,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Catalogue => "catalogue",
            Stage::Diff => "diff",
            Stage::Dashboards => "dashboards",
            Stage::Geocoding => "geocoding",
            Stage::Database => "database",
            Stage::Deactivation => "deactivation",
            Stage::Report => "report",
            Stage::Done => "done",
        }
    }
}
