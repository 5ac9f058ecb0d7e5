//! The catalogue page, `https://live.liverc.com/`: one `tr.clickable-row` per
//! track in `table.track_list`.
//!
//! Each row becomes a [`CatalogueEntry`] or a [`SkippedRow`] with a reason,
//! so `entries.len() + skipped.len()` is always the number of rows. A page
//! without the table, without rows, or on which no row parses is a
//! [`FormatError`]: an empty catalogue would read as "every track vanished".
//!
//! The page is never parsed into one document tree: with 100,000 tracks it
//! is ~66 MB of HTML, and its tree took ~650 MB. Instead [`track_rows`]
//! finds each row's source with a lexer that follows the tree builder's
//! table rules, and each row is parsed on its own as a small fragment
//! (after `<table><tbody>`, so the parser meets the row in the same mode as
//! on the page) and read with the same selectors and rules as before.
//! Memory is then bounded by the output plus one row's tree.
//!
//! The result equals that of a whole-document parse (the tests compare the
//! two on the real capture, on simulated catalogues, on mutated captures and
//! on generated tag soup), except on markup neither site produces:
//! - a selector step can no longer match an element *outside* the row (the
//!   whole table inside a `div.indent`, or a row of a table nested in
//!   another row's first cell), which only ever read text that was not the
//!   row's;
//! - formatting elements left open earlier on the page (`<a>`, `<b>`…) are
//!   re-opened by the parser around stray text *directly* inside a row, and
//!   a hidden input, script or style that follows it directly inside the
//!   row then lands in that re-opened element instead of the row, which
//!   can change `td:first-child` and the status icons seen; a row parsed
//!   alone keeps it;
//! - a `<form>` inside a row is kept even when an earlier unclosed form
//!   would make the document parser drop the tag (no effect on the fields);
//! - the lexer's limits (see [`html_scan`]): `<select>`, `<frameset>`,
//!   SVG/MathML and `<template>` contents are not modelled;
//! - a page on which track rows nest inside one another throughout the
//!   table is refused with a [`FormatError`] instead of being parsed in
//!   quadratic time (each nested row is parsed once per enclosing row).

#[cfg(test)]
mod equivalence;
mod html_scan;
mod track_rows;

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use scraper::{ElementRef, Html, Selector};

use self::track_rows::TrackRows;
use super::relative_time::parse_relative_time;
use super::slug::{SlugError, TrackHref, parse_track_href, track_url};
use super::text::element_text;
use crate::error::{FormatError, PageKind};
use crate::model::{Catalogue, CatalogueEntry, SkippedRow, TrackStatus};

/// The CSS selectors this parser uses within a row, compiled once.
struct Selectors {
    link: Selector,
    strong: Selector,
    last_updated: Selector,
    current_event: Selector,
}

fn selector(css: &'static str) -> Selector {
    Selector::parse(css)
        .unwrap_or_else(|error| panic!("static selector {css:?} is invalid: {error}"))
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    link: selector("a[href]"),
    strong: selector("strong"),
    last_updated: selector("td:first-child small small"),
    current_event: selector("div.indent small"),
});

/// How much row source may be parsed, as a multiple of the page size (plus
/// [`ROW_BUDGET_SLACK`]). Rows that do not nest are disjoint and add up to
/// less than the page; only track rows inside track rows' cells, whose
/// source is then parsed once per enclosing row, can exceed it. Past it the
/// page is refused rather than parsed in quadratic time.
const ROW_BUDGET_FACTOR: usize = 3;

/// Headroom of the row budget for small pages.
const ROW_BUDGET_SLACK: usize = 1 << 20;

