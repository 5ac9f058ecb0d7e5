//! Property tests: the parsers never panic, whatever they are given, and
//! what they return keeps its invariants.
//!
//! Inputs: arbitrary bytes (read as lossy UTF-8), arbitrary strings,
//! tag soup built from the pages' own vocabulary, and the real captures cut
//! at random points or with random byte ranges deleted, duplicated or
//! replaced. Case counts are kept small enough for a debug build to run the
//! file in a few seconds (dependencies are built with opt-level 2).

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use liverc::parse::slug::{is_infrastructure_label, is_valid_dns_label};
use liverc::{Catalogue, Dashboard, parse_catalogue, parse_dashboard};
use proptest::prelude::*;
use proptest::sample::Index;

fn read_page(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/liverc/pages")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

static CATALOGUE: LazyLock<Vec<u8>> = LazyLock::new(|| read_page("track_catalogue.html"));
static DASHBOARDS: LazyLock<[Vec<u8>; 3]> = LazyLock::new(|| {
    [
        read_page("dashboard_thunderalley.html"),
        read_page("dashboard_bbrcc.html"),
        read_page("dashboard_canberraoffroad_raw.html"),
    ]
});

fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 6, 12, 0, 0)
        .single()
        .expect("valid fixed time")
}

/// Invariants of any catalogue the parser returns.
fn check_catalogue(catalogue: &Catalogue) -> Result<(), TestCaseError> {
    prop_assert!(
        !catalogue.entries.is_empty(),
        "an Ok catalogue is never empty"
    );
    let mut slugs = std::collections::HashSet::new();
    for entry in &catalogue.entries {
        prop_assert!(
            slugs.insert(entry.slug.clone()),
            "duplicate slug {}",
            entry.slug
        );
        prop_assert!(is_valid_dns_label(&entry.slug), "{:?}", entry.slug);
        prop_assert!(!is_infrastructure_label(&entry.slug), "{:?}", entry.slug);
        prop_assert_eq!(&entry.slug, &entry.slug.to_lowercase());
        prop_assert_eq!(
            &entry.track_url,
            &format!("https://{}.liverc.com/", entry.slug)
        );
        prop_assert!(entry.events_url.starts_with(&entry.track_url));
        prop_assert!(!entry.name.is_empty() && entry.name.trim() == entry.name);
        for text in [&entry.last_updated_text, &entry.current_event]
            .into_iter()
            .flatten()
        {
            prop_assert!(!text.is_empty() && text.trim() == text, "{:?}", text);
        }
        if let Some(at) = entry.last_updated_at {
            prop_assert!(at <= catalogue.fetched_at);
        }
    }
    let mut rows: Vec<usize> = catalogue.skipped.iter().map(|row| row.row_index).collect();
    rows.dedup();
    prop_assert_eq!(rows.len(), catalogue.skipped.len(), "one skip per row");
    for skipped in &catalogue.skipped {
        prop_assert!(!skipped.reason.is_empty());
    }
    Ok(())
}

/// Invariants of any dashboard the parser returns.
fn check_dashboard(dashboard: &Dashboard) -> Result<(), TestCaseError> {
    let texts = [
        &dashboard.name,
        &dashboard.street,
        &dashboard.city,
        &dashboard.state,
        &dashboard.postal_code,
        &dashboard.country,
        &dashboard.country_code,
        &dashboard.phone,
        &dashboard.website,
        &dashboard.email,
        &dashboard.description,
        &dashboard.logo_url,
        &dashboard.facebook_url,
        &dashboard.map_query,
    ];
    for text in texts.into_iter().flatten() {
        prop_assert!(!text.is_empty() && text.trim() == text, "{:?}", text);
    }
    if let Some(code) = &dashboard.country_code {
        prop_assert!(
            code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
            "{code}"
        );
        prop_assert!(dashboard.country.is_some());
    }
    if let Some(email) = &dashboard.email {
        prop_assert!(liverc::parse::email::is_plausible_email(email), "{email}");
    }
    Ok(())
}

/// Runs both parsers on `html` and checks what they return.
fn parse_both(html: &str) -> Result<(), TestCaseError> {
    if let Ok(catalogue) = parse_catalogue(html, fetched_at()) {
        check_catalogue(&catalogue)?;
    }
    if let Ok(dashboard) = parse_dashboard(html) {
        check_dashboard(&dashboard)?;
    }
    Ok(())
}

