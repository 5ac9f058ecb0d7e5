//! Conformance of the pure parsers with the real LiveRC captures in
//! `/work/shared/liverc/pages/` (read in place, never copied) and with the
//! crate's own synthetic fixtures in `tests/fixtures/`.
//!
//! The expected values come from the shared README's table and from reading
//! the pages themselves; counts that the test can derive from the raw HTML
//! independently of the parser are derived that way.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use liverc::{
    Catalogue, CatalogueEntry, Dashboard, PageKind, TrackStatus, parse_catalogue, parse_dashboard,
};

fn shared_page(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/liverc/pages")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 6, 12, 0, 0)
        .single()
        .expect("valid fixed time")
}

fn dashboard(name: &str) -> Dashboard {
    parse_dashboard(&shared_page(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn catalogue() -> Catalogue {
    parse_catalogue(&shared_page("track_catalogue.html"), fetched_at())
        .expect("real catalogue parses")
}

fn entry<'a>(catalogue: &'a Catalogue, slug: &str) -> &'a CatalogueEntry {
    catalogue
        .entries
        .iter()
        .find(|entry| entry.slug == slug)
        .unwrap_or_else(|| panic!("no entry {slug}"))
}

fn s(value: &str) -> Option<String> {
    Some(value.to_owned())
}

mod dashboards {
    use super::*;

    #[test]
    fn thunderalley_every_listed_value() {
        let d = dashboard("dashboard_thunderalley.html");
        assert_eq!(d.name, s("Thunder Alley RC Speedway"));
        assert_eq!(d.street, s("5320 US 301"));
        assert_eq!(d.city, s("Lucama"));
        assert_eq!(d.state, s("NC"));
        assert_eq!(d.postal_code, s("27851"));
        assert_eq!(d.country, s("United States"));
        assert_eq!(d.country_code, s("US"));
        assert_eq!(d.phone, s("+1 252-291-4088"));
        assert_eq!(d.website, s("http://www.thunder-alley.com/"));
        assert_eq!(d.email, s("worldofrcparts@aol.com"));
        let description = d.description.as_deref().expect("description");
        assert!(
            description.starts_with("Two (2) Indoor Tracks:\n1/10 Dirt Oval indoors.\n"),
            "{description}"
        );
        assert!(description.ends_with("\nWi-Fi available."), "{description}");
        // Source line breaks inside a sentence are not paragraph breaks.
        assert!(description.contains(
            "48' covered drivers stand and power outlets available throughout track parking areas.\n"
        ));
        assert_eq!(description.lines().count(), 8);
        let logo = d.logo_url.as_deref().expect("logo");
        assert!(
            logo.starts_with("https://assets.livetimescoring.com/track_logos/"),
            "{logo}"
        );
        assert_eq!(d.facebook_url, s("http://www.facebook.com/worldofrcparts/"));
        assert_eq!(d.map_query, s("5320 US 301,Lucama,NC 27851,US"));
        assert_eq!(d.total_laps, Some(6_753_663));
        assert_eq!(d.total_practice_sessions, Some(115_168));
        assert_eq!(d.total_races, Some(20_959));
        assert_eq!(d.total_entries, Some(34_957));
        assert_eq!(d.total_events, Some(898));
        assert_eq!(d.racing_now, Some(true));
        assert_eq!(d.month_results, Some(262));
        assert_eq!(d.month_sessions, Some(2_149));
        assert_eq!(d.month_videos, Some(242));
    }

    #[test]
    fn bbrcc_every_listed_value() {
        let d = dashboard("dashboard_bbrcc.html");
        assert_eq!(d.name, s("BBRCC Off-Road"));
        assert!(
            d.street
                .as_deref()
                .is_some_and(|street| street.contains("Hanging Rock Complex"))
        );
        assert_eq!(d.street, s("Hanging Rock Complex"));
        assert_eq!(d.city, s("Batemans Bay"));
        assert_eq!(d.state, None);
        assert_eq!(d.postal_code, s("A2536"));
        assert_eq!(d.country, s("Australia"));
        assert_eq!(d.country_code, s("AU"));
        assert_eq!(d.phone, s("+61 403 594 396"));
        assert!(
            d.website
                .as_deref()
                .is_some_and(|site| site.contains("bayrc.com.au"))
        );
        assert_eq!(d.email, s("batemansbayrc@gmail.com"));
        assert_eq!(d.description, None);
        assert!(
            d.logo_url
                .as_deref()
                .is_some_and(|logo| logo.contains("/track_logos/1956/"))
        );
        assert_eq!(
            d.facebook_url,
            s("https://www.facebook.com/groups/113916535392934/")
        );
        assert_eq!(d.total_laps, Some(98_387));
        assert_eq!(d.total_practice_sessions, Some(4_115));
        assert_eq!(d.total_races, Some(937));
        assert_eq!(d.total_entries, Some(1_598));
        assert_eq!(d.total_events, Some(54));
        assert_eq!(d.racing_now, Some(false));
        assert_eq!(
            (d.month_results, d.month_sessions, d.month_videos),
            (Some(0), Some(43), Some(0))
        );
    }

    #[test]
    fn canberraoffroad_raw_capture_every_listed_value() {
        let d = dashboard("dashboard_canberraoffroad_raw.html");
        assert_eq!(d.name, s("Canberra Off Road Model Car Club"));
        assert_eq!(d.street, s("Kyeema Street"));
        assert_eq!(d.city, s("Narrabundah"));
        assert_eq!(d.state, None);
        assert_eq!(d.postal_code, s("02604"));
        assert_eq!(d.country, s("Australia"));
        assert_eq!(d.country_code, s("AU"));
        assert_eq!(d.phone, None, "the page prints N/A");
        assert_eq!(d.website, s("http://www.cormcc.org"));
        assert_eq!(d.email, s("info@cormcc.org"));
        assert_eq!(d.description, None);
        assert_eq!(d.logo_url, None);
        assert_eq!(d.facebook_url, None);
        assert_eq!(d.map_query, s("Kyeema Street,Narrabundah, 02604,AU"));
        assert_eq!(d.total_laps, Some(230_327));
        assert_eq!(d.total_practice_sessions, Some(8_405));
        assert_eq!(d.total_races, Some(1_894));
        assert_eq!(d.total_entries, Some(3_132));
        assert_eq!(d.total_events, Some(102));
        assert_eq!(d.racing_now, Some(false));
        assert_eq!(
            (d.month_results, d.month_sessions, d.month_videos),
            (Some(30), Some(1), Some(0))
        );
    }

    #[test]
    fn the_catalogue_is_not_a_dashboard() {
        let error =
            parse_dashboard(&shared_page("track_catalogue.html")).expect_err("not a dashboard");
        assert_eq!(error.page, PageKind::Dashboard);
    }

    #[test]
    fn synthetic_uk_dashboard_without_stats() {
        let d = parse_dashboard(&fixture("dashboard_uk_partial.html"))
            .expect("About panel alone parses");
        assert_eq!(d.name, s("Shire Raceway"));
        assert_eq!(d.street, s("Unit 7, Hollow Farm"));
        assert_eq!(d.city, s("Little Snoring"));
        assert_eq!(d.state, s("Norfolk"));
        assert_eq!(d.postal_code, s("NR21 0AA"));
        assert_eq!(d.country, s("United Kingdom"));
        assert_eq!(d.country_code, s("GB"));
        assert_eq!(d.phone, s("01328 000000"));
        assert_eq!(d.website, s("https://www.shire-raceway.example.co.uk/"));
        assert_eq!(d.email, s("racing@shire-raceway.example.co.uk"));
        assert_eq!(
            d.description,
            s("Outdoor 1/8 off-road.\nClub nights: Wednesdays & Sundays.")
        );
        assert_eq!(
            d.logo_url,
            s("https://assets.livetimescoring.com/track_logos/9/shire.png")
        );
        assert_eq!(d.facebook_url, None);
        assert_eq!(d.map_query, None);
        assert_eq!(
            (
                d.total_laps,
                d.total_practice_sessions,
                d.total_races,
                d.total_entries,
                d.total_events
            ),
            (None, None, None, None, None)
        );
        assert_eq!((d.racing_now, d.month_results), (None, None));
    }
}

mod catalogue_page {
    use super::*;

    /// Rows counted straight from the HTML, independently of the parser.
    fn raw_row_count(html: &str) -> usize {
        html.matches("class=\"clickable-row\"").count()
    }

    #[test]
    fn every_row_is_an_entry_or_a_skipped_row() {
        let html = shared_page("track_catalogue.html");
        assert_eq!(raw_row_count(&html), 1_090);
        let catalogue = parse_catalogue(&html, fetched_at()).expect("parses");
        assert_eq!(catalogue.fetched_at, fetched_at());
        assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), 1_090);
        // The real page holds no unusable row.
        assert!(catalogue.skipped.is_empty(), "{:?}", catalogue.skipped);
        for skipped in &catalogue.skipped {
            assert!(!skipped.reason.is_empty());
        }
    }

    #[test]
    fn slugs_are_unique_lowercase_dns_labels_and_urls_follow() {
        let catalogue = catalogue();
        let mut seen = HashSet::new();
        for entry in &catalogue.entries {
            assert!(seen.insert(entry.slug.as_str()), "duplicate {}", entry.slug);
            assert_eq!(entry.slug, entry.slug.to_lowercase());
            assert!(
                liverc::parse::slug::is_valid_dns_label(&entry.slug),
                "{}",
                entry.slug
            );
            assert!(
                !liverc::parse::slug::is_infrastructure_label(&entry.slug),
                "{}",
                entry.slug
            );
            assert_eq!(
                entry.track_url,
                format!("https://{}.liverc.com/", entry.slug)
            );
            let expected_events = if entry.is_live { "live/" } else { "results/" };
            assert_eq!(
                entry.events_url,
                format!("{}{expected_events}", entry.track_url)
            );
            assert!(!entry.name.is_empty());
            assert_eq!(entry.name.trim(), entry.name);
        }
    }

    #[test]
    fn mixed_case_slug_is_lowercased() {
        let catalogue = catalogue();
        let entry = entry(&catalogue, "fastandfuntoyandhobby");
        assert_eq!(entry.name, "Fast and Fun Toy and Hobby");
        assert_eq!(entry.track_url, "https://fastandfuntoyandhobby.liverc.com/");
        assert_eq!(
            entry.events_url,
            "https://fastandfuntoyandhobby.liverc.com/results/"
        );
        assert_eq!(entry.last_updated_text.as_deref(), Some("Yesterday"));
        assert_eq!(
            entry.last_updated_at,
            Some(fetched_at() - TimeDelta::days(1))
        );
        assert_eq!(entry.current_event.as_deref(), Some("2025-12-4"));
        assert!(!catalogue.entries.iter().any(|e| e.slug.contains('F')));
    }

    #[test]
    fn live_rows_match_the_page() {
        let html = shared_page("track_catalogue.html");
        // Independent count: rows whose data-href ends in /live/.
        let raw_live = html.matches("liverc.com/live/\"").count();
        assert_eq!(raw_live, 126);
        let catalogue = parse_catalogue(&html, fetched_at()).expect("parses");
        assert_eq!(catalogue.entries.iter().filter(|e| e.is_live).count(), 126);
    }

    #[test]
    fn icon_and_text_totals() {
        let catalogue = catalogue();
        let count =
            |f: &dyn Fn(&CatalogueEntry) -> bool| catalogue.entries.iter().filter(|e| f(e)).count();
        assert_eq!(count(&|e| e.status == TrackStatus::Idle), 964);
        assert_eq!(count(&|e| e.status == TrackStatus::Practicing), 107);
        assert_eq!(count(&|e| e.status == TrackStatus::Racing), 19);
        assert_eq!(count(&|e| e.status == TrackStatus::Unknown), 0);
        assert_eq!(count(&|e| e.live_video), 34);
        assert_eq!(count(&|e| e.featured), 10);
        assert_eq!(count(&|e| e.current_event.is_none()), 41);
        // Every relative text on the real page is understood.
        assert_eq!(count(&|e| e.last_updated_text.is_none()), 0);
        let not_understood: Vec<&str> = catalogue
            .entries
            .iter()
            .filter(|e| e.last_updated_at.is_none())
            .filter_map(|e| e.last_updated_text.as_deref())
            .collect();
        assert!(not_understood.is_empty(), "{not_understood:?}");
        assert!(
            catalogue
                .entries
                .iter()
                .all(|e| e.last_updated_at <= Some(fetched_at()))
        );
    }

    /// The legend names the icons; the parsed counts agree with an
    /// independent count of the icon classes in the raw HTML (the legend
    /// carries one `status_1` and one `status_2` but no `status_0`).
    #[test]
    fn status_icons_follow_the_legend() {
        let html = shared_page("track_catalogue.html");
        let legend_item = |class: &str| {
            let at = html
                .find(&format!("fa-fw {class}\"></i>"))
                .unwrap_or_else(|| panic!("no {class} icon"));
            let rest = &html[at..];
            let end = rest.find("</li>").expect("legend item ends");
            rest[..end].to_owned()
        };
        assert!(legend_item("status_2").ends_with("Racing in Progress"));
        assert!(legend_item("status_1").ends_with("Open Practicing"));
        assert!(html.contains("fa-power-off fa-fw\"></i> No Track Activity"));

        let raw = |class: &str| html.matches(&format!("fa-fw {class}\"")).count();
        assert_eq!(
            (raw("status_0"), raw("status_1"), raw("status_2")),
            (964, 108, 20)
        );
        let catalogue = parse_catalogue(&html, fetched_at()).expect("parses");
        let count = |status: TrackStatus| {
            catalogue
                .entries
                .iter()
                .filter(|e| e.status == status)
                .count()
        };
        // Every icon but the legend's is a track row's.
        assert_eq!(count(TrackStatus::Idle), raw("status_0"));
        assert_eq!(count(TrackStatus::Practicing), raw("status_1") - 1);
        assert_eq!(count(TrackStatus::Racing), raw("status_2") - 1);
        // Only rows linking to /live/ show activity.
        assert!(
            catalogue
                .entries
                .iter()
                .filter(|e| e.status != TrackStatus::Idle)
                .all(|e| e.is_live)
        );
    }

    #[test]
    fn spot_checks() {
        let catalogue = catalogue();
        let first = catalogue.entries.first().expect("entries");
        assert_eq!(
            first,
            &CatalogueEntry {
                slug: "raceplacerc".to_owned(),
                name: "Race Place RC".to_owned(),
                track_url: "https://raceplacerc.liverc.com/".to_owned(),
                events_url: "https://raceplacerc.liverc.com/live/".to_owned(),
                last_updated_text: s("1 minute ago"),
                last_updated_at: Some(fetched_at() - TimeDelta::minutes(1)),
                is_live: true,
                live_video: true,
                status: TrackStatus::Racing,
                featured: false,
                current_event: s("Winter Race Series #1"),
            }
        );

        let last = catalogue.entries.last().expect("entries");
        assert_eq!(last.slug, "rydercsydney");
        assert_eq!(last.name, "Sydney Rc Off Road Car Club");
        assert_eq!(last.last_updated_text.as_deref(), Some("last year"));
        assert_eq!(
            last.last_updated_at,
            Some(fetched_at() - TimeDelta::days(365))
        );
        assert!(last.featured);
        assert_eq!(last.status, TrackStatus::Idle);
        assert_eq!(
            last.current_event.as_deref(),
            Some("2024 Campbelltown Hobbies Ryde Cup Chilly Bowl")
        );

        let elite = entry(&catalogue, "elite");
        assert_eq!(
            elite.name,
            "2025 NitroPro Fall Brawl presented by Bumpmaster"
        );
        assert!(elite.is_live && elite.live_video);

        let pyc = entry(&catalogue, "pyc");
        assert_eq!(pyc.name, "PYC Race Track");
        assert!(pyc.is_live);
        assert!(!pyc.live_video);
        assert_eq!(pyc.current_event.as_deref(), Some("Mod Final"));

        // "&" is decoded and the multi-line <small> collapsed.
        let dbc = entry(&catalogue, "dbcmotorsports");
        assert_eq!(
            dbc.current_event.as_deref(),
            Some("Freaky Friday Fall Oval & F8 Points")
        );

        let bayrc = entry(&catalogue, "bayrc");
        assert_eq!(bayrc.track_url, "https://bayrc.liverc.com/");
        let canberra = entry(&catalogue, "canberraoffroad");
        assert_eq!(canberra.track_url, "https://canberraoffroad.liverc.com/");
        assert!(catalogue.entries.iter().any(|e| e.slug == "thunderalley"));
        // A slug that starts with a digit is a valid label.
        assert!(catalogue.entries.iter().any(|e| e.slug == "417raceplace"));
    }

    #[test]
    fn synthetic_edge_cases() {
        let catalogue =
            parse_catalogue(&fixture("catalogue_edge_cases.html"), fetched_at()).expect("parses");
        assert_eq!(catalogue.entries.len() + catalogue.skipped.len(), 9);
        let slugs: Vec<&str> = catalogue.entries.iter().map(|e| e.slug.as_str()).collect();
        assert_eq!(slugs, ["speedway", "mixedcase", "oldtrack"]);

        let speedway = entry(&catalogue, "speedway");
        assert_eq!(speedway.name, "Speedway & Sons");
        assert_eq!(speedway.events_url, "https://speedway.liverc.com/live/");
        assert!(speedway.is_live && speedway.live_video && speedway.featured);
        assert_eq!(speedway.status, TrackStatus::Racing);
        assert_eq!(speedway.last_updated_at, Some(fetched_at()));
        assert_eq!(speedway.current_event.as_deref(), Some("Night Race #3"));

        let mixed = entry(&catalogue, "mixedcase");
        assert_eq!(mixed.status, TrackStatus::Practicing);
        assert_eq!(
            mixed.last_updated_at,
            Some(fetched_at() - TimeDelta::hours(1))
        );
        assert_eq!(mixed.current_event, None);

        let old = entry(&catalogue, "oldtrack");
        assert_eq!(old.last_updated_text.as_deref(), Some("a long time ago"));
        assert_eq!(old.last_updated_at, None);

        let skipped: Vec<(usize, &str)> = catalogue
            .skipped
            .iter()
            .map(|row| (row.row_index, row.reason.as_str()))
            .collect();
        let expect_reason = |index: usize, needle: &str| {
            let reason = skipped
                .iter()
                .find(|(row, _)| *row == index)
                .map(|(_, reason)| *reason)
                .unwrap_or_else(|| panic!("row {index} not skipped: {skipped:?}"));
            assert!(reason.contains(needle), "row {index}: {reason}");
        };
        expect_reason(2, "site-infrastructure");
        expect_reason(3, "not under liverc.com");
        expect_reason(4, "duplicate of row 1");
        expect_reason(5, "more labels than slug.liverc.com");
        expect_reason(6, "no track name");
        expect_reason(7, "not a valid DNS label");
        assert_eq!(skipped.len(), 6);
        assert!(catalogue.skipped.iter().all(|row| row.href.is_some()));
    }

    #[test]
    fn dashboards_are_not_catalogues() {
        for page in ["dashboard_thunderalley.html", "dashboard_bbrcc.html"] {
            let error =
                parse_catalogue(&shared_page(page), fetched_at()).expect_err("not a catalogue");
            assert_eq!(error.page, PageKind::Catalogue);
        }
    }

    /// The catalogue parses in linear time; run with `--nocapture` to see the figure.
    #[test]
    #[expect(
        clippy::print_stdout,
        reason = "reports the measured time under --nocapture"
    )]
    fn parse_time_of_the_real_catalogue() {
        let html = shared_page("track_catalogue.html");
        let start = Instant::now();
        let parsed = parse_catalogue(&html, fetched_at()).expect("parses");
        let elapsed = start.elapsed();
        println!(
            "parse_catalogue: {} bytes, {} rows in {elapsed:?}",
            html.len(),
            parsed.entries.len() + parsed.skipped.len()
        );
        // A gross guard against quadratic work, loose enough for a debug build.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }
}