/// Parses the catalogue page; see the module documentation.
pub(super) fn parse(html: &str, fetched_at: DateTime<Utc>) -> Result<Catalogue, FormatError> {
    let mut rows = TrackRows::new(html);
    let mut catalogue = CatalogueBuilder::new(fetched_at);
    let mut fragment_source = String::new();
    let mut budget = html
        .len()
        .saturating_mul(ROW_BUDGET_FACTOR)
        .saturating_add(ROW_BUDGET_SLACK);
    for row_source in rows.by_ref() {
        budget = budget.checked_sub(row_source.html.len()).ok_or_else(|| {
            FormatError::new(
                PageKind::Catalogue,
                "track rows nest inside one another throughout the table (not a track list)",
            )
        })?;
        fragment_source.clear();
        fragment_source.push_str(row_source.context);
        fragment_source.push_str(row_source.html);
        let fragment = Html::parse_fragment(&fragment_source);
        match fragment_row(&fragment) {
            Some(row) => catalogue.push(row),
            // Unreachable in practice: the fragment starts with the row's
            // own `<tr>` in table-body mode. Counted, so the row total holds.
            None => catalogue.push_unreadable(),
        }
    }
    catalogue.finish(rows.table_seen())
}

/// The row of a parsed `<table><tbody><tr …>…` fragment (or `thead`,
/// `tfoot`): the first element child of the section of the first `table`
/// child of the fragment's root. Content the parser foster-parents out of
/// the row lands before the table, so a plain `tr` search could meet, say,
/// an SVG `tr` there first.
fn fragment_row(fragment: &Html) -> Option<ElementRef<'_>> {
    fn child_named<'a>(parent: ElementRef<'a>, names: &[&str]) -> Option<ElementRef<'a>> {
        parent
            .children()
            .filter_map(ElementRef::wrap)
            .find(|child| names.contains(&child.value().name()))
    }
    let table = child_named(fragment.root_element(), &["table"])?;
    let section = child_named(table, &["tbody", "thead", "tfoot"])?;
    section.children().find_map(ElementRef::wrap)
}

/// The whole-document parse this module replaced, kept as the reference the
/// tests compare the streaming parse with.
#[cfg(test)]
pub(super) fn parse_with_dom(
    html: &str,
    fetched_at: DateTime<Utc>,
) -> Result<Catalogue, FormatError> {
    let document = Html::parse_document(html);
    let table_seen = document
        .select(&selector("table.track_list"))
        .next()
        .is_some();
    let mut catalogue = CatalogueBuilder::new(fetched_at);
    for row in document.select(&selector("table.track_list tbody tr.clickable-row")) {
        catalogue.push(row);
    }
    catalogue.finish(table_seen)
}

/// Collects rows in page order into entries and skipped rows.
struct CatalogueBuilder {
    fetched_at: DateTime<Utc>,
    entries: Vec<CatalogueEntry>,
    skipped: Vec<SkippedRow>,
    /// Lowercased slug → row index of its first entry.
    first_row_of: HashMap<String, usize>,
    row_count: usize,
}

impl CatalogueBuilder {
    fn new(fetched_at: DateTime<Utc>) -> Self {
        Self {
            fetched_at,
            entries: Vec::new(),
            skipped: Vec::new(),
            first_row_of: HashMap::new(),
            row_count: 0,
        }
    }

    /// Reads the next row.
    fn push(&mut self, row: ElementRef<'_>) {
        let row_index = self.row_count;
        self.row_count += 1;
        let parsed = parse_row(row, self.fetched_at).and_then(|entry| {
            match self.first_row_of.get(&entry.slug) {
                Some(first) => Err(Skip {
                    reason: format!("duplicate of row {first} (slug {:?})", entry.slug),
                    href: raw_href(row),
                }),
                None => Ok(entry),
            }
        });
        match parsed {
            Ok(entry) => {
                self.first_row_of.insert(entry.slug.clone(), row_index);
                self.entries.push(entry);
            }
            Err(skip) => self.skip(row_index, skip),
        }
    }

    /// Counts a row whose markup yielded no row element.
    fn push_unreadable(&mut self) {
        let row_index = self.row_count;
        self.row_count += 1;
        self.skip(
            row_index,
            Skip {
                reason: "row markup could not be read".to_owned(),
                href: None,
            },
        );
    }

