//! The streaming catalogue parse against the whole-document parse it
//! replaced ([`parse_with_dom`]), on the real capture, the synthetic
//! fixture, simulated catalogues (from `liverc-sim`, as served to the sync),
//! mutated captures and generated tag soup.
//!
//! Two strengths of "the same". The [`Catalogue`]s are equal. And, checked
//! also where the first need not hold (see the differences listed in the
//! documentation of [`super`]), the row scanner finds exactly the rows the
//! document selector finds, in the same order, with the same attributes and
//! identical cells (`td`/`th` subtrees compared as serialized HTML). Only
//! the cells are compared because what the tree builder puts *directly*
//! into a `tr` besides cells (comments, whitespace, a hidden input, a
//! script) depends on formatting elements left open earlier in the page,
//! which a row parsed alone cannot know; the cells are isolated from that
//! by the parser's formatting markers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use scraper::{ElementRef, Html, Selector};

use super::track_rows::TrackRows;
use super::{fragment_row, parse, parse_with_dom};
use crate::model::Catalogue;

fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 6, 12, 0, 0)
        .single()
        .expect("valid fixed time")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn real_catalogue() -> String {
    read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/liverc/pages/track_catalogue.html"),
    )
}

fn edge_case_fixture() -> String {
    read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalogue_edge_cases.html"))
}

fn site(tracks: usize, seed: u64) -> liverc_sim::SiteHandle {
    liverc_sim::SiteHandle::new(&liverc_sim::SimConfig {
        tracks,
        seed,
        ..liverc_sim::SimConfig::default()
    })
}

/// Both parses agree; returns the streaming one.
fn same_catalogue(html: &str) -> Result<Catalogue, crate::FormatError> {
    let streamed = parse(html, fetched_at());
    let reference = parse_with_dom(html, fetched_at());
    assert_eq!(streamed, reference);
    streamed
}

/// A row as compared: its attributes, its cells serialized, and whether it
/// has element children other than cells.
#[derive(Debug, PartialEq, Eq)]
struct RowShape {
    attributes: Vec<(String, String)>,
    cells: Vec<String>,
    other_children: bool,
}

impl RowShape {
    fn of(row: ElementRef<'_>) -> Self {
        let is_cell = |child: &ElementRef<'_>| matches!(child.value().name(), "td" | "th");
        let children: Vec<ElementRef<'_>> = row.children().filter_map(ElementRef::wrap).collect();
        Self {
            attributes: row
                .value()
                .attrs()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            cells: children
                .iter()
                .filter(|c| is_cell(c))
                .map(|c| c.html())
                .collect(),
            other_children: children.iter().any(|c| !is_cell(c)),
        }
    }
}

/// Cells and attributes must match; stray children only carry a flag.
fn same_rows(scanned: &[RowShape], document: &[RowShape]) -> bool {
    scanned.len() == document.len()
        && scanned
            .iter()
            .zip(document)
            .all(|(a, b)| a.attributes == b.attributes && a.cells == b.cells)
}

/// Rows as the document selector finds them.
fn document_rows(html: &str) -> Vec<RowShape> {
    let selector =
        Selector::parse("table.track_list tbody tr.clickable-row").expect("static selector");
    Html::parse_document(html)
        .select(&selector)
        .map(RowShape::of)
        .collect()
}

/// Rows as the scanner and the fragment parse find them.
fn scanned_rows(html: &str) -> Vec<RowShape> {
    TrackRows::new(html)
        .map(|source| {
            let fragment = Html::parse_fragment(&format!("{}{}", source.context, source.html));
            let row = fragment_row(&fragment).expect("a scanned row parses to a row");
            RowShape::of(row)
        })
        .collect()
}

/// The rows match; with no stray row children on either side, so do the
/// catalogues.
fn check_soup(html: &str) -> Result<(), TestCaseError> {
    let scanned = scanned_rows(html);
    let document = document_rows(html);
    prop_assert!(
        same_rows(&scanned, &document),
        "{html}\nscanned {scanned:#?}\ndocument {document:#?}"
    );
    if !scanned
        .iter()
        .chain(&document)
        .any(|row| row.other_children)
    {
        prop_assert_eq!(
            parse(html, fetched_at()),
            parse_with_dom(html, fetched_at()),
            "{}",
            html
        );
    }
    Ok(())
}

#[test]
fn the_real_catalogue() {
    let html = real_catalogue();
    let catalogue = same_catalogue(&html).expect("parses");
    assert_eq!(catalogue.entries.len(), 1_090);
    let rows = scanned_rows(&html);
    assert_eq!(rows, document_rows(&html));
    assert_eq!(rows.len(), 1_090);
}

