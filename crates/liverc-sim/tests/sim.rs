//! Integration tests of the simulated LiveRC site: generation, serving over
//! HTTP, the real `liverc` parsers and client against it, and the binary.

use std::net::SocketAddr;
use std::time::Duration;

use liverc_sim::{RunningSim, SimConfig, Simulator};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn config(tracks: usize) -> SimConfig {
    SimConfig {
        tracks,
        seed: 42,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> RunningSim {
    Simulator::start(config, loopback())
        .await
        .expect("simulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client")
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("response")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

mod generation {
    use std::collections::{BTreeSet, HashSet};
    use std::time::Instant;

    use liverc_sim::{
        AddressKind, FacebookStyle, HrefStyle, MarkupStyle, SimConfig, SiteHandle, StatusIcon,
    };

    use super::config;

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let a = SiteHandle::new(&config(1_090));
        let b = SiteHandle::new(&config(1_090));
        assert_eq!(a.tracks(), b.tracks());
        assert_eq!(a.render_catalogue().body, b.render_catalogue().body);
        let slug = a.slugs()[100].clone();
        let (page_a, page_b) = (
            a.render_dashboard(&slug).expect("a dashboard"),
            b.render_dashboard(&slug).expect("a dashboard"),
        );
        assert_eq!(page_a.body, page_b.body);
        assert_eq!(page_a.etag, page_b.etag);
        // Last-Modified is dated back from the moment each site was made, so
        // two sites made in different seconds may differ by that one second.
        let apart = page_a
            .last_modified
            .duration_since(page_b.last_modified)
            .or_else(|_| page_b.last_modified.duration_since(page_a.last_modified))
            .expect("comparable times");
        assert!(apart <= std::time::Duration::from_secs(1), "{apart:?}");

        let other = SiteHandle::new(&SimConfig {
            seed: 43,
            ..config(1_090)
        });
        let names_a: Vec<String> = a.tracks().into_iter().map(|t| t.name).collect();
        let names_b: Vec<String> = other.tracks().into_iter().map(|t| t.name).collect();
        assert_ne!(names_a, names_b);
    }

    #[test]
    fn default_site_has_1090_unique_dns_label_slugs_one_mixed_case() {
        assert_eq!(SimConfig::default().tracks, 1_090);
        let site = SiteHandle::new(&SimConfig::default());
        let slugs = site.slugs();
        assert_eq!(slugs.len(), 1_090);
        let lower: HashSet<String> = slugs.iter().map(|s| s.to_ascii_lowercase()).collect();
        assert_eq!(lower.len(), 1_090, "slugs are unique ignoring case");
        for slug in &slugs {
            assert!(
                !slug.is_empty()
                    && slug.len() <= 63
                    && slug.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{slug:?} is not a DNS label"
            );
            assert!(!["www", "live", "forum", "help", "blog"].contains(&slug.as_str()));
        }
        let mixed: Vec<&String> = slugs
            .iter()
            .filter(|s| s.to_ascii_lowercase() != **s)
            .collect();
        assert_eq!(mixed.len(), 1, "exactly one mixed-case slug: {mixed:?}");
    }

    #[test]
    fn every_kind_of_address_and_every_gap_appears() {
        let tracks = SiteHandle::new(&SimConfig::default()).tracks();
        let kinds: BTreeSet<AddressKind> = tracks.iter().map(|t| t.address_kind).collect();
        assert_eq!(kinds, AddressKind::ALL.into_iter().collect());
        let countries: BTreeSet<&str> = tracks
            .iter()
            .filter_map(|t| t.country_code.as_deref())
            .collect();
        for code in ["US", "AU", "GB", "CA", "NZ", "DE", "FR", "ZA", "MX"] {
            assert!(
                countries.contains(code),
                "no track in {code}: {countries:?}"
            );
        }
        let count =
            |f: &dyn Fn(&liverc_sim::TrackRecord) -> bool| tracks.iter().filter(|t| f(t)).count();
        let gaps = [
            ("no street", count(&|t| t.street.is_none())),
            ("no city line", count(&|t| t.city_line().is_none())),
            ("no country", count(&|t| t.country.is_none())),
            ("no phone", count(&|t| t.phone.is_none())),
            ("no website", count(&|t| t.website.is_none())),
            ("e-mail N/A", count(&|t| t.email.is_none() && t.email_line)),
            (
                "no e-mail line",
                count(&|t| t.email.is_none() && !t.email_line),
            ),
            ("no description", count(&|t| t.description.is_none())),
            ("description", count(&|t| t.description.is_some())),
            ("no logo", count(&|t| t.logo_url.is_none())),
            ("no map", count(&|t| t.map_query().is_none())),
            ("no facebook", count(&|t| t.facebook_url.is_none())),
            (
                "facebook feed",
                count(&|t| t.facebook_url.is_some() && t.facebook_style == FacebookStyle::Feed),
            ),
            (
                "facebook page",
                count(&|t| t.facebook_url.is_some() && t.facebook_style == FacebookStyle::Page),
            ),
            ("raw markup", count(&|t| t.markup == MarkupStyle::Raw)),
            ("pretty markup", count(&|t| t.markup == MarkupStyle::Pretty)),
            (
                "pretty row",
                count(&|t| t.listing.markup == MarkupStyle::Pretty),
            ),
            (
                "https href",
                count(&|t| t.listing.href_style == HrefStyle::Https),
            ),
            ("ampersand", count(&|t| t.name.contains('&'))),
            ("apostrophe", count(&|t| t.name.contains('\''))),
            ("non-ASCII name", count(&|t| !t.name.is_ascii())),
            ("featured", count(&|t| t.listing.featured)),
            ("live video", count(&|t| t.listing.live_video)),
            (
                "practice",
                count(&|t| t.listing.status == StatusIcon::Practicing),
            ),
            ("racing", count(&|t| t.listing.status == StatusIcon::Racing)),
            ("no event", count(&|t| t.listing.current_event.is_none())),
            ("zero stats", count(&|t| t.stats.laps == 0)),
        ];
        for (what, n) in gaps {
            assert!(n > 0, "no track with {what}");
        }
        let live = count(&|t| t.listing.live);
        assert!((80..=170).contains(&live), "{live} live rows of 1,090");
        let texts: BTreeSet<&str> = tracks
            .iter()
            .map(|t| t.listing.last_updated_text.as_str())
            .collect();
        for text in [
            "1 minute ago",
            "Yesterday",
            "last week",
            "last month",
            "last year",
        ] {
            assert!(texts.contains(text), "no {text:?}");
        }
        for suffix in ["hours ago", "days ago", "weeks ago", "months ago"] {
            assert!(texts.iter().any(|t| t.ends_with(suffix)), "no {suffix:?}");
        }
    }

    #[test]
    fn a_small_site_still_shows_every_address_kind() {
        let tracks = SiteHandle::new(&config(13)).tracks();
        let kinds: BTreeSet<AddressKind> = tracks.iter().map(|t| t.address_kind).collect();
        assert_eq!(kinds, AddressKind::ALL.into_iter().collect());
    }

    #[test]
    fn generating_100k_tracks_is_fast_and_lean() {
        let started = Instant::now();
        let site = SiteHandle::new(&config(100_000));
        let took = started.elapsed();
        assert_eq!(site.len(), 100_000);
        // A gross guard against super-linear work, not a benchmark: an
        // unoptimised build alone takes about 3 s, but the tests share two
        // cores with each other (and with other builds), so the bound leaves
        // room; quadratic slug registration would take minutes. A release
        // build takes about half a second (see the README).
        assert!(took.as_secs_f64() < 20.0, "took {took:?}");
        let slug = site.slugs()[99_999].clone();
        assert!(site.render_dashboard(&slug).is_some());
    }
}

mod serving {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use futures::future::join_all;
    use liverc_sim::{Fault, FaultConfig, RetryAfter, SimConfig, SimStats, TrackPatch};

    use super::{config, get, header, http, start};

    #[tokio::test]
    async fn catalogue_and_dashboards_over_http() {
        let sim = start(config(60)).await;
        let client = http();
        let response = get(&client, &sim.catalogue_url()).await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "content-type").is_some_and(|v| v.starts_with("text/html")));
        assert!(header(&response, "etag").is_some());
        assert!(header(&response, "last-modified").is_some());
        let body = response.text().await.expect("body");
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 60 + 3);
        let site = sim.site();
        for slug in site.slugs() {
            assert!(body.contains(&format!("//{slug}.liverc.com/\"")), "{slug}");
        }
        for track in site.tracks().iter().take(15) {
            let response = get(&client, &sim.track_url(&track.slug)).await;
            assert_eq!(response.status(), 200);
            let body = response.text().await.expect("body");
            let escaped = track.name.replace('&', "&amp;").replace('\'', "&#39;");
            assert!(
                body.contains(&format!("<strong>{escaped}</strong>")),
                "{}",
                track.name
            );
        }
        // Slugs are case-insensitive, like DNS.
        let slug = site.slugs()[0].clone();
        let lower = get(&client, &sim.track_url(&slug.to_ascii_lowercase())).await;
        let upper = get(&client, &sim.track_url(&slug.to_ascii_uppercase())).await;
        assert_eq!(header(&lower, "etag"), header(&upper, "etag"));
        assert_eq!(
            get(&client, &sim.track_url("no-such-track")).await.status(),
            404
        );
        assert_eq!(
            get(&client, &format!("{}/elsewhere", sim.base_url()))
                .await
                .status(),
            404
        );
        let post = client
            .post(sim.catalogue_url())
            .send()
            .await
            .expect("response");
        assert_eq!(post.status(), 405);

        let stats = sim.stats();
        assert_eq!(stats.catalogue.total, 2);
        assert_eq!(stats.catalogue.status(200), 1);
        assert_eq!(stats.catalogue.status(405), 1);
        assert_eq!(stats.dashboard.total, 15 + 3);
        assert_eq!(stats.dashboard.status(200), 17);
        assert_eq!(stats.dashboard.status(404), 1);
        assert_eq!(stats.other.status(404), 1);
        assert_eq!(stats.total, 2 + 18 + 1);
        assert_eq!(stats.in_flight, 0);
        sim.shutdown().await.expect("clean shutdown");
    }

    #[tokio::test]
    async fn removed_tracks_404_and_leave_the_catalogue() {
        let sim = start(config(30)).await;
        let client = http();
        let site = sim.site();
        let gone = site.slugs()[4].clone();
        assert_eq!(get(&client, &sim.track_url(&gone)).await.status(), 200);
        let log = site.remove(&gone).expect("remove");
        assert_eq!(log.removed, vec![gone.to_ascii_lowercase()]);
        assert_eq!(get(&client, &sim.track_url(&gone)).await.status(), 404);
        let body = get(&client, &sim.catalogue_url())
            .await
            .text()
            .await
            .expect("body");
        assert!(!body.contains(&format!("//{gone}.liverc.com/")));
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 29 + 3);
    }

    #[tokio::test]
    async fn conditional_requests_get_304_without_a_body() {
        let sim = start(config(20)).await;
        let client = http();
        let url = sim.track_url(&sim.site().slugs()[3]);
        let first = get(&client, &url).await;
        let etag = header(&first, "etag").expect("etag");
        let last_modified = header(&first, "last-modified").expect("last-modified");
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "strong: {etag}"
        );

        let by_etag = client
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("response");
        assert_eq!(by_etag.status(), 304);
        assert_eq!(header(&by_etag, "etag").as_deref(), Some(etag.as_str()));
        assert!(by_etag.bytes().await.expect("body").is_empty());

        let by_date = client
            .get(&url)
            .header("If-Modified-Since", &last_modified)
            .send()
            .await
            .expect("response");
        assert_eq!(by_date.status(), 304);
        assert!(by_date.bytes().await.expect("body").is_empty());

        let earlier = httpdate::fmt_http_date(
            httpdate::parse_http_date(&last_modified).expect("date") - Duration::from_secs(1),
        );
        let stale = client
            .get(&url)
            .header("If-Modified-Since", earlier)
            .send()
            .await
            .expect("response");
        assert_eq!(stale.status(), 200);
        let other = client
            .get(&url)
            .header("If-None-Match", "\"something-else\"")
            .header("If-Modified-Since", &last_modified)
            .send()
            .await
            .expect("response");
        assert_eq!(
            other.status(),
            200,
            "If-None-Match wins over If-Modified-Since"
        );

        let catalogue = get(&client, &sim.catalogue_url()).await;
        let catalogue_etag = header(&catalogue, "etag").expect("etag");
        let again = client
            .get(sim.catalogue_url())
            .header("If-None-Match", &catalogue_etag)
            .send()
            .await
            .expect("response");
        assert_eq!(again.status(), 304);
        assert_eq!(sim.stats().dashboard.status(304), 2);
        assert_eq!(sim.stats().catalogue.status(304), 1);
    }

    #[tokio::test]
    async fn a_mutation_moves_only_that_tracks_validators() {
        let sim = start(config(40)).await;
        let client = http();
        let site = sim.site();
        let slugs: Vec<String> = site.slugs().into_iter().take(6).collect();
        let mut before = BTreeMap::new();
        for slug in &slugs {
            let response = get(&client, &sim.track_url(slug)).await;
            before.insert(
                slug.clone(),
                (
                    header(&response, "etag"),
                    header(&response, "last-modified"),
                ),
            );
        }
        let catalogue_etag = header(&get(&client, &sim.catalogue_url()).await, "etag");

        let changed = &slugs[2];
        let log = site
            .update(
                changed,
                &TrackPatch {
                    phone: Some(Some("+1 919-555-0199".to_owned())),
                    total_laps: Some(123_456_789),
                    ..TrackPatch::default()
                },
            )
            .expect("update");
        assert_eq!(log.changed.len(), 2);

        for slug in &slugs {
            let (etag, modified) = &before[slug];
            let response = client
                .get(sim.track_url(slug))
                .header("If-None-Match", etag.clone().expect("etag"))
                .send()
                .await
                .expect("response");
            if slug == changed {
                assert_eq!(response.status(), 200);
                assert_ne!(&header(&response, "etag"), etag);
                let new_modified = header(&response, "last-modified").expect("date");
                let old = httpdate::parse_http_date(modified.as_deref().expect("date"));
                let new = httpdate::parse_http_date(&new_modified);
                assert!(new.expect("date") > old.expect("date"));
                let body = response.text().await.expect("body");
                assert!(body.contains("tel:+1 919-555-0199") && body.contains("123,456,789"));
            } else {
                assert_eq!(response.status(), 304, "{slug} kept its ETag");
            }
        }
        // A dashboard-only change leaves the catalogue alone; a rename does not.
        let response = get(&client, &sim.catalogue_url()).await;
        assert_eq!(header(&response, "etag"), catalogue_etag);
        site.rename(changed, "Renamed & Rebuilt Raceway")
            .expect("rename");
        let response = get(&client, &sim.catalogue_url()).await;
        assert_ne!(header(&response, "etag"), catalogue_etag);
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("<strong>Renamed &amp; Rebuilt Raceway</strong>")
        );
    }

    #[tokio::test]
    async fn robots_txt_default_custom_and_absent() {
        let sim = start(config(5)).await;
        let client = http();
        let robots = format!("{}/robots.txt", sim.base_url());
        let response = get(&client, &robots).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.expect("body"),
            "User-agent: *\nDisallow:\n"
        );
        let custom = "User-agent: *\nCrawl-delay: 2\nDisallow: /t/secret/\n";
        sim.site().set_robots_txt(Some(custom.to_owned()));
        let per_track = format!("{}/t/anything/robots.txt", sim.base_url());
        assert_eq!(
            get(&client, &per_track).await.text().await.expect("body"),
            custom
        );
        sim.site().set_robots_txt(None);
        assert_eq!(get(&client, &robots).await.status(), 404);
        assert_eq!(sim.stats().robots.total, 3);
    }

    #[tokio::test]
    async fn latency_and_jitter_delay_every_response() {
        let sim = start(SimConfig {
            latency: Duration::from_millis(150),
            jitter: Duration::from_millis(40),
            ..config(5)
        })
        .await;
        let client = http();
        for url in [sim.catalogue_url(), sim.track_url(&sim.site().slugs()[0])] {
            let started = Instant::now();
            assert_eq!(get(&client, &url).await.status(), 200);
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(150), "{took:?}");
        }
        sim.site().set_latency(Duration::ZERO, Duration::ZERO);
        let started = Instant::now();
        get(&client, &sim.catalogue_url()).await;
        assert!(started.elapsed() < Duration::from_millis(150));
    }

    #[tokio::test]
    async fn targeted_status_faults_hit_exactly_the_next_requests() {
        let sim = start(config(10)).await;
        let client = http();
        let site = sim.site();
        let slug = site.slugs()[1].to_ascii_lowercase();
        let bystander = site.slugs()[2].clone();
        site.inject(&slug, Fault::InternalServerError, 2);
        site.inject(&slug, Fault::ServiceUnavailable, 1);
        site.inject(&slug, Fault::TooManyRequests, 1);
        site.inject(&slug, Fault::NotFound, 1);
        let url = sim.track_url(&slug);
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..7 {
            let response = get(&client, &url).await;
            if response.status() == 429 {
                retry_after = header(&response, "retry-after");
            }
            statuses.push(response.status().as_u16());
            // The bystander is untouched.
            assert_eq!(get(&client, &sim.track_url(&bystander)).await.status(), 200);
        }
        assert_eq!(statuses, vec![500, 500, 503, 429, 404, 200, 200]);
        assert_eq!(retry_after.as_deref(), Some("1"));
        let faults = sim.stats().faults;
        assert_eq!(
            (
                faults.internal_server_error,
                faults.service_unavailable,
                faults.too_many_requests,
                faults.not_found
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(faults.retryable_statuses(), 4);
        assert_eq!(site.injected_remaining(), 0);

        // Retry-After as an HTTP date, and the catalogue as a target.
        site.set_faults(FaultConfig {
            retry_after: RetryAfter::DateInSeconds(30),
            ..FaultConfig::default()
        });
        site.inject_catalogue(Fault::TooManyRequests, 1);
        let response = get(&client, &sim.catalogue_url()).await;
        assert_eq!(response.status(), 429);
        let date = header(&response, "retry-after").expect("Retry-After");
        let when = httpdate::parse_http_date(&date).expect("an HTTP date");
        assert!(when > std::time::SystemTime::now());
        assert_eq!(get(&client, &sim.catalogue_url()).await.status(), 200);
    }

    #[tokio::test]
    async fn truncated_bodies_are_errors_not_short_pages() {
        let sim = start(config(10)).await;
        let client = http();
        let site = sim.site();
        let slug = site.slugs()[0].clone();
        site.inject(&slug, Fault::Truncate, 1);
        let response = get(&client, &sim.track_url(&slug)).await;
        assert_eq!(response.status(), 200);
        let declared: usize = header(&response, "content-length")
            .expect("a declared length")
            .parse()
            .expect("a number");
        let full = site.render_dashboard(&slug).expect("page").body.len();
        assert_eq!(declared, full);
        assert!(
            response.text().await.is_err(),
            "the body must fail, not end short"
        );
        // The next request is whole again.
        let body = get(&client, &sim.track_url(&slug))
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(body.len(), full);

        site.inject_catalogue(Fault::Truncate, 1);
        let response = get(&client, &sim.catalogue_url()).await;
        assert!(response.text().await.is_err());
        assert_eq!(sim.stats().faults.truncate, 2);
    }

    #[tokio::test]
    async fn a_hang_outlasts_a_client_timeout() {
        let sim = start(SimConfig {
            faults: FaultConfig {
                hang: Duration::from_secs(3),
                ..FaultConfig::default()
            },
            ..config(5)
        })
        .await;
        let site = sim.site();
        let slug = site.slugs()[0].clone();
        site.inject(&slug, Fault::Hang, 1);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .expect("client");
        let started = Instant::now();
        let error = client
            .get(sim.track_url(&slug))
            .send()
            .await
            .expect_err("times out");
        assert!(error.is_timeout(), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(sim.stats().faults.hang, 1);
        // Shutting down ends the hang at once.
        let started = Instant::now();
        sim.shutdown().await.expect("shutdown");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    async fn statuses_at_rate(seed: u64) -> Vec<u16> {
        let sim = start(SimConfig {
            faults: FaultConfig {
                rate: 0.3,
                seed,
                retry_after: RetryAfter::Absent,
                ..FaultConfig::default()
            },
            ..config(20)
        })
        .await;
        let client = http();
        let slugs = sim.site().slugs();
        let mut statuses = Vec::new();
        for i in 0..200 {
            let url = sim.track_url(&slugs[i % slugs.len()]);
            statuses.push(get(&client, &url).await.status().as_u16());
        }
        // Rate faults leave the catalogue alone by default.
        for _ in 0..20 {
            assert_eq!(get(&client, &sim.catalogue_url()).await.status(), 200);
        }
        let stats = sim.stats();
        let faulted = statuses.iter().filter(|s| **s != 200).count() as u64;
        assert_eq!(stats.faults.total(), faulted);
        statuses
    }

    #[tokio::test]
    async fn rate_faults_are_reproducible_given_request_order() {
        let a = statuses_at_rate(5).await;
        assert_eq!(a, statuses_at_rate(5).await);
        assert_ne!(a, statuses_at_rate(6).await);
        let faulted = a.iter().filter(|s| **s != 200).count();
        assert!((30..=90).contains(&faulted), "{faulted} of 200 at 30 %");
        for status in [500, 503, 429] {
            assert!(a.contains(&status), "no {status}");
        }
    }

    #[tokio::test]
    async fn in_flight_and_start_gaps_are_measured() {
        let sim = start(SimConfig {
            latency: Duration::from_millis(400),
            ..config(30)
        })
        .await;
        let client = http();
        let urls: Vec<String> = sim
            .site()
            .slugs()
            .iter()
            .take(20)
            .map(|s| sim.track_url(s))
            .collect();
        let responses = join_all(urls.iter().map(|url| client.get(url).send())).await;
        assert!(
            responses
                .iter()
                .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
        );
        let stats = sim.stats();
        assert_eq!(stats.max_in_flight, 20);
        assert_eq!(stats.in_flight, 0);
        assert!(
            stats
                .min_start_gap
                .is_some_and(|gap| gap < Duration::from_millis(400))
        );
        sim.reset_stats();
        assert_eq!(sim.stats(), SimStats::default());
    }

    #[tokio::test]
    async fn a_truncated_catalogue_serves_the_first_rows_only() {
        let sim = start(config(50)).await;
        let client = http();
        let site = sim.site();
        site.truncate_catalogue(Some(10));
        let body = get(&client, &sim.catalogue_url())
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 10 + 3);
        let hidden = site.slugs()[30].clone();
        assert!(!body.contains(&format!("//{hidden}.liverc.com/")));
        assert_eq!(get(&client, &sim.track_url(&hidden)).await.status(), 200);
        site.truncate_catalogue(None);
        let body = get(&client, &sim.catalogue_url())
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 50 + 3);
    }

    #[tokio::test]
    async fn a_large_catalogue_is_streamed_whole() {
        let sim = start(config(3_000)).await;
        let response = get(&http(), &sim.catalogue_url()).await;
        assert_eq!(
            header(&response, "content-length"),
            None,
            "streamed in chunks"
        );
        let body = response.text().await.expect("body");
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 3_000 + 3);
        assert!(body.trim_end().ends_with("</html>"));
        assert_eq!(body, sim.site().render_catalogue().body);
    }

    mod admin {
        use liverc_sim::{MutationLog, SimStats, TrackRecord};
        use serde_json::{Value, json};

        use super::super::{config, get, http, start};

        async fn post(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("response");
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            (status, serde_json::from_str(&text).expect("JSON answer"))
        }

        #[tokio::test]
        async fn admin_routes_mutate_and_report_without_counting_as_crawl() {
            let sim = start(config(25)).await;
            let client = http();
            let site = sim.site();
            let slugs = site.slugs();
            let (a, b, c) = (
                slugs[0].to_ascii_lowercase(),
                slugs[1].to_ascii_lowercase(),
                slugs[2].to_ascii_lowercase(),
            );
            get(&client, &sim.catalogue_url()).await;
            let admin = |path: &str| format!("{}/__sim/{path}", sim.base_url());

            let (status, answer) = post(
                &client,
                admin("mutate"),
                json!({
                    "add": 2,
                    "remove": [c],
                    "rename": {a.clone(): "Fresh Name Speedway"},
                    "set": {b.clone(): {"phone": "+61 400 000 000", "email": null}},
                    "random": {"seed": 9, "count": 5},
                }),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            let log: MutationLog = serde_json::from_value(answer).expect("a mutation log");
            assert!(log.added.len() >= 2);
            assert!(log.removed.contains(&c));
            assert!(
                log.renamed
                    .iter()
                    .any(|r| r.slug == a && r.new == "Fresh Name Speedway")
            );
            assert!(log.changed.iter().any(|ch| ch.slug == b
                && ch.field == liverc_sim::TrackField::Phone
                && ch.new.as_deref() == Some("+61 400 000 000")));
            assert_eq!(site.track(&a).expect("a").name, "Fresh Name Speedway");
            assert!(site.track(&c).is_none());

            // Unknown slug: 404 and nothing applied.
            let before = site.tracks();
            let (status, answer) = post(
                &client,
                admin("mutate"),
                json!({"add": 1, "remove": ["no-such-slug"]}),
            )
            .await;
            assert_eq!(status, 404);
            assert!(
                answer["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("no-such-slug"))
            );
            assert_eq!(site.tracks(), before);
            let (status, _) = post(&client, admin("mutate"), json!({"bogus": 1})).await;
            assert_eq!(status, 400);

            let text = get(&client, &admin(&format!("tracks/{a}")))
                .await
                .text()
                .await;
            let track: TrackRecord = serde_json::from_str(&text.expect("body")).expect("a track");
            assert_eq!(track.name, "Fresh Name Speedway");

            let (status, answer) = post(
                &client,
                admin("inject"),
                json!({"slug": b, "fault": "503", "times": 2}),
            )
            .await;
            assert_eq!((status, answer["queued"].as_u64()), (200, Some(2)));
            assert_eq!(get(&client, &sim.track_url(&b)).await.status(), 503);
            let (status, _) = post(
                &client,
                admin("faults"),
                json!({"rate": 0.5, "kinds": ["429", "hang"], "hang": 100}),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(
                site.faults_config().hang,
                std::time::Duration::from_millis(100)
            );
            let (status, _) = post(&client, admin("latency"), json!({"latency_ms": 7})).await;
            assert_eq!(status, 200);
            assert_eq!(site.latency().0, std::time::Duration::from_millis(7));

            let text = get(&client, &admin("stats"))
                .await
                .text()
                .await
                .expect("body");
            let stats: SimStats = serde_json::from_str(&text).expect("stats");
            assert_eq!(stats.total, 2, "one catalogue and one dashboard request");
            assert_eq!(stats.catalogue.total, 1);
            assert_eq!(stats.dashboard.status(503), 1);
            assert_eq!(stats.faults.service_unavailable, 1);
            assert_eq!(
                stats.admin_requests, 8,
                "everything above but the crawl requests"
            );

            let (status, before_reset) = post(&client, admin("reset-stats"), json!({})).await;
            assert_eq!(status, 200);
            assert_eq!(before_reset["total"], 2);
            assert_eq!(sim.stats().total, 0);
            assert_eq!(get(&client, &admin("nope")).await.status(), 404);
            assert_eq!(sim.stats().total, 0);
        }
    }
}

mod parsers {
    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use chrono::Utc;
    use liverc::{TrackStatus, parse_catalogue, parse_dashboard};
    use liverc_sim::{
        AddressKind, Fault, SimConfig, SiteHandle, StatusIcon, TrackPatch, TrackRecord,
    };

    use super::{config, get, http, start};

    fn status(icon: StatusIcon) -> TrackStatus {
        match icon {
            StatusIcon::Idle => TrackStatus::Idle,
            StatusIcon::Practicing => TrackStatus::Practicing,
            StatusIcon::Racing => TrackStatus::Racing,
        }
    }

    fn check<T: PartialEq + Debug>(
        mismatches: &mut Vec<String>,
        slug: &str,
        field: &str,
        expected: T,
        actual: T,
    ) {
        if expected != actual {
            mismatches.push(format!(
                "{slug}.{field}: expected {expected:?}, parsed {actual:?}"
            ));
        }
    }

    /// Fails with a per-field summary and the first mismatches.
    fn report(mismatches: &[String], checked: usize) {
        let mut by_field: BTreeMap<&str, usize> = BTreeMap::new();
        for m in mismatches {
            let field = m
                .split_once(':')
                .and_then(|(head, _)| head.rsplit_once('.'))
                .map_or("unparsed", |(_, field)| field);
            *by_field.entry(field).or_default() += 1;
        }
        assert!(
            mismatches.is_empty(),
            "{} mismatches over {checked} pages, by field: {by_field:?}\n{}",
            mismatches.len(),
            mismatches
                .iter()
                .take(60)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[tokio::test]
    async fn the_catalogue_parses_to_every_track_plus_the_skipped_rows() {
        let sim = start(SimConfig::default()).await;
        let html = get(&http(), &sim.catalogue_url())
            .await
            .text()
            .await
            .expect("body");
        let catalogue = parse_catalogue(&html, Utc::now()).expect("the catalogue parses");
        let site = sim.site();
        let tracks = site.tracks();
        assert_eq!(catalogue.entries.len(), tracks.len());
        let skipped: Vec<Option<String>> =
            catalogue.skipped.iter().map(|s| s.href.clone()).collect();
        let decoys: Vec<Option<String>> = site.decoy_hrefs().into_iter().map(Some).collect();
        assert_eq!(skipped, decoys);

        let mut mismatches = Vec::new();
        for (entry, track) in catalogue.entries.iter().zip(&tracks) {
            let key = track.key();
            let base = format!("https://{key}.liverc.com/");
            let section = if track.listing.live {
                "live/"
            } else {
                "results/"
            };
            let m = &mut mismatches;
            check(m, &key, "slug", &key, &entry.slug);
            check(m, &key, "name", &track.name, &entry.name);
            check(m, &key, "track_url", &base, &entry.track_url);
            check(
                m,
                &key,
                "events_url",
                &format!("{base}{section}"),
                &entry.events_url,
            );
            check(
                m,
                &key,
                "last_updated_text",
                Some(&track.listing.last_updated_text),
                entry.last_updated_text.as_ref(),
            );
            check(
                m,
                &key,
                "last_updated_at",
                true,
                entry.last_updated_at.is_some(),
            );
            check(m, &key, "is_live", track.listing.live, entry.is_live);
            check(
                m,
                &key,
                "live_video",
                track.listing.live_video,
                entry.live_video,
            );
            check(
                m,
                &key,
                "status",
                status(track.listing.status),
                entry.status,
            );
            check(m, &key, "featured", track.listing.featured, entry.featured);
            check(
                m,
                &key,
                "current_event",
                track.listing.current_event.as_ref(),
                entry.current_event.as_ref(),
            );
        }
        report(&mismatches, 1);
    }

    /// What the parser should read back for each field of a record.
    fn compare_dashboard(track: &TrackRecord, html: &str, mismatches: &mut Vec<String>) {
        let key = track.key();
        let d = match parse_dashboard(html) {
            Ok(d) => d,
            Err(e) => {
                mismatches.push(format!("{key}: does not parse: {e}"));
                return;
            }
        };
        let m = mismatches;
        let map_query = track.map_query().map(|q| {
            q.replace('+', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        });
        check(m, &key, "name", Some(&track.name), d.name.as_ref());
        check(m, &key, "street", &track.street, &d.street);
        check(m, &key, "city", &track.city, &d.city);
        check(m, &key, "state", &track.state, &d.state);
        check(m, &key, "postal_code", &track.postal_code, &d.postal_code);
        check(m, &key, "country", &track.country, &d.country);
        check(
            m,
            &key,
            "country_code",
            &track.country_code,
            &d.country_code,
        );
        check(m, &key, "phone", &track.phone, &d.phone);
        check(m, &key, "website", &track.website, &d.website);
        check(m, &key, "email", &track.email, &d.email);
        check(m, &key, "description", &track.description, &d.description);
        check(m, &key, "logo_url", &track.logo_url, &d.logo_url);
        check(
            m,
            &key,
            "facebook_url",
            &track.facebook_url,
            &d.facebook_url,
        );
        check(m, &key, "map_query", &map_query, &d.map_query);
        let s = &track.stats;
        check(m, &key, "total_laps", Some(s.laps), d.total_laps);
        check(
            m,
            &key,
            "total_practice_sessions",
            Some(s.practice_sessions),
            d.total_practice_sessions,
        );
        check(m, &key, "total_races", Some(s.races), d.total_races);
        check(m, &key, "total_entries", Some(s.entries), d.total_entries);
        check(m, &key, "total_events", Some(s.events), d.total_events);
        check(
            m,
            &key,
            "racing_now",
            Some(track.racing_now()),
            d.racing_now,
        );
        check(
            m,
            &key,
            "month_results",
            Some(track.month.results),
            d.month_results,
        );
        check(
            m,
            &key,
            "month_sessions",
            Some(track.month.sessions),
            d.month_sessions,
        );
        check(
            m,
            &key,
            "month_videos",
            Some(track.month.videos),
            d.month_videos,
        );
    }

    #[test]
    fn dashboards_parse_back_field_by_field_for_every_country() {
        let site = SiteHandle::new(&config(3_000));
        let tracks = site.tracks();
        // Up to 50 tracks of each address kind and of each country, plus the
        // first 13 generated (every forced variant), plus the mixed-case one.
        let mut per_kind: BTreeMap<AddressKind, usize> = BTreeMap::new();
        let mut per_country: BTreeMap<Option<String>, usize> = BTreeMap::new();
        let mut mismatches = Vec::new();
        let mut checked = 0;
        for track in &tracks {
            let kind = per_kind.entry(track.address_kind).or_default();
            let country = per_country.entry(track.country_code.clone()).or_default();
            let special = track.slug != track.key() || track.city_line().is_none();
            if *kind >= 50 && *country >= 50 && !special {
                continue;
            }
            *kind += 1;
            *country += 1;
            checked += 1;
            let page = site.render_dashboard(&track.slug).expect("page");
            compare_dashboard(track, &page.body, &mut mismatches);
        }
        assert!(checked >= 8 * 50, "{checked}");
        report(&mismatches, checked);
    }

    /// What a sync does with a dashboard's phone: parse the page, then check
    /// the number against the country the page names, with libphonenumber's
    /// metadata. Every generated number must pass; a page without a country
    /// cannot vouch for a number in national form and is only counted.
    #[test]
    fn every_parsed_phone_is_valid_for_the_parsed_country() {
        let site = SiteHandle::new(&config(1_090));
        let mut problems = Vec::new();
        let (mut checked, mut without_country) = (0, 0);
        for track in site.tracks() {
            if track.phone.is_none() {
                continue;
            }
            let page = site.render_dashboard(&track.slug).expect("page");
            let d = parse_dashboard(&page.body).expect("parses");
            let phone = d.phone.expect("the phone parses back");
            let Some(code) = d.country_code else {
                without_country += 1;
                continue;
            };
            checked += 1;
            let region: phonenumber::country::Id = code.parse().expect("an ISO region");
            match phonenumber::parse(Some(region), &phone) {
                Ok(number) if phonenumber::is_valid(&number) => {
                    if number.country().id() != Some(region) {
                        problems.push(format!("{}: {phone:?} is not a {code} number", track.slug));
                    }
                }
                Ok(_) => problems.push(format!("{}: {phone:?} invalid for {code}", track.slug)),
                Err(e) => problems.push(format!("{}: {phone:?} does not parse: {e}", track.slug)),
            }
        }
        assert!(checked >= 900, "{checked}");
        assert!(
            without_country * 50 < checked,
            "{without_country} without a country"
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[tokio::test]
    async fn dashboards_over_http_parse_and_follow_mutations() {
        let sim = start(config(30)).await;
        let client = http();
        let site = sim.site();
        let mut mismatches = Vec::new();
        let slugs = site.slugs();
        for slug in slugs.iter().take(13) {
            let html = get(&client, &sim.track_url(slug))
                .await
                .text()
                .await
                .expect("body");
            compare_dashboard(&site.track(slug).expect("track"), &html, &mut mismatches);
        }
        let slug = slugs[5].clone();
        site.update(
            &slug,
            &TrackPatch {
                phone: Some(None),
                email: Some(Some("new.owner@example.org".to_owned())),
                description: Some(Some("Line one & more\nLine <two>".to_owned())),
                ..TrackPatch::default()
            },
        )
        .expect("update");
        let html = get(&client, &sim.track_url(&slug))
            .await
            .text()
            .await
            .expect("body");
        let track = site.track(&slug).expect("track");
        compare_dashboard(&track, &html, &mut mismatches);
        let d = parse_dashboard(&html).expect("parses");
        assert_eq!(d.phone, None);
        assert_eq!(d.email.as_deref(), Some("new.owner@example.org"));
        report(&mismatches, 14);
    }

    #[tokio::test]
    async fn malformed_pages_are_format_errors() {
        let sim = start(config(10)).await;
        let client = http();
        let site = sim.site();
        let slug = site.slugs()[0].clone();
        site.inject(&slug, Fault::Malformed, 6);
        for _ in 0..6 {
            let response = get(&client, &sim.track_url(&slug)).await;
            assert_eq!(response.status(), 200);
            let html = response.text().await.expect("body");
            assert!(parse_dashboard(&html).is_err(), "parsed: {html:.200}");
        }
        site.inject_catalogue(Fault::Malformed, 1);
        let html = get(&client, &sim.catalogue_url())
            .await
            .text()
            .await
            .expect("body");
        assert!(parse_catalogue(&html, Utc::now()).is_err());
        assert_eq!(sim.stats().faults.malformed, 7);
    }
}

mod client {
    use std::time::Duration;

    use futures::stream::{self, StreamExt};
    use liverc::{DashboardFetch, ErrorClass, LiveRcClient, LiveRcConfig, RetryPolicy};
    use liverc_sim::{Fault, FaultConfig, RetryAfter, RunningSim, SimConfig, TrackPatch};

    use super::{config, start};

    fn client_for(sim: &RunningSim, config: LiveRcConfig) -> LiveRcClient {
        LiveRcClient::new(LiveRcConfig {
            catalogue_url: sim.catalogue_url(),
            track_url_template: sim.track_url_template(),
            ..config
        })
        .expect("client")
    }

    fn fast_retries(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            jitter: true,
            max_retry_after: Duration::from_millis(10),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_max_in_flight_at_the_simulator() {
        let sim = start(SimConfig {
            latency: Duration::from_millis(20),
            ..config(1_000)
        })
        .await;
        let client = client_for(
            &sim,
            LiveRcConfig {
                max_in_flight: 6,
                ..LiveRcConfig::default()
            },
        );
        let catalogue = client.list_tracks().await.expect("catalogue");
        assert_eq!(catalogue.entries.len(), 1_000);
        let results: Vec<_> = stream::iter(catalogue.entries.iter().map(|e| e.slug.clone()))
            .map(|slug| {
                let client = client.clone();
                async move { client.fetch_dashboard(&slug).await }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        assert!(results.iter().all(Result::is_ok));
        let stats = sim.stats();
        assert_eq!(stats.dashboard.status(200), 1_000);
        assert_eq!(
            stats.max_in_flight, 6,
            "the cap is reached and never passed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_dashboard_arrives_through_a_ten_percent_fault_rate() {
        let sim = start(SimConfig {
            faults: FaultConfig {
                rate: 0.1,
                kinds: vec![
                    Fault::InternalServerError,
                    Fault::ServiceUnavailable,
                    Fault::TooManyRequests,
                ],
                seed: 3,
                retry_after: RetryAfter::Seconds(0),
                ..FaultConfig::default()
            },
            ..config(1_000)
        })
        .await;
        let client = client_for(
            &sim,
            LiveRcConfig {
                retry: fast_retries(10),
                ..LiveRcConfig::default()
            },
        );
        let slugs: Vec<String> = sim.site().slugs();
        let results: Vec<_> = stream::iter(slugs)
            .map(|slug| {
                let client = client.clone();
                async move { client.fetch_dashboard(&slug).await }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(failed.is_empty(), "{failed:?}");
        let served = sim.stats();
        let seen = client.stats();
        assert_eq!(served.dashboard.status(200), 1_000);
        assert!(served.faults.total() > 50, "{:?}", served.faults);
        assert_eq!(seen.retries, served.faults.retryable_statuses());
        assert_eq!(seen.responses_429, served.faults.too_many_requests);
        assert_eq!(
            seen.server_errors,
            served.faults.internal_server_error + served.faults.service_unavailable
        );
    }

    #[tokio::test]
    async fn conditional_fetches_see_304_until_the_track_changes() {
        let sim = start(config(20)).await;
        let client = client_for(&sim, LiveRcConfig::default());
        let slug = sim.site().slugs()[4].to_ascii_lowercase();
        let page = client.fetch_dashboard(&slug).await.expect("page");
        assert!(page.validators.etag.is_some() && page.validators.last_modified.is_some());
        let again = client
            .fetch_dashboard_if_changed(&slug, &page.validators)
            .await
            .expect("fetch");
        assert!(
            matches!(again, DashboardFetch::NotModified { .. }),
            "{again:?}"
        );
        sim.site()
            .update(
                &slug,
                &TrackPatch {
                    website: Some(Some("https://changed.example/".to_owned())),
                    ..TrackPatch::default()
                },
            )
            .expect("update");
        match client
            .fetch_dashboard_if_changed(&slug, &page.validators)
            .await
            .expect("fetch")
        {
            DashboardFetch::Modified(page) => assert_eq!(
                page.dashboard.website.as_deref(),
                Some("https://changed.example/")
            ),
            other => panic!("expected a modified page, got {other:?}"),
        }
        assert_eq!(client.stats().not_modified, 1);
        assert_eq!(sim.stats().dashboard.status(304), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn faults_reach_the_client_as_the_right_errors() {
        let sim = start(SimConfig {
            faults: FaultConfig {
                hang: Duration::from_secs(3),
                ..FaultConfig::default()
            },
            ..config(20)
        })
        .await;
        let client = client_for(
            &sim,
            LiveRcConfig {
                read_timeout: Duration::from_millis(400),
                retry: fast_retries(3),
                ..LiveRcConfig::default()
            },
        );
        let site = sim.site();
        let slugs: Vec<String> = site
            .slugs()
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();

        site.inject(&slugs[0], Fault::Truncate, 1);
        let page = client.fetch_dashboard(&slugs[0]).await.expect("retried");
        assert_eq!(page.attempts, 2);

        site.inject(&slugs[1], Fault::Hang, 1);
        let page = client.fetch_dashboard(&slugs[1]).await.expect("retried");
        assert_eq!(page.attempts, 2);
        assert!(client.stats().timeouts >= 1);

        site.inject(&slugs[2], Fault::Malformed, 1);
        let error = client
            .fetch_dashboard(&slugs[2])
            .await
            .expect_err("garbage");
        assert_eq!(error.class(), ErrorClass::Format);

        site.inject(&slugs[3], Fault::NotFound, 1);
        let error = client.fetch_dashboard(&slugs[3]).await.expect_err("404");
        assert_eq!(error.class(), ErrorClass::Gone);

        site.remove(&slugs[4]).expect("remove");
        let error = client
            .fetch_dashboard(&slugs[4])
            .await
            .expect_err("removed");
        assert_eq!(error.class(), ErrorClass::Gone);

        site.inject(&slugs[5], Fault::InternalServerError, 10);
        let error = client
            .fetch_dashboard(&slugs[5])
            .await
            .expect_err("gives up");
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(sim.stats().faults.internal_server_error, 4, "1 + 3 retries");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_simulator_sees_the_clients_request_spacing() {
        let sim = start(config(30)).await;
        let client = client_for(
            &sim,
            LiveRcConfig {
                min_request_spacing: Duration::from_millis(25),
                ..LiveRcConfig::default()
            },
        );
        let slugs: Vec<String> = sim.site().slugs().into_iter().take(12).collect();
        let results: Vec<_> = stream::iter(slugs)
            .map(|slug| {
                let client = client.clone();
                async move { client.fetch_dashboard(&slug).await }
            })
            .buffer_unordered(12)
            .collect()
            .await;
        assert!(results.iter().all(Result::is_ok));
        let gap = sim.stats().min_start_gap.expect("several requests");
        // Without spacing the gap would be well under a millisecond; allow
        // for scheduling noise between the client's start and the server's.
        assert!(gap >= Duration::from_millis(10), "{gap:?}");
    }
}

mod binary {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use liverc_sim::{MutationLog, SimStats};

    use super::{get, http};

    #[tokio::test]
    async fn the_binary_announces_its_address_serves_and_stops_on_sigterm() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_liverc-sim"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--tracks",
                "40",
                "--seed",
                "5",
                "--latency-ms",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let line = line.trim_end_matches('\n');
        let port: u16 = line
            .strip_prefix("listening on http://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("a port");
        assert_ne!(port, 0);
        let base = format!("http://127.0.0.1:{port}");
        let client = http();

        let text = get(&client, &format!("{base}/__sim/stats"))
            .await
            .text()
            .await;
        let stats: SimStats = serde_json::from_str(&text.expect("body")).expect("stats");
        assert_eq!(stats.total, 0);

        let body = get(&client, &format!("{base}/"))
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(body.matches("class=\"clickable-row\"").count(), 40 + 3);

        let response = client
            .post(format!("{base}/__sim/mutate"))
            .body(r#"{"add": 2, "random": {"seed": 1, "count": 4}}"#)
            .send()
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
        let log: MutationLog =
            serde_json::from_str(&response.text().await.expect("body")).expect("log");
        assert!(log.added.len() >= 2);
        let new_slug = &log.added[0];
        let dashboard = get(&client, &format!("{base}/t/{new_slug}/")).await;
        assert_eq!(dashboard.status(), 200);

        let text = get(&client, &format!("{base}/__sim/stats"))
            .await
            .text()
            .await;
        let stats: SimStats = serde_json::from_str(&text.expect("body")).expect("stats");
        assert_eq!(
            (stats.catalogue.total, stats.dashboard.total, stats.total),
            (1, 1, 2)
        );
        assert_eq!(stats.admin_requests, 3);

        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                assert!(exit.success(), "exit on SIGTERM: {exit}");
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("the binary did not stop on SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Throughput and size figures; run with
/// `cargo test -p liverc-sim --release --test sim -- --ignored --nocapture`.
mod perf {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use futures::future::join_all;
    use liverc_sim::{SimConfig, SiteHandle};

    use super::{config, http, start};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement: run in release"]
    async fn dashboards_per_second_at_zero_latency() {
        let sim = start(config(1_090)).await;
        let client = http();
        let slugs = Arc::new(sim.site().slugs());
        let served = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(5);
        let started = Instant::now();
        let workers = (0..16).map(|w| {
            let (client, slugs, served, bytes) = (
                client.clone(),
                Arc::clone(&slugs),
                Arc::clone(&served),
                Arc::clone(&bytes),
            );
            let url = sim.track_url_template();
            async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let slug = &slugs[i % slugs.len()];
                    let body = client
                        .get(url.replace("{slug}", slug))
                        .send()
                        .await
                        .expect("response")
                        .bytes()
                        .await
                        .expect("body");
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    served.fetch_add(1, Ordering::Relaxed);
                    i += 16;
                }
            }
        });
        join_all(workers).await;
        let secs = started.elapsed().as_secs_f64();
        let n = served.load(Ordering::Relaxed);
        eprintln!(
            "{n} dashboards in {secs:.2} s: {:.0}/s, {:.1} MB/s (client and server share the cores)",
            n as f64 / secs,
            bytes.load(Ordering::Relaxed) as f64 / secs / 1e6
        );
        assert_eq!(sim.stats().dashboard.status(200), n);
        assert!(n as f64 / secs > 1_000.0);
    }

    #[test]
    #[ignore = "a measurement: run in release"]
    fn generation_and_rendering_rates() {
        let started = Instant::now();
        let site = SiteHandle::new(&SimConfig {
            tracks: 100_000,
            ..config(0)
        });
        let generated = started.elapsed();
        let slugs = site.slugs();
        let started = Instant::now();
        let mut bytes = 0;
        for slug in slugs.iter().take(20_000) {
            bytes += site.render_dashboard(slug).expect("page").body.len();
        }
        let rendered = started.elapsed();
        let started = Instant::now();
        let catalogue = site.render_catalogue().body.len();
        let catalogue_took = started.elapsed();
        eprintln!(
            "100,000 tracks generated in {generated:?}; 20,000 dashboards rendered in {rendered:?} \
             ({:.0}/s, {} bytes each on average); the 100,000-row catalogue ({:.1} MB) in {catalogue_took:?}",
            20_000.0 / rendered.as_secs_f64(),
            bytes / 20_000,
            catalogue as f64 / 1e6
        );
    }
}
