//! Pure parsers: HTML in, owned records out. No I/O, no panics on any input.

use chrono::{DateTime, Utc};

use crate::error::{FormatError, PageKind};
use crate::model::{Catalogue, Dashboard};

/// Parse the catalogue page. Zero track rows is a [`FormatError`], never an
/// empty catalogue.
pub fn parse_catalogue(html: &str, fetched_at: DateTime<Utc>) -> Result<Catalogue, FormatError> {
    let _ = (html, fetched_at);
    Err(FormatError::new(PageKind::Catalogue, "parser not written yet"))
}

/// Parse a track dashboard page.
pub fn parse_dashboard(html: &str) -> Result<Dashboard, FormatError> {
    let _ = html;
    Err(FormatError::new(PageKind::Dashboard, "parser not written yet"))
}
