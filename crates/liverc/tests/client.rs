//! HTTP behaviour of `LiveRcClient` against local servers on 127.0.0.1:
//! wiremock for most of it, and a tiny hand-written HTTP/1.1 server where a
//! test needs what wiremock cannot do (count requests in progress, stream a
//! chunked body, cut a body short).
//!
//! Delays are kept small (backoff 5–20 ms, Retry-After capped at a second or
//! less) so the whole file runs in a few seconds. Timing assertions check
//! lower bounds tightly (the client must never be early) and upper bounds
//! loosely (a loaded CI machine may be late).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use liverc::{
    DashboardFetch, ErrorClass, LiveRcClient, LiveRcConfig, LiveRcError, RetryPolicy, Validators,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------

/// A minimal valid catalogue: one track row.
const CATALOGUE_HTML: &str = r#"<!DOCTYPE html><html><head><title>LiveRC</title></head><body>
<table class="track_list"><tbody>
<tr class="clickable-row" data-href="//abc.liverc.com/results/"><td><i class="status_0"></i><small><small>3 hours ago</small></small></td><td><a href="//abc.liverc.com/"><strong>ABC Raceway</strong></a></td></tr>
</tbody></table></body></html>"#;

/// A minimal valid dashboard: the About panel and the Lifetime Track Stats panel.
const DASHBOARD_HTML: &str = r#"<!DOCTYPE html><html><head><title>ABC Raceway</title></head><body>
<div class="row"><div class="col-lg-8">
<div class="panel panel-default">
  <div class="panel-heading"><i class="fa fa-flag fa-fw"></i> About ABC Raceway</div>
  <div class="panel-body">
    <div class="row"><div class="col-sm-4">
      <address class="small">
        <strong>ABC Raceway</strong><br>1 Main Street<br>Lucama, NC 27851<br>United States<br><br>
        <abbr title="Phone">P:</abbr> <a href="tel:+1 252-291-4088">+1 252-291-4088</a><br>
        <abbr title="Website">W:</abbr> <a href="http://www.abc-raceway.example/" target="_blank">http://www.abc-raceway.example/</a><br>
        <abbr title="E-Mail">E:</abbr> <a href="javascript:noSpam('info', 'abc-raceway.example');">&#105;&#110;&#102;&#111;&#64;&#97;&#98;&#99;&#45;&#114;&#97;&#99;&#101;&#119;&#97;&#121;&#46;&#101;&#120;&#97;&#109;&#112;&#108;&#101;</a>
      </address>
    </div></div>
  </div>
</div>
</div><div class="col-lg-4">
<div class="panel panel-default">
  <div class="panel-heading"><i class="fa fa-line-chart fa-fw"></i> Lifetime Track Stats</div>
  <div class="panel-body no_padding"><table class="table"><tbody>
    <tr><th>Laps</th><td class="text-right">1,234,567</td></tr>
    <tr><th>Practice Sessions</th><td class="text-right">2,345</td></tr>
    <tr><th>Races</th><td class="text-right">3,456</td></tr>
    <tr><th>Entries</th><td class="text-right">4,567</td></tr>
    <tr><th>Events</th><td class="text-right">89</td></tr>
  </tbody></table></div>
</div>
</div></div></body></html>"#;

const UA: &str = "liverc-test/1.0 (+mailto:tests@example.org)";

/// A config aimed at `base` (no trailing slash) with tiny delays. robots.txt
/// is off unless a test turns it on, so request counts are the pages only.
fn config(base: &str) -> LiveRcConfig {
    LiveRcConfig {
        catalogue_url: format!("{base}/"),
        track_url_template: format!("{base}/t/{{slug}}/"),
        user_agent: UA.to_owned(),
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        max_in_flight: 6,
        min_request_spacing: Duration::ZERO,
        max_body_bytes: 64 * 1024,
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            jitter: true,
            max_retry_after: Duration::from_secs(2),
        },
        respect_robots: false,
        enabled: true,
    }
}

fn client(config: LiveRcConfig) -> LiveRcClient {
    LiveRcClient::new(config).expect("valid test config")
}

async fn requests_to(server: &MockServer, wanted: &str) -> usize {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .filter(|r| r.url.path() == wanted)
        .count()
}

async fn total_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .len()
}

/// Arrival times (and paths) of the requests a responder saw, in order.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<(String, Instant)>>>);