    fn skip(&mut self, row_index: usize, skip: Skip) {
        tracing::debug!(row_index, reason = %skip.reason, "skipping catalogue row");
        self.skipped.push(SkippedRow {
            row_index,
            reason: skip.reason,
            href: skip.href,
        });
    }

    /// The catalogue, or why the page is not one.
    fn finish(self, table_seen: bool) -> Result<Catalogue, FormatError> {
        if !table_seen {
            return Err(FormatError::new(
                PageKind::Catalogue,
                "no table.track_list on the page",
            ));
        }
        let row_count = self.row_count;
        if row_count == 0 {
            return Err(FormatError::new(
                PageKind::Catalogue,
                "table.track_list has no tbody tr.clickable-row track rows",
            ));
        }
        if self.entries.is_empty() {
            let first_reason = self
                .skipped
                .first()
                .map(|s| format!(" (row {}: {})", s.row_index, s.reason))
                .unwrap_or_default();
            return Err(FormatError::new(
                PageKind::Catalogue,
                format!("none of the {row_count} track rows could be parsed{first_reason}"),
            ));
        }
        let mut entries = self.entries;
        entries.shrink_to_fit();
        Ok(Catalogue {
            fetched_at: self.fetched_at,
            entries,
            skipped: self.skipped,
        })
    }
}

/// The row's `data-href`, else its first link's href, as printed.
fn raw_href(row: ElementRef<'_>) -> Option<String> {
    row.attr("data-href")
        .or_else(|| {
            row.select(&SELECTORS.link)
                .find_map(|link| link.attr("href"))
        })
        .map(str::trim)
        .filter(|href| !href.is_empty())
        .map(str::to_owned)
}

/// Why a row was skipped, and the href it carried.
#[derive(Debug)]
struct Skip {
    reason: String,
    href: Option<String>,
}

fn parse_row(row: ElementRef<'_>, fetched_at: DateTime<Utc>) -> Result<CatalogueEntry, Skip> {
    let selectors = &*SELECTORS;
    let data_href = row
        .attr("data-href")
        .map(str::trim)
        .filter(|href| !href.is_empty());
    let links: Vec<ElementRef<'_>> = row.select(&selectors.link).collect();
    // The name link is the one around the <strong> name; else the first link.
    let name_link = links
        .iter()
        .copied()
        .find(|link| link.select(&selectors.strong).next().is_some())
        .or_else(|| links.first().copied());
    let link_href = name_link
        .and_then(|link| link.attr("href"))
        .map(str::trim)
        .filter(|href| !href.is_empty());
    let skip = |reason: String| Skip {
        reason,
        href: data_href.or(link_href).map(str::to_owned),
    };

    let track = track_of(link_href, data_href).map_err(skip)?;
    let events_url = events_url(&track, data_href).map_err(skip)?;

    let name = name_link
        .and_then(|link| {
            link.select(&selectors.strong)
                .find_map(element_text)
                .or_else(|| element_text(link))
        })
        .or_else(|| row.select(&selectors.strong).find_map(element_text))
        .ok_or_else(|| skip("row has no track name".to_owned()))?;

    let last_updated_text = row
        .select(&selectors.last_updated)
        .next()
        .and_then(element_text);
    let last_updated_at = last_updated_text
        .as_deref()
        .and_then(|text| parse_relative_time(text, fetched_at));
    let current_event = row
        .select(&selectors.current_event)
        .next()
        .and_then(element_text);

    let icons = Icons::of(row);
    let events_path = events_url.split(['?', '#']).next().unwrap_or_default();
    Ok(CatalogueEntry {
        track_url: track_url(&track.slug),
        is_live: events_path.ends_with("/live/") || events_path.ends_with("/live"),
        slug: track.slug,
        name,
        events_url,
        last_updated_text,
        last_updated_at,
        live_video: icons.live_video,
        status: icons.status,
        featured: icons.featured,
        current_event,
    })
}