/// A mutation of a page's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Keep only the bytes before the point.
    Cut(Index),
    /// Delete a range.
    Delete(Index, Index),
    /// Insert a copy of a range right after it.
    Duplicate(Index, Index),
    /// Replace a range with other bytes.
    Replace(Index, Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Cut),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Delete(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        (
            any::<Index>(),
            any::<Index>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(a, b, bytes)| Mutation::Replace(a, b, bytes)),
    ]
}

/// Applies `mutation` to `page`; ranges are at most `max_span` bytes long so
/// that most of the page's structure survives.
fn apply(page: &[u8], mutation: &Mutation, max_span: usize) -> String {
    let len = page.len().max(1);
    let range = |start: &Index, span: &Index| {
        let start = start.index(len).min(page.len());
        let end = start
            .saturating_add(span.index(max_span.max(1)))
            .min(page.len());
        start..end
    };
    let bytes: Vec<u8> = match mutation {
        Mutation::Cut(at) => page
            .get(..at.index(len).min(page.len()))
            .unwrap_or_default()
            .to_vec(),
        Mutation::Delete(start, span) => {
            let r = range(start, span);
            let mut out = page.to_vec();
            out.drain(r);
            out
        }
        Mutation::Duplicate(start, span) => {
            let r = range(start, span);
            let mut out = page.to_vec();
            let copy = page.get(r.clone()).unwrap_or_default().to_vec();
            out.splice(r.end..r.end, copy);
            out
        }
        Mutation::Replace(start, span, with) => {
            let r = range(start, span);
            let mut out = page.to_vec();
            out.splice(r, with.iter().copied());
            out
        }
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Tag soup from the pages' own vocabulary, so that the parsers get past
/// their first checks more often than with random text.
fn tag_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(r#"<table class="track_list"><tbody>"#.to_owned()),
        Just(r#"<tr class="clickable-row" data-href="//a.liverc.com/live/">"#.to_owned()),
        Just(r#"<tr class="clickable-row">"#.to_owned()),
        Just(
            r#"<td><i class="status_1 status_video_1 status_featured"></i><small><small>"#
                .to_owned()
        ),
        Just(r#"<a href="//B.liverc.com/"><strong>"#.to_owned()),
        Just(r#"<a href="https://x.y.liverc.com/">"#.to_owned()),
        Just(r#"<div class="indent"><small>"#.to_owned()),
        Just(r#"<div class="panel"><div class="panel-heading">About "#.to_owned()),
        Just(
            r#"<div class="panel"><div class="panel-heading">Lifetime Track Stats</div>"#
                .to_owned()
        ),
        Just(r#"<div class="panel-body"><div class="row"><address>"#.to_owned()),
        Just("<br>".to_owned()),
        Just(r#"<abbr title="Phone">P:</abbr><a href="tel:%2">"#.to_owned()),
        Just(
            r#"<abbr title="E-Mail">E:</abbr><a href="javascript:noSpam('a', 'b.co');">"#
                .to_owned()
        ),
        Just(r#"<abbr title="Website">W:</abbr><a href="//">"#.to_owned()),
        Just(r#"<tr><th>Laps</th><td class="text-right">"#.to_owned()),
        Just(r#"<div class="dashboard_panels"><div class="panel"><div class="huge">"#.to_owned()),
        Just(r#"<iframe src="https://www.google.com/maps/embed?q=%FF,+US"></iframe>"#.to_owned()),
        Just("</a></strong></td></tr></div></address></small>".to_owned()),
        Just("United States".to_owned()),
        Just("Lucama, NC 27851".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("3 hours ago".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// Hrefs of every kind the slug rules distinguish.
fn href() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("//good.liverc.com/".to_owned()),
        Just("//Good.LiveRC.com/live/".to_owned()),
        Just("https://other.liverc.com/results/".to_owned()),
        Just("http://x-1.liverc.com".to_owned()),
        Just("//www.liverc.com/".to_owned()),
        Just("//a.b.liverc.com/".to_owned()),
        Just("//liverc.com/".to_owned()),
        Just("//evil.com/".to_owned()),
        Just("/results/".to_owned()),
        Just("".to_owned()),
        "//[a-zA-Z0-9_.-]{0,8}\\.liverc\\.com/(live/|results/)?",
        "\\PC{0,10}",
    ]
}

/// One catalogue row with random parts, some missing.
fn catalogue_row() -> impl Strategy<Value = String> {
    (
        prop::option::of(href()),
        prop::option::of(href()),
        "\\PC{0,12}",
        prop::option::of(prop_oneof![
            Just("3 hours ago".to_owned()),
            Just("an hour ago".to_owned()),
            Just("18446744073709551615 years ago".to_owned()),
            "\\PC{0,12}",
        ]),
        prop::option::of("\\PC{0,12}"),
        prop::sample::select(vec!["status_0", "status_1", "status_2", "status_video_1", "status_featured", "x"]),
    )
        .prop_map(|(data_href, link_href, name, updated, event, icon)| {
            let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
            let data_href = data_href.map(|h| format!(r#" data-href="{}""#, escape(&h))).unwrap_or_default();
            let updated = updated.map(|u| format!("<br><small><small>{}</small></small>", escape(&u))).unwrap_or_default();
            let event = event.map(|e| format!(r#"<div class="indent"><small>{}</small></div>"#, escape(&e))).unwrap_or_default();
            let name = format!("<strong>{}</strong>", escape(&name));
            let link = match link_href {
                Some(h) => format!(r#"<a href="{}">{name}</a>"#, escape(&h)),
                None => name,
            };
            format!(r#"<tr class="clickable-row"{data_href}><td><i class="fa {icon}"></i>{updated}</td><td>{link}{event}</td></tr>"#)
        })
}

/// A catalogue table of random rows.
fn catalogue_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(catalogue_row(), 0..24).prop_map(|rows| {
        format!(
            r#"<html><body><table class="track_list"><tbody>{}</tbody></table></body></html>"#,
            rows.concat()
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_catalogue_rows_keep_the_invariants(html in catalogue_soup()) {
        let rows = html.matches("clickable-row").count();
        match parse_catalogue(&html, fetched_at()) {
            Ok(catalogue) => {
                check_catalogue(&catalogue)?;
                prop_assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), rows);
            }
            Err(error) => prop_assert!(
                rows == 0 || error.message.contains(&format!("none of the {rows} track rows")),
                "{}", error
            ),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_both(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        parse_both(&text)?;
    }

    #[test]
    fn tag_soup_never_panics(html in tag_soup()) {
        parse_both(&html)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn mutated_dashboards_never_panic(
        which in 0..3usize,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut html = DASHBOARDS.get(which).cloned().unwrap_or_default();
        for m in &mutations {
            html = apply(&html, m, 512).into_bytes();
        }
        let html = String::from_utf8_lossy(&html);
        if let Ok(dashboard) = parse_dashboard(&html) {
            check_dashboard(&dashboard)?;
        }
        // Feeding a dashboard to the catalogue parser must not panic either.
        let _ = parse_catalogue(&html, fetched_at());
    }
}

proptest! {
    // The catalogue is 870 KB: few cases, each a real-size page.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mutated_catalogue_never_panics(mutation in mutation()) {
        let html = apply(&CATALOGUE, &mutation, 4096);
        match parse_catalogue(&html, fetched_at()) {
            Ok(catalogue) => check_catalogue(&catalogue)?,
            Err(error) => prop_assert!(!error.message.is_empty()),
        }
    }
}

#[test]
fn the_unmutated_pages_satisfy_the_invariants() {
    let catalogue = parse_catalogue(&String::from_utf8_lossy(&CATALOGUE), fetched_at())
        .expect("real catalogue parses");
    check_catalogue(&catalogue).expect("invariants hold");
    for page in DASHBOARDS.iter() {
        let dashboard =
            parse_dashboard(&String::from_utf8_lossy(page)).expect("real dashboard parses");
        check_dashboard(&dashboard).expect("invariants hold");
    }
}

#[test]
fn pathological_shapes_do_not_panic() {
    let deep = format!(
        "{}{}",
        r#"<div class="panel"><div class="panel-heading">About X</div><div class="panel-body"><div class="row"></div><div class="row">"#,
        "<span>".repeat(50_000)
    );
    parse_both(&deep).expect("invariants hold");
    let many_rows = format!(
        r#"<table class="track_list"><tbody>{}</tbody></table>"#,
        r#"<tr class="clickable-row" data-href="//dup.liverc.com/live/"><td></td><td><a href="//dup.liverc.com/"><strong>D</strong></a></td></tr>"#
            .repeat(5_000)
    );
    let catalogue = parse_catalogue(&many_rows, fetched_at()).expect("first row parses");
    assert_eq!(catalogue.entries.len(), 1);
    assert_eq!(catalogue.skipped.len(), 4_999);
    assert!(
        catalogue
            .skipped
            .iter()
            .all(|row| row.reason == "duplicate of row 0 (slug \"dup\")")
    );
}