impl Arrivals {
    fn record(&self, request: &Request) -> usize {
        let mut seen = self.0.lock().expect("arrivals lock");
        seen.push((request.url.path().to_owned(), Instant::now()));
        seen.len() - 1
    }

    fn times(&self, wanted: &str) -> Vec<Instant> {
        self.0
            .lock()
            .expect("arrivals lock")
            .iter()
            .filter(|(p, _)| p == wanted)
            .map(|(_, t)| *t)
            .collect()
    }

    fn all_times(&self) -> Vec<Instant> {
        let mut times: Vec<Instant> = self
            .0
            .lock()
            .expect("arrivals lock")
            .iter()
            .map(|(_, t)| *t)
            .collect();
        times.sort();
        times
    }

    fn is_empty(&self) -> bool {
        self.0.lock().expect("arrivals lock").is_empty()
    }
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// A hand-written HTTP/1.1 server: for each connection it reads one request
/// head, then hands the socket and the request's sequence number to `reply`,
/// which writes whatever it wants (and should say `Connection: close`).
async fn raw_server<F, Fut>(reply: F) -> String
where
    F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    let reply = Arc::new(reply);
    let counter = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let reply = Arc::clone(&reply);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                if read_request_head(&mut socket).await {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    reply(socket, n).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Read up to the blank line ending a request head. False if the peer
/// closed first.
async fn read_request_head(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

async fn write_all(mut socket: TcpStream, bytes: &[u8]) {
    // The client may hang up first (that is the point of some tests).
    let _ = socket.write_all(bytes).await;
    let _ = socket.shutdown().await;
}

fn assert_dashboard(page: &liverc::DashboardPage) {
    assert_eq!(page.slug, "abc");
    assert_eq!(page.dashboard.name.as_deref(), Some("ABC Raceway"));
    assert_eq!(page.dashboard.total_laps, Some(1_234_567));
    assert_eq!(page.dashboard.total_events, Some(89));
}

// ---------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------

async fn retries_then_success(fault: ResponseTemplate) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(fault)
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(DASHBOARD_HTML))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let page = c
        .fetch_dashboard("abc")
        .await
        .expect("succeeds on the third attempt");
    assert_dashboard(&page);
    assert_eq!(page.attempts, 3);
    assert_eq!(requests_to(&server, "/t/abc/").await, 3);
    let stats = c.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.retries, 2, "retries == faults served");
}

#[tokio::test]
async fn retries_500_then_succeeds() {
    retries_then_success(ResponseTemplate::new(500)).await;
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    retries_then_success(ResponseTemplate::new(503)).await;
}

#[tokio::test]
async fn retries_a_timeout_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(DASHBOARD_HTML))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        read_timeout: Duration::from_millis(300),
        ..config(&server.uri())
    });
    let started = Instant::now();
    let page = c
        .fetch_dashboard("abc")
        .await
        .expect("second attempt succeeds");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the slow response"
    );
    assert_dashboard(&page);
    assert_eq!(page.attempts, 2);
    assert_eq!(requests_to(&server, "/t/abc/").await, 2);
    let stats = c.stats();
    assert_eq!(stats.timeouts, 1);
    assert_eq!(stats.retries, 1);
}

#[tokio::test]
async fn gives_up_after_max_retries_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        retry: RetryPolicy {
            max_retries: 2,
            ..config("").retry
        },
        ..config(&server.uri())
    });
    let err = c.fetch_dashboard("abc").await.expect_err("always 502");
    match &err {
        LiveRcError::Transient {
            attempts, status, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(*status, Some(502));
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(err.is_transient());
    assert_eq!(requests_to(&server, "/t/abc/").await, 3);
    let stats = c.stats();
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.server_errors, 3);
}

#[tokio::test]
async fn retries_429_and_counts_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("abc").await.expect_err("ends in 404");
    assert!(
        matches!(err, LiveRcError::Gone { status: 404, .. }),
        "{err:?}"
    );
    let stats = c.stats();
    assert_eq!(stats.responses_429, 1);
    assert_eq!(stats.retries, 1);
    assert_eq!(requests_to(&server, "/t/abc/").await, 2);
}