/// The track a row names: from the name link's href, or from the row's
/// `data-href` when the link is missing or not an absolute URL.
fn track_of(link_href: Option<&str>, data_href: Option<&str>) -> Result<TrackHref, String> {
    let from_link = link_href.map(parse_track_href);
    match (from_link, data_href) {
        (Some(Ok(track)), _) => Ok(track),
        (Some(Err(SlugError::NotAbsolute)) | None, Some(data_href)) => {
            parse_track_href(data_href).map_err(|error| format!("data-href {data_href:?}: {error}"))
        }
        (Some(Err(error)), _) => Err(format!(
            "name link {:?}: {error}",
            link_href.unwrap_or_default()
        )),
        (None, None) => Err("row has neither a name link nor a data-href".to_owned()),
    }
}

/// The row's `data-href` made absolute on the track's own host with https;
/// `https://{slug}.liverc.com/results/` when the row has none.
fn events_url(track: &TrackHref, data_href: Option<&str>) -> Result<String, String> {
    let Some(data_href) = data_href else {
        return Ok(TrackHref {
            slug: track.slug.clone(),
            path: "/results/".to_owned(),
        }
        .absolute_url());
    };
    if data_href.starts_with('/') && !data_href.starts_with("//") {
        return Ok(TrackHref {
            slug: track.slug.clone(),
            path: data_href.to_owned(),
        }
        .absolute_url());
    }
    let events =
        parse_track_href(data_href).map_err(|error| format!("data-href {data_href:?}: {error}"))?;
    if events.slug != track.slug {
        return Err(format!(
            "data-href {data_href:?} names track {:?} but the name link names {:?}",
            events.slug, track.slug
        ));
    }
    Ok(events.absolute_url())
}

/// The status icons of a row.
#[derive(Debug)]
struct Icons {
    live_video: bool,
    featured: bool,
    status: TrackStatus,
}