#[test]
fn the_edge_case_fixture() {
    let html = edge_case_fixture();
    let catalogue = same_catalogue(&html).expect("parses");
    assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), 9);
    assert!(!catalogue.skipped.is_empty());
}

#[test]
fn simulated_catalogues() {
    for (tracks, seed) in [(1, 1), (250, 7), (1_090, 42), (2_500, 2_025)] {
        let site = site(tracks, seed);
        let html = site.render_catalogue().body;
        let catalogue = same_catalogue(&html).expect("simulated catalogue parses");
        assert_eq!(
            catalogue.entries.len(),
            tracks,
            "{tracks} tracks, seed {seed}"
        );
        // The simulator's decoy rows (infrastructure hosts, foreign hosts…)
        // are skipped by both, with the same reasons.
        assert_eq!(
            catalogue.skipped.len(),
            site.decoy_hrefs().len(),
            "{:?}",
            catalogue.skipped
        );
    }
}

#[test]
fn simulated_catalogues_after_changes() {
    let site = site(800, 9);
    site.mutate_random(3, 200);
    let html = site.render_catalogue().body;
    same_catalogue(&html).expect("parses");
    site.truncate_catalogue(Some(10));
    let html = site.render_catalogue().body;
    let truncated = same_catalogue(&html).expect("parses");
    assert!(truncated.entries.len() <= 10);
}

#[test]
fn rows_nested_in_tables_in_cells() {
    let row = |slug: &str, inner: &str| {
        format!(
            r#"<tr class="clickable-row" data-href="//{slug}.liverc.com/results/"><td>{inner}</td><td><a href="//{slug}.liverc.com/"><strong>{slug}</strong></a></td></tr>"#
        )
    };
    let nested = format!("<table><tbody>{}</tbody></table>", row("inner", ""));
    let html = format!(
        r#"<!DOCTYPE html><table class="track_list"><tbody>{}{}</tbody></table>"#,
        row("outer", &nested),
        row("after", "")
    );
    let catalogue = same_catalogue(&html).expect("parses");
    let slugs: Vec<&str> = catalogue.entries.iter().map(|e| e.slug.as_str()).collect();
    // The outer row's first link is the nested row's; both parses agree.
    assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), 3);
    assert!(
        slugs.contains(&"inner") && slugs.contains(&"after"),
        "{slugs:?}"
    );
    assert_eq!(scanned_rows(&html), document_rows(&html));
}

#[test]
fn pages_that_are_not_catalogues() {
    for html in [
        String::new(),
        "<html><body><p>maintenance</p></body></html>".to_owned(),
        r#"<table class="track_list"><thead><tr class="clickable-row"><td>x</td></tr></thead></table>"#
            .to_owned(),
        // The table inside a comment, a script and a textarea.
        r#"<!-- <table class="track_list"><tr class="clickable-row"> --><script>"<table class='track_list'>"</script><textarea><table class="track_list"></textarea>"#
            .to_owned(),
    ] {
        let error = same_catalogue(&html).expect_err("not a catalogue");
        assert!(!error.message.is_empty());
    }
}

/// Markup pieces that move row boundaries, or look as if they should.
const STRUCTURE: &[&str] = &[
    r#"<tr class="clickable-row" data-href="//a.liverc.com/live/">"#,
    r#"<tr class="clickable-row" data-href="//b.liverc.com/results/">"#,
    "<TR CLASS=clickable-row>",
    r#"<tr class="odd clickable-row"/>"#,
    r#"<tr class="clickable-row" class="no">"#,
    r#"<tr class="no" class="clickable-row">"#,
    "<tr>",
    "<td>",
    r#"<td class="text-nowrap">"#,
    "<th>",
    "</td>",
    "</TD >",
    "</th>",
    "</tr>",
    "</tr >",
    "<tbody>",
    "</tbody>",
    "<thead>",
    "</thead>",
    "<tfoot>",
    "</tfoot>",
    "<caption>",
    "</caption>",
    "<colgroup>",
    "<col>",
    "</colgroup>",
    "</table>",
];

/// Tables, for the nested soup only.
const TABLES: &[&str] = &[
    "<table>",
    r#"<table class="track_list">"#,
    "<table class='x track&#95;list'>",
];