#[tokio::test]
async fn connect_errors_are_retried_then_transient() {
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let c = client(config(&format!("http://127.0.0.1:{port}")));
    let err = c.fetch_dashboard("abc").await.expect_err("nothing listens");
    match err {
        LiveRcError::Transient {
            attempts, status, ..
        } => {
            assert_eq!(attempts, 4);
            assert_eq!(status, None);
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(c.stats().retries, 3);
}

// ---------------------------------------------------------------------------
// Final answers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn not_found_and_gone_are_final() {
    let server = MockServer::start().await;
    Mock::given(path("/t/nope/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/t/old/"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("nope").await.expect_err("404");
    assert!(
        matches!(err, LiveRcError::Gone { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Gone);
    let err = c.fetch_dashboard("old").await.expect_err("410");
    assert!(
        matches!(err, LiveRcError::Gone { status: 410, .. }),
        "{err:?}"
    );
    assert_eq!(requests_to(&server, "/t/nope/").await, 1);
    assert_eq!(requests_to(&server, "/t/old/").await, 1);
    assert_eq!(c.stats().retries, 0);
}

#[tokio::test]
async fn forbidden_is_rejected_once() {
    let server = MockServer::start().await;
    Mock::given(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("abc").await.expect_err("403");
    assert!(
        matches!(err, LiveRcError::Rejected { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Rejected);
    assert_eq!(total_requests(&server).await, 1);
}

#[tokio::test]
async fn invalid_slug_sends_nothing() {
    let server = MockServer::start().await;
    let c = client(config(&server.uri()));
    for bad in ["", "a.b", "-x", "x y", "../etc"] {
        let err = c.fetch_dashboard(bad).await.expect_err("invalid slug");
        assert_eq!(err.class(), ErrorClass::Invalid, "{bad:?}: {err:?}");
    }
    assert_eq!(total_requests(&server).await, 0);
}

#[tokio::test]
async fn sends_the_configured_user_agent_and_lowercased_slug() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/mixedcase/"))
        .and(header("user-agent", UA))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("MixedCase").await.expect_err("404");
    assert_eq!(err.class(), ErrorClass::Gone);
    server.verify().await;
}

#[tokio::test]
async fn follows_redirects_and_stops_loops() {
    let server = MockServer::start().await;
    Mock::given(path("/t/moved/"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/t/new-home/"))
        .mount(&server)
        .await;
    Mock::given(path("/t/new-home/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/t/loop/"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/t/loop/"))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("moved").await.expect_err("ends in 404");
    assert!(matches!(err, LiveRcError::Gone { .. }), "{err:?}");
    assert_eq!(c.stats().requests, 2, "each hop counts as a request");

    let err = c.fetch_dashboard("loop").await.expect_err("redirect loop");
    assert!(
        matches!(err, LiveRcError::TooManyRedirects { limit: 5, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Rejected);
    assert_eq!(
        requests_to(&server, "/t/loop/").await,
        6,
        "the first request and 5 hops"
    );
    assert_eq!(c.stats().retries, 0);
}

// ---------------------------------------------------------------------------
// Retry-After, site-wide
// ---------------------------------------------------------------------------

/// A responder: the first `faults` requests get `fault`, the rest 404.
fn faults_then_404(
    arrivals: &Arrivals,
    faults: usize,
    fault: ResponseTemplate,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let arrivals = arrivals.clone();
    move |request: &Request| {
        if arrivals.record(request) < faults {
            fault.clone()
        } else {
            ResponseTemplate::new(404)
        }
    }
}

#[tokio::test]
async fn retry_after_seconds_is_obeyed() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/t/abc/"))
        .respond_with(faults_then_404(
            &arrivals,
            1,
            ResponseTemplate::new(503).insert_header("retry-after", "1"),
        ))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("abc").await.expect_err("ends in 404");
    assert_eq!(err.class(), ErrorClass::Gone);
    let times = arrivals.times("/t/abc/");
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, before Retry-After: 1"
    );
    assert!(gap < Duration::from_secs(3), "waited far too long: {gap:?}");
    let stats = c.stats();
    assert_eq!(stats.retries, 1);
    assert!(
        stats.retry_after_wait >= Duration::from_millis(990),
        "{stats:?}"
    );
    assert!(
        stats.retry_after_wait <= Duration::from_secs(1),
        "{stats:?}"
    );
}

#[tokio::test]
async fn retry_after_http_date_is_obeyed() {
    let server = MockServer::start().await;
    // HTTP-dates have whole seconds: "now + 2 s" truncated is 1–2 s ahead.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let not_before = httpdate::parse_http_date(&date).expect("valid date");
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&arrivals);
    Mock::given(path("/t/abc/"))
        .respond_with(move |_: &Request| {
            let mut seen = recorder.lock().expect("lock");
            seen.push(SystemTime::now());
            if seen.len() == 1 {
                ResponseTemplate::new(429).insert_header("retry-after", date.as_str())
            } else {
                ResponseTemplate::new(404)
            }
        })
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        retry: RetryPolicy {
            max_retry_after: Duration::from_secs(5),
            ..config("").retry
        },
        ..config(&server.uri())
    });
    let started = Instant::now();
    let err = c.fetch_dashboard("abc").await.expect_err("ends in 404");
    assert_eq!(err.class(), ErrorClass::Gone);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited far too long"
    );
    let seen = arrivals.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    // The wall clock is read in whole milliseconds or better; allow 10 ms.
    assert!(
        seen[1] + Duration::from_millis(10) >= not_before,
        "retried {:?} before the Retry-After date",
        not_before.duration_since(seen[1]).unwrap_or_default()
    );
    assert!(seen[1].duration_since(seen[0]).unwrap_or_default() >= Duration::from_millis(500));
    assert_eq!(c.stats().responses_429, 1);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/t/abc/"))
        .respond_with(faults_then_404(
            &arrivals,
            1,
            ResponseTemplate::new(503).insert_header("retry-after", "3600"),
        ))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        retry: RetryPolicy {
            max_retry_after: Duration::from_millis(300),
            ..config("").retry
        },
        ..config(&server.uri())
    });
    let started = Instant::now();
    let err = c.fetch_dashboard("abc").await.expect_err("ends in 404");
    assert_eq!(err.class(), ErrorClass::Gone);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the cap was not applied"
    );
    let times = arrivals.times("/t/abc/");
    let gap = times[1] - times[0];
    assert!(
        gap >= Duration::from_millis(290),
        "the capped wait was not obeyed: {gap:?}"
    );
    assert_eq!(c.stats().retry_after_wait, Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_the_whole_site() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/t/slow/"))
        .respond_with(faults_then_404(
            &arrivals,
            1,
            ResponseTemplate::new(503).insert_header("retry-after", "1"),
        ))
        .mount(&server)
        .await;
    let other = arrivals.clone();
    Mock::given(path("/t/other/"))
        .respond_with(move |request: &Request| {
            other.record(request);
            ResponseTemplate::new(404)
        })
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let first = tokio::spawn({
        let c = c.clone();
        async move { c.fetch_dashboard("slow").await }
    });
    // Wait for the 503 to have been served, then ask for another page.
    let deadline = Instant::now() + Duration::from_secs(5);
    while arrivals.is_empty() {
        assert!(Instant::now() < deadline, "first request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = c.fetch_dashboard("other").await.expect_err("404");
    assert_eq!(second.class(), ErrorClass::Gone);
    assert_eq!(
        first.await.expect("task").expect_err("404").class(),
        ErrorClass::Gone
    );

    let fault_at = arrivals.times("/t/slow/")[0];
    let other_at = arrivals.times("/t/other/")[0];
    assert!(
        other_at - fault_at >= Duration::from_millis(990),
        "the other page was requested {:?} after the 503, inside the Retry-After pause",
        other_at - fault_at
    );
}

// ---------------------------------------------------------------------------
// Kill switch
// ---------------------------------------------------------------------------

#[tokio::test]
async fn kill_switch_off_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(DASHBOARD_HTML))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        enabled: false,
        respect_robots: true,
        ..config(&server.uri())
    });
    assert!(!c.kill_switch().is_enabled());
    let err = c.fetch_dashboard("abc").await.expect_err("disabled");
    assert!(matches!(err, LiveRcError::Disabled), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Disabled);
    let err = c.list_tracks().await.expect_err("disabled");
    assert!(matches!(err, LiveRcError::Disabled), "{err:?}");
    assert_eq!(total_requests(&server).await, 0, "not even robots.txt");
    assert_eq!(c.stats().requests, 0);

    // Turning it back on lets requests through.
    c.kill_switch().set_enabled(true);
    let _ = c.fetch_dashboard("abc").await;
    assert_eq!(total_requests(&server).await, 2, "robots.txt and the page");
}

#[tokio::test]
async fn kill_switch_mid_run_stops_further_requests() {
    let server = MockServer::start().await;
    Mock::given(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        retry: RetryPolicy {
            max_retries: 1000,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(20),
            jitter: false,
            max_retry_after: Duration::from_secs(1),
        },
        ..config(&server.uri())
    });
    let task = tokio::spawn({
        let c = c.clone();
        async move { c.fetch_dashboard("abc").await }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while requests_to(&server, "/t/abc/").await < 3 {
        assert!(Instant::now() < deadline, "retries did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.kill_switch().set_enabled(false);
    let err = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the fetch stops promptly")
        .expect("task")
        .expect_err("disabled");
    assert!(matches!(err, LiveRcError::Disabled), "{err:?}");
    let seen = requests_to(&server, "/t/abc/").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        requests_to(&server, "/t/abc/").await,
        seen,
        "no request after the switch"
    );
    assert_eq!(c.stats().requests as usize, seen);
    // Other calls are refused too.
    let err = c.fetch_dashboard("xyz").await.expect_err("disabled");
    assert!(matches!(err, LiveRcError::Disabled));
}

// ---------------------------------------------------------------------------
// robots.txt
// ---------------------------------------------------------------------------

#[tokio::test]
async fn robots_disallow_all_for_our_agent() {
    let server = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                "User-agent: *\nAllow: /\n\nUser-agent: liverc-test\nDisallow: /\n",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(DASHBOARD_HTML))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        respect_robots: true,
        ..config(&server.uri())
    });
    for _ in 0..3 {
        let err = c.fetch_dashboard("abc").await.expect_err("disallowed");
        assert!(
            matches!(err, LiveRcError::RobotsDisallowed { .. }),
            "{err:?}"
        );
        assert_eq!(err.class(), ErrorClass::RobotsDisallowed);
    }
    let err = c.list_tracks().await.expect_err("disallowed");
    assert!(
        matches!(err, LiveRcError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    let stats = c.stats();
    assert_eq!(stats.robots_fetches, 1);
    assert_eq!(stats.requests, 1);
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_fetched_once_per_host() {
    let server = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("User-agent: *\nDisallow: /private/\n")
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        respect_robots: true,
        ..config(&server.uri())
    });
    // Concurrent first users share the one fetch.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.fetch_dashboard(&format!("track{i}")).await })
        })
        .collect();
    for t in tasks {
        let err = t.await.expect("task").expect_err("404");
        assert_eq!(err.class(), ErrorClass::Gone);
    }
    for i in 10..15 {
        let err = c
            .fetch_dashboard(&format!("track{i}"))
            .await
            .expect_err("404");
        assert_eq!(err.class(), ErrorClass::Gone);
    }
    let stats = c.stats();
    assert_eq!(stats.robots_fetches, 1);
    assert_eq!(stats.requests, 16);
    assert_eq!(total_requests(&server).await, 16);
    server.verify().await;
}

#[tokio::test]
async fn robots_crawl_delay_spaces_requests_to_the_host() {
    let server = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("User-agent: *\nCrawl-delay: 0.25\n"),
        )
        .mount(&server)
        .await;
    let arrivals = Arrivals::default();
    let recorder = arrivals.clone();
    Mock::given(method("GET"))
        .respond_with(move |request: &Request| {
            recorder.record(request);
            ResponseTemplate::new(404)
        })
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        respect_robots: true,
        ..config(&server.uri())
    });
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.fetch_dashboard(&format!("t{i}")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.expect("task").expect_err("404").class(),
            ErrorClass::Gone
        );
    }
    let times = arrivals.all_times();
    assert_eq!(times.len(), 4);
    for gap in gaps(&times) {
        assert!(
            gap >= Duration::from_millis(200),
            "Crawl-delay 0.25 s broken: gap {gap:?}"
        );
    }
}

