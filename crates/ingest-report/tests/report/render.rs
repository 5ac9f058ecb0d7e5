//! Snapshots of whole reports, and a structural check of each with a
//! CommonMark + GFM parser: no HTML, no table row with the wrong number of
//! cells, hostile text shown as text.

use ingest_core::RunReport;
use ingest_report::render_markdown;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::fixtures;

#[test]
fn full_report() {
    insta::assert_snapshot!("full", render_markdown(&fixtures::full()));
}

#[test]
fn first_run() {
    insta::assert_snapshot!("first_run", render_markdown(&fixtures::first_run()));
}

#[test]
fn guard_refusal() {
    let md = render_markdown(&fixtures::guard_refused());
    assert!(md.contains(
        "would deactivate 312 of 1,090 active tracks (28.6%), above the 10% limit: \
         nothing deactivated; run again with --force if the catalogue really shrank."
    ));
    insta::assert_snapshot!("guard_refused", md);
}

#[test]
fn drift_held() {
    let md = render_markdown(&fixtures::drift_held());
    let drift = md
        .find("## Markup drift suspected: fields held")
        .expect("drift section");
    let status = md.find("## Status").expect("status");
    assert!(drift < status, "the drift section opens the report");
    assert!(md.contains("**Drift suspected.** `street`, `phone` vanished"));
    insta::assert_snapshot!("drift_held", md);
}

#[test]
fn format_error() {
    insta::assert_snapshot!("format_error", render_markdown(&fixtures::format_error()));
}

#[test]
fn hostile_names() {
    insta::assert_snapshot!("hostile", render_markdown(&fixtures::hostile()));
}

#[test]
fn rendering_is_deterministic() {
    let r = fixtures::full();
    assert_eq!(render_markdown(&r), render_markdown(&r.clone()));
}

#[test]
fn empty_sections_say_none() {
    let md = render_markdown(&fixtures::first_run());
    for section in [
        "Updated tracks",
        "Deactivated tracks",
        "Reactivated tracks",
        "Metadata errors",
        "Validation anomalies",
        "Skipped catalogue rows",
    ] {
        assert!(
            md.contains(&format!("## {section}\n\nNone.\n")),
            "{section} should say None.:\n{md}"
        );
    }
}

/// What a CommonMark + GFM parser makes of a report.
#[derive(Debug, Default)]
struct Parsed {
    html: Vec<String>,
    headings: Vec<String>,
    /// Cells per row, per table (header row included).
    table_shapes: Vec<Vec<usize>>,
    text: String,
    links: Vec<String>,
}

fn parse(markdown: &str) -> Parsed {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM;
    let mut p = Parsed::default();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => p.html.push(h.to_string()),
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                p.headings.extend(heading.take());
                p.text.push(' ');
            }
            Event::Start(Tag::Table(_)) => p.table_shapes.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                if let Some(t) = p.table_shapes.last_mut() {
                    t.push(0);
                }
            }
            Event::Start(Tag::TableCell) => {
                if let Some(n) = p.table_shapes.last_mut().and_then(|t| t.last_mut()) {
                    *n += 1;
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                p.links.push(dest_url.to_string());
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
                p.text.push_str(&t);
            }
            Event::End(_) => p.text.push(' '),
            _ => {}
        }
    }
    p
}

fn all_fixtures() -> Vec<(&'static str, RunReport)> {
    vec![
        ("full", fixtures::full()),
        ("first_run", fixtures::first_run()),
        ("guard_refused", fixtures::guard_refused()),
        ("format_error", fixtures::format_error()),
        ("hostile", fixtures::hostile()),
        ("drift_held", fixtures::drift_held()),
    ]
}

#[test]
fn every_report_parses_into_the_expected_structure() {
    let expected_headings = [
        "Status",
        "Summary",
        "Stage timings",
        "New tracks",
        "Updated tracks",
        "Deactivated tracks",
        "Missing, pending deactivation",
        "Reactivated tracks",
        "Metadata errors",
        "Validation anomalies",
        "Skipped catalogue rows",
        "Completeness of active tracks",
    ];
    for (name, report) in all_fixtures() {
        let md = render_markdown(&report);
        let parsed = parse(&md);
        assert!(parsed.html.is_empty(), "{name}: HTML {:?}", parsed.html);
        assert!(parsed.links.is_empty(), "{name}: links {:?}", parsed.links);
        let mut expected: Vec<&str> = expected_headings.to_vec();
        if name == "drift_held" {
            expected.insert(0, "Markup drift suspected: fields held");
        }
        assert_eq!(parsed.headings.len(), 1 + expected.len(), "{name}");
        assert!(parsed.headings[0].starts_with("Track sync report — run 0192f1c3"));
        assert_eq!(&parsed.headings[1..], expected, "{name}");
        for table in &parsed.table_shapes {
            let columns = table.first().copied().unwrap_or_default();
            assert!(columns >= 2, "{name}: {table:?}");
            assert!(
                table.iter().all(|&n| n == columns),
                "{name}: a row has the wrong number of cells: {table:?}"
            );
        }
    }
}

#[test]
fn hostile_text_is_shown_verbatim() {
    let parsed = parse(&render_markdown(&fixtures::hostile()));
    for shown in [
        "| pipes | in | name |",
        "<script>alert(1)</script>",
        "**bold**",
        "[click me](javascript:alert(1)) ![img](x)",
        "Back`tick``s ```Raceway",
        "# Not a heading - not a list > not a quote",
        "Tom &amp; Jerry's &lt;Track&gt;",
        "<img src=x onerror=alert(1)>",
        "unexpected </td> | forged | row | 1 | x | <script>alert(1)</script>",
        "evilgpj.exe ~~gone~~ $x$",
        "line break  city",
    ] {
        assert!(
            parsed.text.contains(shown),
            "{shown:?} not shown as text in:\n{}",
            parsed.text
        );
    }
}

#[test]
fn long_sections_are_capped_and_counted() {
    let mut report = fixtures::first_run();
    let template = report.new_tracks[0].clone();
    report.new_tracks = (0..1_234)
        .map(|i| ingest_core::NewTrackEntry {
            slug: format!("track{i:05}"),
            ..template.clone()
        })
        .collect();
    report.counts.new = 1_234;
    let md = render_markdown(&report);
    assert!(md.contains("`track00999`"));
    assert!(
        !md.contains("`track01000`"),
        "entries past the cap are not listed"
    );
    assert!(md.contains("… and 234 more, not listed"));
}

#[test]
fn a_list_the_run_capped_is_completed_from_the_counts() {
    let mut report = fixtures::first_run();
    report.counts.new = report.new_tracks.len() as u64 + 5_000;
    let md = render_markdown(&report);
    assert!(md.contains("… and 5,000 more, not listed"));
}