/// Row content and lexical traps.
const CONTENT: &[&str] = &[
    r#"<a href="//c.liverc.com/">"#,
    r#"<a href="https://d.liverc.com/">"#,
    "</a>",
    "<strong>",
    "</strong>",
    "<small>",
    "</small>",
    r#"<div class="indent">"#,
    "</div>",
    r#"<i class="fa status_1">"#,
    r#"<i class="status_video_1 status_2 status_featured">"#,
    "<br>",
    "<br />",
    "<p>",
    "</p>",
    "<b>",
    "</b>",
    "<span>",
    "Name",
    "3 hours ago",
    " &amp; ",
    "\n  ",
    "a < b",
    r#"<!-- <tr class="clickable-row"> </td> -->"#,
    "<!-->",
    "<!--- x --!>",
    "<?pi <tr class=clickable-row>?>",
    "</ <tr class=clickable-row>>",
    r#"<td data-x='a > </tr> <tr class="clickable-row">'>"#,
    r#"<span title="</td></tr>">"#,
    r#"<span title=""#,
    r#"<script>var s = "</tr><tr class='clickable-row'>";</script>"#,
    "<script><!-- <script> </script> <tr> --></script>",
    "<style>td > tr { }</style>",
    "<textarea></td></tr></textarea>",
    "<title><tr class=clickable-row></title>",
    "<noscript></td><tr></noscript>",
    "<xmp></tr></xmp>",
    r#"<input type="hidden">"#,
];

fn pieces(include_tables: bool) -> impl Strategy<Value = String> {
    let mut all: Vec<&'static str> = STRUCTURE.iter().chain(CONTENT).copied().collect();
    if include_tables {
        all.extend(TABLES);
    }
    prop::collection::vec(prop::sample::select(all), 0..48).prop_map(|pieces| pieces.concat())
}

/// A track list whose rows may be any mess, but with no second table (so no
/// selector step can reach outside a row).
fn flat_soup() -> impl Strategy<Value = String> {
    pieces(false).prop_map(|body| {
        format!(
            r#"<!DOCTYPE html><html><body><table class="track_list">{body}</table></body></html>"#
        )
    })
}

/// Tables in tables, track lists in ordinary tables and back.
fn nested_soup() -> impl Strategy<Value = String> {
    pieces(true)
        .prop_map(|body| format!(r#"<!DOCTYPE html><html><body><table class="track_list">{body}"#))
}

/// A mutation of the real capture (see `tests/parser_props.rs`).
#[derive(Debug, Clone)]
enum Mutation {
    Cut(Index),
    Delete(Index, Index),
    Duplicate(Index, Index),
}

fn mutate(page: &str, mutation: &Mutation) -> String {
    let bytes = page.as_bytes();
    let range = |start: &Index, span: &Index| {
        let start = start.index(bytes.len());
        start..(start + span.index(4_096)).min(bytes.len())
    };
    let out: Vec<u8> = match mutation {
        Mutation::Cut(at) => bytes
            .get(..at.index(bytes.len()))
            .unwrap_or_default()
            .to_vec(),
        Mutation::Delete(start, span) => {
            let mut out = bytes.to_vec();
            out.drain(range(start, span));
            out
        }
        Mutation::Duplicate(start, span) => {
            let r = range(start, span);
            let mut out = bytes.to_vec();
            let copy = bytes.get(r.clone()).unwrap_or_default().to_vec();
            out.splice(r.end..r.end, copy);
            out
        }
    };
    String::from_utf8_lossy(&out).into_owned()
}

static REAL: std::sync::LazyLock<String> = std::sync::LazyLock::new(real_catalogue);

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn flat_soup_parses_the_same(html in flat_soup()) {
        check_soup(&html)?;
    }

    #[test]
    fn nested_soup_finds_the_same_rows(html in nested_soup()) {
        let scanned = scanned_rows(&html);
        let document = document_rows(&html);
        prop_assert!(same_rows(&scanned, &document), "{}\nscanned {:#?}\ndocument {:#?}", html, scanned, document);
    }
}

proptest! {
    // A real-size page per case: few cases.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_catalogue_finds_the_same_rows(mutation in prop_oneof![
        any::<Index>().prop_map(Mutation::Cut),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Delete(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]) {
        let html = mutate(&REAL, &mutation);
        check_soup(&html)?;
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Interleaved timings of both parses: `cargo test --release -p liverc --lib
/// -- --ignored --nocapture parse_speed`.
#[test]
#[ignore = "a measurement: run in release with --nocapture"]
#[expect(clippy::print_stdout, reason = "reports the measured times")]
fn parse_speed() {
    for (label, html, rounds) in [
        ("real 1,090-row page", real_catalogue(), 21),
        (
            "simulated 20,000 tracks",
            site(20_000, 1).render_catalogue().body,
            5,
        ),
    ] {
        let (mut streamed, mut dom) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let start = Instant::now();
            let a = parse(&html, fetched_at());
            streamed.push(start.elapsed());
            let start = Instant::now();
            let b = parse_with_dom(&html, fetched_at());
            dom.push(start.elapsed());
            assert_eq!(a, b);
        }
        println!(
            "{label}: streaming {:?}, document {:?} (medians of {rounds})",
            median(streamed),
            median(dom)
        );
    }
}
