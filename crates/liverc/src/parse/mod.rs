//! Pure parsers: HTML in, owned records out. No I/O, no panics on any input.
//!
//! [`parse_catalogue`] reads the track list at `https://live.liverc.com/`,
//! [`parse_dashboard`] a track's dashboard at `https://{slug}.liverc.com/`.
//! The helper modules are public because the client and later tools share
//! their rules: [`slug`] (which hosts are tracks), [`relative_time`]
//! ("3 hours ago"), [`email`], [`address`] and [`country`].

use chrono::{DateTime, Utc};

use crate::error::FormatError;
use crate::model::{Catalogue, Dashboard};

pub mod address;
mod catalogue;
pub mod country;
mod dashboard;
pub mod email;
pub mod relative_time;
pub mod slug;
mod text;

/// Parse the catalogue page. Zero track rows is a [`FormatError`], never an
/// empty catalogue.
///
/// Every `table.track_list tbody tr.clickable-row` row ends up either in
/// [`Catalogue::entries`] (slugs lowercased and unique, first row wins) or in
/// [`Catalogue::skipped`] with a reason. Relative "last updated" texts are
/// read against `fetched_at`. A page on which no row parses is a
/// [`FormatError`] as well.
pub fn parse_catalogue(html: &str, fetched_at: DateTime<Utc>) -> Result<Catalogue, FormatError> {
    catalogue::parse(html, fetched_at)
}

/// Parse a track dashboard page.
///
/// A page with neither an About panel nor a Lifetime Track Stats panel is a
/// [`FormatError`]; otherwise every field the page does not carry is `None`.
pub fn parse_dashboard(html: &str) -> Result<Dashboard, FormatError> {
    dashboard::parse(html)
}