impl Icons {
    fn of(row: ElementRef<'_>) -> Self {
        let mut icons = Icons {
            live_video: false,
            featured: false,
            status: TrackStatus::Unknown,
        };
        for element in row.descendent_elements() {
            for class in element.value().classes() {
                match class {
                    "status_video_1" => icons.live_video = true,
                    "status_featured" => icons.featured = true,
                    "status_0" | "status_1" | "status_2"
                        if icons.status == TrackStatus::Unknown =>
                    {
                        icons.status = match class {
                            "status_0" => TrackStatus::Idle,
                            "status_1" => TrackStatus::Practicing,
                            _ => TrackStatus::Racing,
                        };
                    }
                    _ => {}
                }
            }
        }
        icons
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn fetched() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 12, 6, 12, 0, 0)
            .single()
            .expect("valid test time")
    }

    fn page(rows: &str) -> String {
        format!(
            r#"<html><body><table class="table track_list"><thead><tr><th>Status</th></tr></thead>
               <tbody>{rows}</tbody></table></body></html>"#
        )
    }

    fn row(data_href: &str, link_href: &str, name: &str) -> String {
        format!(
            r#"<tr class="clickable-row" data-href="{data_href}">
                 <td class="text-nowrap"><i class="fa status_video_0"></i><i class="fa status_0"></i>
                   <br><small><small>2 hours ago</small></small></td>
                 <td><span class="hidden">kw</span><a href="{link_href}"><strong>{name}</strong></a>
                   <div class="indent"><small>Club Race</small></div></td></tr>"#
        )
    }

    /// The streaming parse, checked against the whole-document reference.
    fn parse_checked(html: &str) -> Result<Catalogue, FormatError> {
        let streamed = parse(html, fetched());
        assert_eq!(streamed, parse_with_dom(html, fetched()), "{html}");
        streamed
    }

    fn parse_ok(html: &str) -> Catalogue {
        parse_checked(html).expect("fixture parses")
    }

    #[test]
    fn selectors_compile() {
        let _ = &*SELECTORS;
    }

    #[test]
    fn a_full_row() {
        let html = page(
            r#"<tr class="clickable-row" data-href="//RacePlace.liverc.com/live/">
                 <td><i class="fa status_video_1"></i><i class="fa status_2"></i><i class="fa status_featured"></i>
                   <br><small><small> 1  minute ago </small></small></td>
                 <td><span class="hidden">seRC</span><a href="//RacePlace.liverc.com/"><strong>Race &amp; Place</strong></a>
                   <div class="indent"><small>Winter   Series #1</small></div></td></tr>"#,
        );
        let catalogue = parse_ok(&html);
        assert_eq!(catalogue.fetched_at, fetched());
        assert!(catalogue.skipped.is_empty());
        let [entry] = catalogue.entries.as_slice() else {
            panic!("one entry expected, got {:?}", catalogue.entries);
        };
        assert_eq!(entry.slug, "raceplace");
        assert_eq!(entry.name, "Race & Place");
        assert_eq!(entry.track_url, "https://raceplace.liverc.com/");
        assert_eq!(entry.events_url, "https://raceplace.liverc.com/live/");
        assert!(entry.is_live);
        assert!(entry.live_video);
        assert!(entry.featured);
        assert_eq!(entry.status, TrackStatus::Racing);
        assert_eq!(entry.last_updated_text.as_deref(), Some("1 minute ago"));
        assert_eq!(
            entry.last_updated_at,
            Some(fetched() - TimeDelta::minutes(1))
        );
        assert_eq!(entry.current_event.as_deref(), Some("Winter Series #1"));
    }

    #[test]
    fn optional_parts_absent() {
        let html = page(
            r#"<tr class="clickable-row" data-href="https://quiet.liverc.com/results/">
                 <td></td><td><a href="https://quiet.liverc.com/"><strong>Quiet</strong></a></td></tr>"#,
        );
        let catalogue = parse_ok(&html);
        let entry = catalogue.entries.first().expect("one entry");
        assert_eq!(entry.events_url, "https://quiet.liverc.com/results/");
        assert!(!entry.is_live && !entry.live_video && !entry.featured);
        assert_eq!(entry.status, TrackStatus::Unknown);
        assert_eq!(entry.last_updated_text, None);
        assert_eq!(entry.last_updated_at, None);
        assert_eq!(entry.current_event, None);
    }

    #[test]
    fn unknown_relative_text_keeps_the_text() {
        let html = page(
            &row("//a.liverc.com/results/", "//a.liverc.com/", "A")
                .replace("2 hours ago", "2025-12-04"),
        );
        let entry = parse_ok(&html).entries.into_iter().next().expect("entry");
        assert_eq!(entry.last_updated_text.as_deref(), Some("2025-12-04"));
        assert_eq!(entry.last_updated_at, None);
    }

    #[test]
    fn skipped_rows_carry_reasons() {
        let rows = [
            row("//good.liverc.com/results/", "//good.liverc.com/", "Good"),
            row("//www.liverc.com/results/", "//www.liverc.com/", "Www"),
            row("//x.example.com/results/", "//x.example.com/", "Foreign"),
            row("//a.b.liverc.com/results/", "//a.b.liverc.com/", "Deep"),
            row(
                "//bad_label.liverc.com/results/",
                "//bad_label.liverc.com/",
                "Bad",
            ),
            row(
                "//GOOD.liverc.com/live/",
                "//GOOD.liverc.com/",
                "Good again",
            ),
            row("//noname.liverc.com/results/", "//noname.liverc.com/", " "),
            row(
                "//other.liverc.com/results/",
                "//mismatch.liverc.com/",
                "Mismatch",
            ),
        ]
        .concat();
        let catalogue = parse_ok(&page(&rows));
        let slugs: Vec<&str> = catalogue.entries.iter().map(|e| e.slug.as_str()).collect();
        assert_eq!(slugs, ["good"]);
        let reasons: Vec<(usize, &str)> = catalogue
            .skipped
            .iter()
            .map(|s| (s.row_index, s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 7);
        assert!(reasons[0].1.contains("site-infrastructure"), "{reasons:?}");
        assert!(reasons[1].1.contains("not under liverc.com"), "{reasons:?}");
        assert!(reasons[2].1.contains("more labels"), "{reasons:?}");
        assert!(
            reasons[3].1.contains("not a valid DNS label"),
            "{reasons:?}"
        );
        assert_eq!(reasons[4], (5, "duplicate of row 0 (slug \"good\")"));
        assert_eq!(
            catalogue.skipped[4].href.as_deref(),
            Some("//GOOD.liverc.com/live/")
        );
        assert_eq!(reasons[5], (6, "row has no track name"));
        assert!(
            reasons[6].1.contains("names track \"other\""),
            "{reasons:?}"
        );
        assert_eq!(
            catalogue.skipped[0].href.as_deref(),
            Some("//www.liverc.com/results/")
        );
    }

    #[test]
    fn data_href_is_the_fallback_for_the_slug() {
        let rows = [
            // No link at all: name from the row's <strong>, slug from data-href.
            r#"<tr class="clickable-row" data-href="//nolink.liverc.com/results/"><td></td><td><strong>No Link</strong></td></tr>"#.to_owned(),
            // Relative link: data-href names the track.
            row("//rel.liverc.com/live/", "/", "Relative"),
            // No data-href: events default to /results/ on the link's host.
            r#"<tr class="clickable-row"><td></td><td><a href="//nodata.liverc.com/"><strong>No Data</strong></a></td></tr>"#.to_owned(),
            // Relative data-href.
            row("/live/", "//reldata.liverc.com/", "Relative data"),
            // Nothing to go on.
            r#"<tr class="clickable-row"><td></td><td><strong>Nothing</strong></td></tr>"#.to_owned(),
        ]
        .concat();
        let catalogue = parse_ok(&page(&rows));
        let got: Vec<(&str, &str, bool)> = catalogue
            .entries
            .iter()
            .map(|e| (e.slug.as_str(), e.events_url.as_str(), e.is_live))
            .collect();
        assert_eq!(
            got,
            [
                ("nolink", "https://nolink.liverc.com/results/", false),
                ("rel", "https://rel.liverc.com/live/", true),
                ("nodata", "https://nodata.liverc.com/results/", false),
                ("reldata", "https://reldata.liverc.com/live/", true),
            ]
        );
        assert_eq!(catalogue.skipped.len(), 1);
        assert_eq!(catalogue.skipped[0].row_index, 4);
        assert_eq!(catalogue.skipped[0].href, None);
    }

    #[test]
    fn deeply_nested_rows_are_refused_quickly() {
        let depth = 4_000;
        let html = format!(
            "<table class=track_list>{}",
            r#"<tr class="clickable-row"><td><a href="//x.liverc.com/"><strong>X</strong></a><table>"#
                .repeat(depth)
        );
        let started = std::time::Instant::now();
        let error = parse(&html, fetched()).expect_err("refused");
        assert!(error.message.contains("nest"), "{error}");
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        // A few levels are fine.
        let shallow = format!(
            "<table class=track_list>{}",
            r#"<tr class="clickable-row"><td><a href="//x.liverc.com/"><strong>X</strong></a><table>"#
                .repeat(3)
        );
        let catalogue = parse_checked(&shallow).expect("parses");
        assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), 3);
    }

    #[test]
    fn empty_or_foreign_pages_are_format_errors() {
        let no_table =
            parse_checked("<html><body><p>maintenance</p></body></html>").expect_err("no table");
        assert_eq!(no_table.page, PageKind::Catalogue);
        assert!(no_table.message.contains("no table.track_list"));

        let no_rows = parse_checked(&page("")).expect_err("no rows");
        assert!(no_rows.message.contains("no tbody tr.clickable-row"));

        let all_bad = parse_checked(&page(&row("//www.liverc.com/", "//www.liverc.com/", "W")))
            .expect_err("no usable row");
        assert!(
            all_bad.message.contains("none of the 1 track rows"),
            "{all_bad}"
        );
        assert!(parse_checked("").is_err());
    }
}