#[tokio::test]
async fn robots_missing_or_broken_allows_everything() {
    for status in [404, 500] {
        let server = MockServer::start().await;
        Mock::given(path("/robots.txt"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        Mock::given(path("/t/abc/"))
            .respond_with(ResponseTemplate::new(410))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(LiveRcConfig {
            respect_robots: true,
            ..config(&server.uri())
        });
        let err = c.fetch_dashboard("abc").await.expect_err("410");
        assert_eq!(err.class(), ErrorClass::Gone, "robots {status}: {err:?}");
        let expected_robots = if status == 500 { 4 } else { 1 };
        assert_eq!(c.stats().robots_fetches, expected_robots, "robots {status}");
        server.verify().await;
    }
}

/// A host that does not answer at all: its robots.txt is tried once (the
/// page request has its own retries), and the error says what happened in
/// one short line: the refused connection, not five layers naming the URL.
#[tokio::test]
async fn robots_on_a_closed_port_is_tried_once() {
    // A port that was just bound and released: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let c = client(LiveRcConfig {
        respect_robots: true,
        ..config(&base)
    });
    let err = c.list_tracks().await.expect_err("closed port");
    let stats = c.stats();
    assert_eq!(stats.robots_fetches, 1, "robots.txt retried: {stats:?}");
    // The catalogue itself: the first attempt and three retries.
    assert_eq!(stats.requests, 1 + 4, "{stats:?}");
    let LiveRcError::Transient {
        attempts, message, ..
    } = err
    else {
        panic!("not transient: {err:?}");
    };
    assert_eq!(attempts, 4);
    assert!(
        message.starts_with("could not connect: ") && message.contains("refused"),
        "{message}"
    );
    assert!(!message.contains("for url"), "{message}");
    assert!(message.matches(": ").count() <= 1, "{message}");
}

