//! The Nominatim adapter against a wiremock server on 127.0.0.1: the request
//! it sends, how it reads answers and failures, the cache, the pacer and
//! retries. Nothing here contacts the real Nominatim.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ingest_core::{Coordinates, Geocoder};
use ingest_geocode::{NominatimConfig, NominatimGeocoder};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const AGENT: &str = "liverc-ingest-tests/0.1 (+mailto:ops@example.org)";
const QUERY: &str = "5320 us 301, lucama, nc, 27851, us";

/// A fast configuration pointed at `server`: 10 ms pacing, no retries.
fn config(server: &MockServer) -> NominatimConfig {
    NominatimConfig {
        base_url: server.uri(),
        min_interval: Duration::from_millis(10),
        timeout: Duration::from_secs(2),
        max_retries: 0,
        max_retry_after: Duration::from_millis(300),
        ..NominatimConfig::new(AGENT)
    }
}

fn geocoder(config: NominatimConfig) -> NominatimGeocoder {
    NominatimGeocoder::new(config).expect("valid config")
}

fn place(lat: &str, lon: &str) -> serde_json::Value {
    json!([{
        "place_id": 123_456,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
        "osm_type": "node",
        "lat": lat,
        "lon": lon,
        "category": "place",
        "type": "house",
        "place_rank": 30,
        "importance": 0.2,
        "addresstype": "place",
        "name": "",
        "display_name": "5320, US 301, Lucama, Wilson County, North Carolina, 27851, United States",
        "boundingbox": ["35.64", "35.65", "-78.02", "-78.01"]
    }])
}

/// Answers with a fixed template and records when each request arrived.
#[derive(Clone)]
struct Recorder {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    template: ResponseTemplate,
}

impl Recorder {
    fn new(template: ResponseTemplate) -> Self {
        Self {
            arrivals: Arc::new(Mutex::new(Vec::new())),
            template,
        }
    }

    fn arrivals(&self) -> Vec<Instant> {
        let mut arrivals = self.arrivals.lock().expect("lock").clone();
        arrivals.sort();
        arrivals
    }
}

impl Respond for Recorder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().expect("lock").push(Instant::now());
        self.template.clone()
    }
}

/// The gaps between consecutive arrivals.
fn gaps(arrivals: &[Instant]) -> Vec<Duration> {
    arrivals.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Scheduling on a busy 2-core machine may delay one request's arrival a
/// little, which shortens the gap after it by as much.
const JITTER: Duration = Duration::from_millis(20);

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn a_search_sends_the_policy_parameters_and_reads_the_place() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("q", QUERY))
        .and(query_param("format", "jsonv2"))
        .and(query_param("limit", "1"))
        .and(query_param("countrycodes", "us"))
        .and(query_param("email", "ops@example.org"))
        .and(header("user-agent", AGENT))
        .respond_with(ResponseTemplate::new(200).set_body_json(place("35.6432", "-78.0106")))
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        email: Some("ops@example.org".to_owned()),
        ..config(&server)
    });

    assert_eq!(geocoder.provider(), "nominatim");
    let found = geocoder
        .geocode(QUERY, Some("US".to_owned()))
        .await
        .expect("geocoded");
    assert_eq!(
        found,
        Some(Coordinates {
            latitude: 35.6432,
            longitude: -78.0106
        })
    );
    server.verify().await;
}

#[tokio::test]
async fn optional_parameters_are_left_out_and_a_base_path_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/nominatim/search"))
        .and(query_param("q", "lucama, nc"))
        .and(query_param_is_missing("countrycodes"))
        .and(query_param_is_missing("email"))
        .respond_with(ResponseTemplate::new(200).set_body_json(place("-35.3", "149.1")))
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        base_url: format!("{}/nominatim", server.uri()),
        ..config(&server)
    });

    // No country, and a country that is not an alpha-2 code: no filter, so
    // the second is the same search and answered from the cache.
    for country in [None, Some("USA".to_owned())] {
        let found = geocoder
            .geocode("  lucama,   nc ", country)
            .await
            .expect("geocoded")
            .expect("a place");
        assert_eq!((found.latitude, found.longitude), (-35.3, 149.1));
    }
    server.verify().await;
}

