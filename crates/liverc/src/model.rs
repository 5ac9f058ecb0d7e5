//! Owned, serde-serialisable records the parsers produce and the client returns.
//!
//! Field names are a contract: the `ingest-cli liverc parse-*` commands print
//! these structs as JSON and later tools rely on the names. Absent values are
//! `None` (JSON `null`), never empty strings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The whole catalogue page, `https://live.liverc.com/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// When the page was fetched; relative "last updated" texts are read against it.
    pub fetched_at: DateTime<Utc>,
    /// One entry per parsed row, in page order, slugs unique (first row wins).
    pub entries: Vec<CatalogueEntry>,
    /// Rows that could not be turned into an entry, with the reason.
    pub skipped: Vec<SkippedRow>,
}

/// One track row of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// Lowercased first DNS label of the track's host: the track's key.
    pub slug: String,
    /// Track name as shown (entities decoded, whitespace collapsed).
    pub name: String,
    /// `https://{slug}.liverc.com/` (the dashboard).
    pub track_url: String,
    /// The row's `data-href`, absolute: `https://{slug}.liverc.com/results/` or `/live/`.
    pub events_url: String,
    /// The raw relative text, e.g. "3 hours ago", "Yesterday".
    pub last_updated_text: Option<String>,
    /// `last_updated_text` read against `Catalogue::fetched_at` (approximate).
    pub last_updated_at: Option<DateTime<Utc>>,
    /// The row links to `/live/`: racing now.
    pub is_live: bool,
    /// `i.status_video_1`.
    pub live_video: bool,
    /// `i.status_0|1|2`.
    pub status: TrackStatus,
    /// `status_featured`.
    pub featured: bool,
    /// `div.indent small`: the current or last event's name.
    pub current_event: Option<String>,
}

/// The status icon of a catalogue row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// `status_0`
    Idle,
    /// `status_1`
    Racing,
    /// `status_2`
    Flag,
    /// No status icon, or one this parser does not know.
    Unknown,
}

/// A catalogue row the parser could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// Zero-based position of the row among `tr.clickable-row` rows.
    pub row_index: usize,
    /// Why it was skipped, in words an operator can act on.
    pub reason: String,
    /// The row's `data-href` (or the name link's href), when there was one.
    pub href: Option<String>,
}

/// A track's dashboard page, `https://{slug}.liverc.com/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub name: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// Country name as printed on the page (normalised to the table's name when known).
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// De-obfuscated e-mail address.
    pub email: Option<String>,
    /// Free text, paragraphs joined with `\n`.
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub facebook_url: Option<String>,
    /// The Google Maps iframe's `q=` parameter, decoded.
    pub map_query: Option<String>,
    pub total_laps: Option<u64>,
    pub total_practice_sessions: Option<u64>,
    pub total_races: Option<u64>,
    pub total_entries: Option<u64>,
    pub total_events: Option<u64>,
    /// Top tiles: racing now, and this month's counts (optional on the page).
    pub racing_now: Option<bool>,
    pub month_results: Option<u64>,
    pub month_sessions: Option<u64>,
    pub month_videos: Option<u64>,
}