#[tokio::test]
async fn robots_off_is_not_fetched() {
    let server = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /\n"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c.fetch_dashboard("abc").await.expect_err("404");
    assert_eq!(err.class(), ErrorClass::Gone);
    assert_eq!(c.stats().robots_fetches, 0);
    server.verify().await;
}

// ---------------------------------------------------------------------------
// Body cap
// ---------------------------------------------------------------------------

#[tokio::test]
async fn body_over_the_cap_with_content_length() {
    let server = MockServer::start().await;
    Mock::given(path("/t/abc/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(5000)))
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        max_body_bytes: 4096,
        ..config(&server.uri())
    });
    let err = c.fetch_dashboard("abc").await.expect_err("too large");
    assert!(
        matches!(err, LiveRcError::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Format);
    assert_eq!(requests_to(&server, "/t/abc/").await, 1, "not retried");
    assert_eq!(
        c.stats().bytes_received,
        0,
        "refused on Content-Length alone"
    );
}

#[tokio::test]
async fn body_over_the_cap_without_content_length() {
    let chunk = "y".repeat(1000);
    let base = raw_server(move |socket, _| {
        let chunk = chunk.clone();
        async move {
            let mut response = String::from(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            for _ in 0..20 {
                response.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
            }
            response.push_str("0\r\n\r\n");
            write_all(socket, response.as_bytes()).await;
        }
    })
    .await;
    let c = client(LiveRcConfig {
        max_body_bytes: 4096,
        ..config(&base)
    });
    let err = c.fetch_dashboard("abc").await.expect_err("too large");
    assert!(
        matches!(err, LiveRcError::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    let stats = c.stats();
    assert_eq!(stats.requests, 1);
    assert!(
        stats.bytes_received > 4096 && stats.bytes_received < 20_000,
        "stopped reading soon after the cap: {stats:?}"
    );
}

#[tokio::test]
async fn truncated_body_is_retried_as_transient() {
    let base = raw_server(|socket, _| async move {
        write_all(
            socket,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly a few bytes",
        )
        .await;
    })
    .await;
    let c = client(LiveRcConfig {
        retry: RetryPolicy {
            max_retries: 2,
            ..config("").retry
        },
        ..config(&base)
    });
    let err = c
        .fetch_dashboard("abc")
        .await
        .expect_err("always truncated");
    match err {
        LiveRcError::Transient { attempts, .. } => assert_eq!(attempts, 3),
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(c.stats().retries, 2);
}

// ---------------------------------------------------------------------------
// In-flight cap and spacing
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_cap_holds_at_the_server() {
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let base = {
        let (active, peak) = (Arc::clone(&active), Arc::clone(&peak));
        raw_server(move |socket, _| {
            let (active, peak) = (Arc::clone(&active), Arc::clone(&peak));
            async move {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60)).await;
                // Count the request as finished before answering: the client
                // holds its slot at least until it has read the answer.
                active.fetch_sub(1, Ordering::SeqCst);
                write_all(
                    socket,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            }
        })
        .await
    };
    let c = client(LiveRcConfig {
        max_in_flight: 3,
        ..config(&base)
    });
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.fetch_dashboard(&format!("track{i}")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.expect("task").expect_err("404").class(),
            ErrorClass::Gone
        );
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "the cap is reached but never exceeded"
    );
    assert_eq!(c.stats().requests, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_spacing_between_request_starts() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    let recorder = arrivals.clone();
    Mock::given(method("GET"))
        .respond_with(move |request: &Request| {
            recorder.record(request);
            ResponseTemplate::new(404)
        })
        .mount(&server)
        .await;
    let c = client(LiveRcConfig {
        min_request_spacing: Duration::from_millis(100),
        ..config(&server.uri())
    });
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.fetch_dashboard(&format!("track{i}")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.expect("task").expect_err("404").class(),
            ErrorClass::Gone
        );
    }
    let times = arrivals.all_times();
    assert_eq!(times.len(), 5);
    for gap in gaps(&times) {
        assert!(
            gap >= Duration::from_millis(75),
            "spacing 100 ms broken: gap {gap:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Conditional requests and parsed pages
// ---------------------------------------------------------------------------

#[tokio::test]
async fn conditional_fetch_sends_validators_and_handles_304() {
    let server = MockServer::start().await;
    let last_modified = "Tue, 15 Nov 1994 12:45:26 GMT";
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    Mock::given(path("/t/abc/"))
        .respond_with(move |request: &Request| {
            let get = |name: &str| {
                request
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            recorder
                .lock()
                .expect("lock")
                .push((get("if-none-match"), get("if-modified-since")));
            if get("if-none-match").as_deref() == Some("\"v1\"") {
                ResponseTemplate::new(304).insert_header("etag", "\"v2\"")
            } else {
                ResponseTemplate::new(500)
            }
        })
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let validators = Validators {
        etag: Some("\"v1\"".to_owned()),
        last_modified: Some(last_modified.to_owned()),
    };
    let fetch = c
        .fetch_dashboard_if_changed("abc", &validators)
        .await
        .expect("304");
    match fetch {
        DashboardFetch::NotModified {
            slug,
            validators,
            attempts,
            ..
        } => {
            assert_eq!(slug, "abc");
            assert_eq!(attempts, 1);
            assert_eq!(
                validators.etag.as_deref(),
                Some("\"v2\""),
                "refreshed by the 304"
            );
            assert_eq!(
                validators.last_modified.as_deref(),
                Some(last_modified),
                "kept"
            );
        }
        DashboardFetch::Modified(page) => panic!("expected NotModified, got {page:?}"),
    }
    assert_eq!(
        seen.lock().expect("lock").as_slice(),
        [(Some("\"v1\"".to_owned()), Some(last_modified.to_owned()))]
    );
    let stats = c.stats();
    assert_eq!(stats.not_modified, 1);
    assert_eq!(stats.requests, 1);
}

#[tokio::test]
async fn unconditional_fetch_sends_no_validators() {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    Mock::given(path("/t/abc/"))
        .respond_with(move |request: &Request| {
            if request.headers.contains_key("if-none-match")
                || request.headers.contains_key("if-modified-since")
            {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            ResponseTemplate::new(404)
        })
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let _ = c.fetch_dashboard("abc").await;
    let _ = c
        .fetch_dashboard_if_changed("abc", &Validators::default())
        .await;
    assert_eq!(total_requests(&server).await, 2);
    assert_eq!(seen.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn fetch_dashboard_parses_and_captures_validators() {
    let server = MockServer::start().await;
    Mock::given(path("/t/abc/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "W/\"abc-1\"")
                .insert_header("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(DASHBOARD_HTML),
        )
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let before = chrono::Utc::now();
    let page = c.fetch_dashboard("ABC").await.expect("parsed dashboard");
    assert_dashboard(&page);
    assert_eq!(page.url, format!("{}/t/abc/", server.uri()));
    assert_eq!(page.attempts, 1);
    assert!(page.fetched_at >= before && page.fetched_at <= chrono::Utc::now());
    assert_eq!(
        page.validators,
        Validators {
            etag: Some("W/\"abc-1\"".to_owned()),
            last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        }
    );
    let fetch = c
        .fetch_dashboard_if_changed("abc", &Validators::default())
        .await
        .expect("parsed dashboard");
    assert!(matches!(fetch, DashboardFetch::Modified(ref p) if p.dashboard == page.dashboard));
    let stats = c.stats();
    assert_eq!(stats.bytes_received, 2 * DASHBOARD_HTML.len() as u64);
}

#[tokio::test]
async fn list_tracks_parses_the_catalogue() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(CATALOGUE_HTML))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let before = chrono::Utc::now();
    let catalogue = c.list_tracks().await.expect("parsed catalogue");
    assert!(catalogue.fetched_at >= before && catalogue.fetched_at <= chrono::Utc::now());
    assert_eq!(catalogue.entries.len(), 1);
    let entry = &catalogue.entries[0];
    assert_eq!(entry.slug, "abc");
    assert_eq!(entry.name, "ABC Raceway");
    assert_eq!(entry.last_updated_text.as_deref(), Some("3 hours ago"));
    server.verify().await;
}

#[tokio::test]
async fn unparseable_catalogue_is_a_format_error() {
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<html><body>Down for maintenance</body></html>"),
        )
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    let err = c
        .list_tracks()
        .await
        .expect_err("zero rows is a format error");
    match &err {
        LiveRcError::Format { url, source } => {
            assert_eq!(url, &format!("{}/", server.uri()));
            assert_eq!(source.page, liverc::PageKind::Catalogue);
        }
        other => panic!("expected Format, got {other:?}"),
    }
    assert_eq!(c.stats().retries, 0, "format errors are not retried");
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

/// A page in the charset its `Content-Type` names is read in that charset:
/// a Windows-1252 "é" is "é", not U+FFFD.
#[tokio::test]
async fn a_page_is_read_in_the_charset_it_declares() {
    let server = MockServer::start().await;
    let latin1: Vec<u8> = DASHBOARD_HTML
        .replace("ABC Raceway", "Caf\u{e9} Raceway")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1 text"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/t/abc/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(latin1, "text/html; charset=windows-1252"),
        )
        .mount(&server)
        .await;
    let page = client(config(&server.uri()))
        .fetch_dashboard("abc")
        .await
        .expect("fetched");
    assert_eq!(page.dashboard.name.as_deref(), Some("Caf\u{e9} Raceway"));
}

// ---------------------------------------------------------------------------
// Redirects and robots.txt
// ---------------------------------------------------------------------------

/// Every redirect hop is checked against the robots.txt of its own host: a
/// redirect to a path that host disallows is not followed, and a redirect to
/// another host reads that host's robots.txt first.
#[tokio::test]
async fn redirects_are_checked_against_the_robots_txt_of_their_target() {
    let home = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /private/\n"),
        )
        .mount(&home)
        .await;
    Mock::given(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /closed/\n"),
        )
        .expect(1)
        .mount(&other)
        .await;
    Mock::given(path("/t/inside/"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/private/abc/"))
        .mount(&home)
        .await;
    Mock::given(path("/t/away/"))
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("location", format!("{}/open/abc/", other.uri()).as_str()),
        )
        .mount(&home)
        .await;
    Mock::given(path("/t/shut/"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/closed/abc/", other.uri()).as_str()),
        )
        .mount(&home)
        .await;
    Mock::given(path("/open/abc/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(DASHBOARD_HTML))
        .mount(&other)
        .await;
    let c = client(LiveRcConfig {
        respect_robots: true,
        ..config(&home.uri())
    });

    let err = c
        .fetch_dashboard("inside")
        .await
        .expect_err("disallowed hop");
    assert!(
        matches!(err, LiveRcError::RobotsDisallowed { ref url } if url.ends_with("/private/abc/")),
        "{err:?}"
    );
    assert_eq!(requests_to(&home, "/private/abc/").await, 0);

    let page = c
        .fetch_dashboard("away")
        .await
        .expect("followed to the other host");
    assert_eq!(page.dashboard.name.as_deref(), Some("ABC Raceway"));
    assert_eq!(page.attempts, 2, "the redirect and the page");

    let err = c
        .fetch_dashboard("shut")
        .await
        .expect_err("disallowed on the other host");
    assert!(
        matches!(err, LiveRcError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    assert_eq!(requests_to(&other, "/closed/abc/").await, 0);
    assert_eq!(
        requests_to(&other, "/robots.txt").await,
        1,
        "read once, then cached"
    );
    other.verify().await;
}

/// A `Location` that is missing or not http(s) ends the fetch as rejected.
#[tokio::test]
async fn a_redirect_without_a_usable_location_is_rejected() {
    let server = MockServer::start().await;
    Mock::given(path("/t/nowhere/"))
        .respond_with(ResponseTemplate::new(302))
        .mount(&server)
        .await;
    Mock::given(path("/t/ftp/"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "ftp://example.org/x"))
        .mount(&server)
        .await;
    let c = client(config(&server.uri()));
    for slug in ["nowhere", "ftp"] {
        let err = c.fetch_dashboard(slug).await.expect_err("rejected");
        assert!(
            matches!(err, LiveRcError::Rejected { status, .. } if status == 302 || status == 301),
            "{slug}: {err:?}"
        );
    }
}
