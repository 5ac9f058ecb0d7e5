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
    /// `i.status_0|1|2`: idle, practicing, racing.
    pub status: TrackStatus,
    /// `status_featured`.
    pub featured: bool,
    /// `div.indent small`: the current or last event's name.
    pub current_event: Option<String>,
}

/// The status icon of a catalogue row, named after the catalogue's own legend
/// ("Racing in Progress", "Open Practicing", "No Track Activity").
///
/// Serialised in snake case: `"idle"`, `"practicing"`, `"racing"`, `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// `status_0` (power-off icon; legend: "No Track Activity").
    Idle,
    /// `status_1` (clock icon; legend: "Open Practicing").
    Practicing,
    /// `status_2` (chequered flag; legend: "Racing in Progress").
    Racing,
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
    /// Track name: the About panel's `<strong>`, else its heading after "About".
    pub name: Option<String>,
    /// Street line(s) of the address, joined with ", ".
    pub street: Option<String>,
    /// City, town or suburb.
    pub city: Option<String>,
    /// State, province, territory or county ("NC", "ON", "ACT", "Norfolk").
    pub state: Option<String>,
    /// Postal code as printed ("27851", "02604", "SW1A 1AA").
    pub postal_code: Option<String>,
    /// Country: the common English name from the country table ("United
    /// States", "Australia", "United Kingdom"), whether the page printed it
    /// that way, as an alias ("USA", "England") or only as the map's ISO code.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country_code: Option<String>,
    /// Phone number as printed (the `tel:` link's text); `None` for "N/A".
    pub phone: Option<String>,
    /// The "Website" link's href as printed (protocol-relative made https).
    pub website: Option<String>,
    /// De-obfuscated e-mail address.
    pub email: Option<String>,
    /// Free text, paragraphs joined with `\n`.
    pub description: Option<String>,
    /// The track logo (`img[src*="track_logos"]`), absolute.
    pub logo_url: Option<String>,
    /// The Facebook panel's page link (the panel whose heading starts with
    /// "Facebook"); never the About panel's website, even on facebook.com.
    pub facebook_url: Option<String>,
    /// The Google Maps iframe's `q=` parameter, decoded.
    pub map_query: Option<String>,
    /// Lifetime Track Stats: laps.
    pub total_laps: Option<u64>,
    /// Lifetime Track Stats: practice sessions.
    pub total_practice_sessions: Option<u64>,
    /// Lifetime Track Stats: races.
    pub total_races: Option<u64>,
    /// Lifetime Track Stats: entries.
    pub total_entries: Option<u64>,
    /// Lifetime Track Stats: events.
    pub total_events: Option<u64>,
    /// Top tiles: racing now (the live tile's check or cross icon, else its caption).
    pub racing_now: Option<bool>,
    /// Top tiles: "Results This Month".
    pub month_results: Option<u64>,
    /// Top tiles: "Sessions This Month".
    pub month_sessions: Option<u64>,
    /// Top tiles: "Videos This Month".
    pub month_videos: Option<u64>,
}