#[tokio::test]
async fn an_empty_answer_is_no_place() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let found = geocoder(config(&server))
        .geocode(QUERY, Some("us".to_owned()))
        .await;
    assert_eq!(found, Ok(None));
}

#[tokio::test]
async fn bad_answers_are_errors_and_are_not_cached() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string("[{\"lat\": \"35.6\", "),
            "malformed JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>Bandwidth limit exceeded</html>"),
            "malformed JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(place("95.0", "-78.0")),
            "latitude 95",
        ),
        (
            ResponseTemplate::new(200).set_body_json(place("35.0", "-181.5")),
            "longitude -181.5",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"lat": "1", "lon": "2"})),
            "object",
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(1024 * 1024 + 1)),
            "larger than",
        ),
    ];
    for (template, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(template)
            .mount(&server)
            .await;
        let geocoder = geocoder(config(&server));
        for _ in 0..2 {
            let error = geocoder
                .geocode(QUERY, None)
                .await
                .expect_err("a bad answer is an error");
            assert!(error.0.contains(expected), "{expected}: {error}");
        }
        assert_eq!(
            requests(&server).await,
            2,
            "{expected}: errors are not cached"
        );
        assert_eq!(geocoder.cached(), 0);
    }
}

#[tokio::test]
async fn the_cache_answers_repeats_without_the_network() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("q", QUERY))
        .and(query_param("countrycodes", "us"))
        .respond_with(ResponseTemplate::new(200).set_body_json(place("35.6432", "-78.0106")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/search"))
        .and(query_param("q", QUERY))
        .and(query_param("countrycodes", "ca"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(config(&server));
    let clone = geocoder.clone();

    let first = geocoder.geocode(QUERY, Some("us".to_owned())).await;
    assert!(matches!(first, Ok(Some(_))));
    // Same query, same country: from the cache, whatever the case or
    // spacing, from any clone.
    assert_eq!(geocoder.geocode(QUERY, Some("us".to_owned())).await, first);
    assert_eq!(
        clone
            .geocode(
                &format!("  {} ", QUERY.to_uppercase()),
                Some("US".to_owned())
            )
            .await,
        first
    );
    // A negative answer is cached too.
    assert_eq!(
        geocoder.geocode(QUERY, Some("ca".to_owned())).await,
        Ok(None)
    );
    assert_eq!(clone.geocode(QUERY, Some("ca".to_owned())).await, Ok(None));
    assert_eq!(geocoder.cached(), 2);
    server.verify().await;
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        cache_capacity: 2,
        ..config(&server)
    });
    for query in ["a", "b", "a", "c", "a", "b"] {
        assert_eq!(geocoder.geocode(query, None).await, Ok(None));
    }
    // a, b, (a hit), c evicts b, (a hit), b evicts c: four requests.
    assert_eq!(requests(&server).await, 4);
    assert_eq!(geocoder.cached(), 2);
}

#[tokio::test]
async fn requests_start_at_most_once_per_interval() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(ResponseTemplate::new(200).set_body_json(json!([])));
    Mock::given(path("/search"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let interval = Duration::from_millis(200);
    let geocoder = geocoder(NominatimConfig {
        min_interval: interval,
        ..config(&server)
    });

    let t0 = Instant::now();
    for query in ["first", "second", "third"] {
        assert_eq!(geocoder.geocode(query, None).await, Ok(None));
    }
    let elapsed = t0.elapsed();

    // The first start is immediate, the third two intervals later.
    assert!(elapsed >= interval * 2, "three calls took {elapsed:?}");
    assert!(
        elapsed < interval * 2 + Duration::from_secs(1),
        "{elapsed:?}"
    );
    let arrivals = recorder.arrivals();
    assert_eq!(arrivals.len(), 3);
    let span = arrivals[2] - arrivals[0];
    assert!(
        span + JITTER >= interval * 2,
        "first to last start: {span:?}"
    );
    for gap in gaps(&arrivals) {
        assert!(gap + JITTER >= interval, "gap {gap:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_never_exceed_the_rate() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(ResponseTemplate::new(200).set_body_json(place("1.5", "2.5")));
    Mock::given(path("/search"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let interval = Duration::from_millis(150);
    let geocoder = geocoder(NominatimConfig {
        min_interval: interval,
        ..config(&server)
    });

    let t0 = Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let geocoder = geocoder.clone();
            tokio::spawn(async move { geocoder.geocode(&format!("track {i}"), None).await })
        })
        .collect();
    for task in tasks {
        let found = task.await.expect("task").expect("geocoded");
        assert!(found.is_some());
    }
    let elapsed = t0.elapsed();

    assert!(elapsed >= interval * 4, "five calls took {elapsed:?}");
    let arrivals = recorder.arrivals();
    assert_eq!(arrivals.len(), 5);
    for gap in gaps(&arrivals) {
        assert!(gap + JITTER >= interval, "gap {gap:?} in {arrivals:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_for_one_place_share_one_request() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(place("1.5", "2.5")))
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        min_interval: Duration::from_millis(200),
        ..config(&server)
    });

    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let geocoder = geocoder.clone();
            tokio::spawn(async move { geocoder.geocode(QUERY, Some("us".to_owned())).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.expect("task"), Ok(Some(_))));
    }
    server.verify().await;
}

#[tokio::test]
async fn too_many_requests_is_an_error_and_pauses_every_request() {
    let server = MockServer::start().await;
    let limited = Recorder::new(ResponseTemplate::new(429).insert_header("retry-after", "1"));
    Mock::given(path("/search"))
        .and(query_param("q", "first"))
        .respond_with(limited.clone())
        .expect(1)
        .mount(&server)
        .await;
    let fine = Recorder::new(ResponseTemplate::new(200).set_body_json(json!([])));
    Mock::given(path("/search"))
        .and(query_param("q", "second"))
        .respond_with(fine.clone())
        .expect(1)
        .mount(&server)
        .await;
    // Retry-After: 1 s, cut to the configured 300 ms.
    let geocoder = geocoder(config(&server));

    let error = geocoder
        .geocode("first", None)
        .await
        .expect_err("429 is an error");
    assert!(error.0.contains("429"), "{error}");
    assert!(error.0.contains("300ms"), "{error}");
    // The pause holds for the next request, whatever its query.
    assert_eq!(geocoder.geocode("second", None).await, Ok(None));
    let pause = fine.arrivals()[0] - limited.arrivals()[0];
    assert!(pause + JITTER >= Duration::from_millis(300), "{pause:?}");
    assert!(
        pause < Duration::from_millis(900),
        "Retry-After is capped: {pause:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_retry_after_too_many_requests_waits_and_succeeds() {
    let server = MockServer::start().await;
    let limited = Recorder::new(ResponseTemplate::new(429).insert_header("retry-after", "1"));
    Mock::given(path("/search"))
        .respond_with(limited.clone())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let fine = Recorder::new(ResponseTemplate::new(200).set_body_json(place("35.6", "-78.0")));
    Mock::given(path("/search"))
        .respond_with(fine.clone())
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        max_retries: 1,
        ..config(&server)
    });

    let found = geocoder.geocode(QUERY, None).await.expect("retried");
    assert!(found.is_some());
    let pause = fine.arrivals()[0] - limited.arrivals()[0];
    assert!(pause + JITTER >= Duration::from_millis(300), "{pause:?}");
    server.verify().await;
}

#[tokio::test]
async fn a_server_error_is_an_error_naming_the_status() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let error = geocoder(config(&server))
        .geocode(QUERY, None)
        .await
        .expect_err("503 is an error");
    assert!(error.0.contains("503"), "{error}");
    server.verify().await;
}

#[tokio::test]
async fn a_server_error_is_retried_once_when_configured() {
    let server = MockServer::start().await;
    let failing = Recorder::new(ResponseTemplate::new(503));
    Mock::given(path("/search"))
        .respond_with(failing.clone())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let fine = Recorder::new(ResponseTemplate::new(200).set_body_json(place("35.6", "-78.0")));
    Mock::given(path("/search"))
        .respond_with(fine.clone())
        .expect(1)
        .mount(&server)
        .await;
    let interval = Duration::from_millis(100);
    let geocoder = geocoder(NominatimConfig {
        max_retries: 1,
        min_interval: interval,
        ..config(&server)
    });

    let found = geocoder.geocode(QUERY, None).await.expect("retried");
    assert_eq!(
        found,
        Some(Coordinates {
            latitude: 35.6,
            longitude: -78.0
        })
    );
    // The retry waited for the pacer.
    let gap = fine.arrivals()[0] - failing.arrivals()[0];
    assert!(gap + JITTER >= interval, "{gap:?}");
    server.verify().await;
}

#[tokio::test]
async fn retries_stop_at_the_configured_count() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(502))
        .expect(2)
        .mount(&server)
        .await;
    let error = geocoder(NominatimConfig {
        max_retries: 1,
        ..config(&server)
    })
    .geocode(QUERY, None)
    .await
    .expect_err("still failing");
    assert!(error.0.contains("502"), "{error}");
    assert!(error.0.contains("after 2 attempts"), "{error}");
    server.verify().await;
}

#[tokio::test]
async fn a_timeout_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t0 = Instant::now();
    let error = geocoder(NominatimConfig {
        timeout: Duration::from_millis(150),
        ..config(&server)
    })
    .geocode(QUERY, None)
    .await
    .expect_err("timed out");
    assert!(error.0.contains("timed out"), "{error}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    server.verify().await;
}

#[tokio::test]
async fn client_errors_are_not_retried_and_carry_nominatims_message() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": 400, "message": "Parameter 'countrycodes' is invalid."}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let error = geocoder(NominatimConfig {
        max_retries: 3,
        ..config(&server)
    })
    .geocode(QUERY, Some("zz".to_owned()))
    .await
    .expect_err("400 is an error");
    assert!(error.0.contains("400"), "{error}");
    assert!(error.0.contains("'countrycodes' is invalid"), "{error}");
    server.verify().await;
}

#[tokio::test]
async fn a_refusal_stops_every_further_request() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    let geocoder = geocoder(NominatimConfig {
        max_retries: 1,
        ..config(&server)
    });
    let clone = geocoder.clone();

    let error = geocoder.geocode("first", None).await.expect_err("refused");
    assert!(error.0.contains("403"), "{error}");
    assert!(clone.is_refused());
    let error = clone.geocode("second", None).await.expect_err("refused");
    assert!(error.0.contains("403"), "{error}");
    server.verify().await;
}

#[tokio::test]
async fn an_empty_query_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let error = geocoder(config(&server))
        .geocode(" \t ", Some("us".to_owned()))
        .await
        .expect_err("empty");
    assert!(error.0.contains("empty"), "{error}");
    server.verify().await;
}

#[test]
fn the_configuration_is_checked_before_any_request() {
    let error = NominatimGeocoder::new(NominatimConfig::new("")).expect_err("no agent");
    assert!(error.0.contains("user_agent"), "{error}");
    let error = NominatimGeocoder::new(NominatimConfig {
        min_interval: Duration::from_millis(200),
        ..NominatimConfig::new(AGENT)
    })
    .expect_err("too fast for the public instance");
    assert!(error.0.contains("one request per second"), "{error}");
    let geocoder = NominatimGeocoder::new(NominatimConfig::new(AGENT)).expect("defaults");
    assert_eq!(geocoder.config().min_interval, Duration::from_secs(1));
    assert!(format!("{geocoder:?}").contains("nominatim.openstreetmap.org/search"));
}
