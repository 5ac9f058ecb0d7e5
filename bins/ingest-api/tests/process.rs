//! The `ingest-api` binary as a process: `--with-worker` on the embedded
//! SQLite database, driven by the client `ingest-cli remote sync` uses
//! (`ingest_app::remote`), against the simulator on loopback. Checks the
//! first stdout line, enqueue → wait → succeeded (exit code 0), "skipped"
//! (4) while a run is active, 2 on a bad token, and a clean exit on SIGTERM.
//! Then the API under hostile conditions: a client that never finishes its
//! request head is cut off at the configured timeout, and with PostgreSQL
//! gone (behind a proxy the test breaks: a silent network, a closed port,
//! connections reset) every database route answers `503` within 5 s.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest_app::remote::{RemoteSyncArgs, remote_sync};
use liverc_sim::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[expect(dead_code, reason = "this binary uses only the Postgres test database")]
mod support;

const TOKEN: &str = "process-test-token-0123456789";

struct Api {
    child: Child,
    base: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ingest-api` on a SQLite file in `dir`, with only the environment given
/// here (plus `extra`).
fn api_command(dir: &std::path::Path, args: &[&str], extra: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ingest-api"));
    command
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("tracks.db").display()),
        )
        .env("MRE_ADMIN_API_TOKENS", TOKEN)
        .env("MRE_TRACK_SYNC_REPORT_DIR", dir.join("reports"))
        .env("MRE_JOB_POLL_SECONDS", "1");
    for (name, value) in extra {
        command.env(name, value);
    }
    command
}

fn start_api(sim: &liverc_sim::RunningSim, dir: &std::path::Path) -> Api {
    start(api_command(
        dir,
        &["--with-worker"],
        &[
            ("MRE_LIVERC_CATALOGUE_URL", sim.catalogue_url()),
            ("MRE_LIVERC_TRACK_URL_TEMPLATE", sim.track_url_template()),
        ],
    ))
}

/// Spawn and wait for the first line, `listening on http://…`.
fn start(mut command: Command) -> Api {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ingest-api starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(!base.ends_with(":0"), "port 0 is resolved: {base}");
    Api { child, base }
}

fn args(base: &str, token: &str, wait: bool) -> RemoteSyncArgs {
    RemoteSyncArgs {
        api_url: base.to_owned(),
        token: Some(token.to_owned()),
        wait,
        metadata: Some(ingest_core::MetadataMode::All),
        concurrency: None,
        force: false,
        trigger: "cron".to_owned(),
        poll_seconds: 1,
        timeout_minutes: 2,
        json: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_binary_runs_jobs_that_the_remote_client_follows() {
    let sim = Simulator::start(
        SimConfig {
            tracks: 120,
            latency: Duration::from_millis(25),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("dir");
    let mut api = start_api(&sim, dir.path());
    let mut log = |_: &str| {};

    // Enqueue without waiting: prints the job id.
    let mut out = Vec::new();
    let code = remote_sync(&args(&api.base, TOKEN, false), &mut out, &mut log)
        .await
        .expect("remote sync");
    assert_eq!(code, 0);
    let job_id = String::from_utf8(out).expect("utf8").trim().to_owned();
    assert_eq!(job_id.len(), 36, "a job id: {job_id}");

    // While it runs, another enqueue is skipped (exit 4); a bad token is 1.
    let code = remote_sync(&args(&api.base, TOKEN, true), &mut Vec::new(), &mut log)
        .await
        .expect("remote sync");
    assert_eq!(code, 4, "skipped while a run is active");
    let code = remote_sync(
        &args(&api.base, "not-the-token-0123456789", true),
        &mut Vec::new(),
        &mut log,
    )
    .await
    .expect("remote sync");
    assert_eq!(code, 1);

    // Wait for the first to end, then a cron-style run with --wait: 0.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = http
            .get(format!("{}/api/v1/tracks/sync/{job_id}", api.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("status")
            .text()
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        if v["status"] == "succeeded" {
            assert_eq!(v["trigger"], "cron");
            assert_eq!(v["tracksAdded"], 120);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "first job did not finish: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut out = Vec::new();
    let code = remote_sync(&args(&api.base, TOKEN, true), &mut out, &mut log)
        .await
        .expect("remote sync");
    let out = String::from_utf8(out).expect("utf8");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("succeeded"), "{out}");
    assert!(out.contains("/report"), "the report link is printed: {out}");

    // SIGTERM: a clean exit.
    let pid = api.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = api.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ingest-api did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The geocoder is only read where syncs run: configured for Nominatim but
/// without the required user agent, the API alone starts and serves, and
/// `--with-worker` refuses to start, naming the setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_alone_starts_without_the_settings_only_syncs_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sync_only = [("MRE_GEOCODER", "nominatim".to_owned())];

    let api = start(api_command(dir.path(), &[], &sync_only));
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let tracks = http
        .get(format!("{}/api/v1/tracks", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("tracks");
    assert_eq!(tracks.status(), 200, "the API serves from the database");
    drop(api);

    let refused = api_command(dir.path(), &["--with-worker"], &sync_only)
        .output()
        .expect("ingest-api runs");
    assert!(!refused.status.success(), "a worker needs the geocoder");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("MRE_NOMINATIM_USER_AGENT"),
        "the error names the setting: {stderr}"
    );
    assert!(refused.stdout.is_empty(), "it never listened");
}

/// `ingest-api` alone (no worker) on SQLite with a one-second header-read
/// timeout: a client that sends half a request head is disconnected after
/// that second, without a response, while `/healthz` answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_cuts_off_a_client_that_never_finishes_its_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let api = start(api_command(
        dir.path(),
        &[],
        &[("MRE_API_HEADER_READ_TIMEOUT_SECONDS", "1".to_owned())],
    ));
    let addr: SocketAddr = api
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("ip:port");

    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /api/v1/tracks HTTP/1.1\r\nHost: test\r\nAuthor")
        .await
        .expect("write");
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(format!("{}/healthz", api.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("healthz answers while the slow client is held");
    assert_eq!(health.status(), 200);
    let healthz_latency = started.elapsed();

    let mut received = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut received))
        .await
        .expect("the slow client is disconnected within 5 s");
    let cut_off = started.elapsed();
    assert!(closed.is_ok() || received.is_empty());
    assert!(received.is_empty(), "no response to half a request");
    assert!(
        cut_off >= Duration::from_millis(900) && cut_off < Duration::from_millis(2500),
        "cut off after {cut_off:?}"
    );
    eprintln!("slow client cut off after {cut_off:?}; /healthz meanwhile in {healthz_latency:?}");
}

/// What the proxy between the API and PostgreSQL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Forwards both ways.
    Up,
    /// Accepts connections and never answers; open connections go silent
    /// too (a partition, a hung server): the case no error reveals.
    Silent,
    /// The port is closed: connections are refused (a stopped server).
    Refused,
    /// Accepts connections and closes them at once; open ones are closed.
    Reset,
}

/// A TCP proxy on loopback in front of PostgreSQL whose link the test
/// breaks and mends.
struct PgProxy {
    addr: SocketAddr,
    link: watch::Sender<Link>,
}

impl PgProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (link, rx) = watch::channel(Link::Up);
        tokio::spawn(proxy_loop(listener, addr, upstream, rx));
        Self { addr, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn proxy_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut link: watch::Receiver<Link>,
) {
    let mut listener = Some(listener);
    loop {
        let now = *link.borrow_and_update();
        if now == Link::Refused {
            // Closing the listening socket is what makes connects refused.
            listener = None;
        } else if listener.is_none() {
            listener = Some(TcpListener::bind(addr).await.expect("the port again"));
        }
        let Some(open) = &listener else {
            if link.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            changed = link.changed() => if changed.is_err() { return },
            accepted = open.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(proxy_connection(client, upstream, link.clone()));
                }
            }
        }
    }
}

async fn proxy_connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut link: watch::Receiver<Link>,
) {
    let now = *link.borrow_and_update();
    match now {
        Link::Up => {}
        Link::Silent => {
            // Hold it without a byte until the link changes.
            change_from(&mut link, Link::Silent).await;
            return;
        }
        Link::Refused | Link::Reset => return,
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        broken = change_from(&mut link, Link::Up) => {
            // A silent link keeps both sockets open and forwards nothing
            // until it changes again; the others drop them now.
            if broken == Some(Link::Silent) {
                change_from(&mut link, Link::Silent).await;
            }
        }
    }
}

/// The link's next state other than `from` (`None`: the test is over).
async fn change_from(link: &mut watch::Receiver<Link>, from: Link) -> Option<Link> {
    link.wait_for(|l| *l != from).await.ok().map(|l| *l)
}

/// `url` with its `host:port` replaced by `proxy`, and the original `host:port`.
fn through_proxy(url: &str, proxy: SocketAddr) -> (String, SocketAddr) {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let (host_port, path) = rest.split_once('/').expect("a database name");
    let upstream = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let upstream: SocketAddr = upstream
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("an IP address and port in the test database URL");
    let at = if userinfo.is_empty() { "" } else { "@" };
    (format!("{scheme}://{userinfo}{at}{proxy}/{path}"), upstream)
}

/// One request; its status, `error.code` (if any) and how long it took.
async fn timed(
    http: &reqwest::Client,
    method: &str,
    url: String,
) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let method: reqwest::Method = method.parse().expect("method");
    let response = http
        .request(method, &url)
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: no answer: {e}"));
    let status = response.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or_default();
    let code = body["error"]["code"].as_str().map(str::to_owned);
    (status, code, started.elapsed())
}

/// `ingest-api` on PostgreSQL through [`PgProxy`]. Every database route of
/// the served OpenAPI document (every `/api/v1` operation) is called with
/// the link up, then silent, refused and reset: each must answer `503
/// unavailable` within 5 s (`/readyz` `503 not_ready`), while `/healthz`
/// stays `200`. Mended, the API serves again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_gone_every_database_route_answers_503_within_5_s() {
    const BOUND: Duration = Duration::from_secs(5);
    let db = support::TestDb::new().await;
    let placeholder: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let (_, upstream) = through_proxy(&db.url, placeholder);
    let proxy = PgProxy::start(upstream).await;
    let (proxied_url, _) = through_proxy(&db.url, proxy.addr);
    let dir = tempfile::tempdir().expect("temp dir");
    let api = start(api_command(
        dir.path(),
        &[],
        &[("DATABASE_URL", proxied_url)],
    ));
    let http = reqwest::Client::new();

    // A job to address: enqueued (no worker: it stays queued).
    let enqueued = http
        .post(format!("{}/api/v1/tracks/sync", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("enqueue");
    assert_eq!(enqueued.status(), 202);
    let job: serde_json::Value =
        serde_json::from_str(&enqueued.text().await.expect("body")).expect("json");
    let job_id = job["jobId"].as_str().expect("jobId").to_owned();

    // The database routes, from the document the API serves.
    let doc = http
        .get(format!("{}/api/openapi.json", api.base))
        .send()
        .await
        .expect("document")
        .text()
        .await
        .expect("body");
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("json");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in item.as_object().expect("path item").keys() {
            routes.push((
                method.to_uppercase(),
                path.replace("{jobId}", &job_id)
                    .replace("{slug}", "some-track"),
            ));
        }
    }
    assert_eq!(routes.len(), 9, "{routes:?}");

    // Up: every route answers, none with a server error.
    for (method, path) in &routes {
        let (status, code, _) = timed(&http, method, format!("{}{path}", api.base)).await;
        assert!(status < 500, "{method} {path}: {status} {code:?}");
    }

    for link in [Link::Silent, Link::Refused, Link::Reset] {
        proxy.set(link);
        let calls = routes.iter().map(|(method, path)| {
            let http = http.clone();
            let url = format!("{}{path}", api.base);
            async move { (method, path, timed(&http, method, url).await) }
        });
        let (results, ready, health) = tokio::join!(
            futures::future::join_all(calls),
            timed(&http, "GET", format!("{}/readyz", api.base)),
            async {
                // Liveness does not depend on the database.
                tokio::time::sleep(Duration::from_millis(500)).await;
                timed(&http, "GET", format!("{}/healthz", api.base)).await
            },
        );
        let mut slowest = Duration::ZERO;
        for (method, path, (status, code, took)) in results {
            assert_eq!(
                (status, code.as_deref()),
                (503, Some("unavailable")),
                "{link:?}: {method} {path}"
            );
            assert!(took <= BOUND, "{link:?}: {method} {path} took {took:?}");
            slowest = slowest.max(took);
        }
        assert_eq!(
            (ready.0, ready.1.as_deref()),
            (503, Some("not_ready")),
            "{link:?}"
        );
        assert!(ready.2 <= BOUND, "{link:?}: /readyz took {:?}", ready.2);
        assert_eq!(health.0, 200, "{link:?}: /healthz");
        assert!(
            health.2 < Duration::from_secs(1),
            "{link:?}: /healthz took {:?}",
            health.2
        );
        eprintln!(
            "link {link:?}: {} database routes answered 503, slowest in {slowest:?}; /readyz 503 in {:?}; /healthz 200 in {:?}",
            routes.len(),
            ready.2,
            health.2
        );
    }

    // Mended: the same process serves again.
    proxy.set(Link::Up);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, _) = timed(&http, "GET", format!("{}/api/v1/tracks", api.base)).await;
        let (ready, _, _) = timed(&http, "GET", format!("{}/readyz", api.base)).await;
        if status == 200 && ready == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not serving again: {status}, /readyz {ready}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(api);
}

/// Each process exports only what it owns: an `ingest-api` without a worker
/// runs no syncs, so it exports no run counters and no last-run gauges (a
/// Prometheus would believe their zeros), only its build; with a worker it
/// exports the sync metrics too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_without_a_worker_exports_no_run_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::new();
    let scrape = |base: String| {
        let http = http.clone();
        async move {
            let answer = http
                .get(format!("{base}/metrics"))
                .send()
                .await
                .expect("metrics");
            assert_eq!(answer.status(), 200);
            answer.text().await.expect("body")
        }
    };

    let alone = start(api_command(dir.path(), &[], &[]));
    let text = scrape(alone.base.clone()).await;
    assert!(
        text.contains("liverc_build_info{service=\"ingest-api\""),
        "the build is exported: {text}"
    );
    // The scrape is counted once it is answered: the next one shows it.
    let again = scrape(alone.base.clone()).await;
    assert!(
        again.contains("http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"} 1"),
        "the API's own request metrics are exported: {again}"
    );
    for owned_by_runs in [
        "liverc_sync_runs",
        "liverc_sync_run_duration",
        "liverc_active_tracks",
        "liverc_dashboards_in_flight",
        "liverc_tracks_added",
        "liverc_sla_",
    ] {
        assert!(
            !text.contains(owned_by_runs),
            "an API without a worker exports {owned_by_runs}: {text}"
        );
    }
    drop(alone);

    let sim = Simulator::start(
        SimConfig {
            tracks: 20,
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let with_worker = start_api(&sim, dir.path());
    let text = scrape(with_worker.base.clone()).await;
    assert!(
        text.contains("liverc_sync_runs_total{outcome=\"succeeded\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("liverc_sla_runs_total{met=\"true\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("liverc_build_info{service=\"ingest-api\""),
        "{text}"
    );
}

/// Every metric name in `text` that starts with one of `prefixes`: the
/// words `[a-z0-9_]+` beginning with them.
fn metric_names(text: &str, prefixes: &[&str]) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !word(bytes[i - 1]);
        if starts_word && prefixes.iter().any(|p| text[i..].starts_with(p)) {
            let end = (i..bytes.len())
                .find(|&j| !word(bytes[j]))
                .unwrap_or(bytes.len());
            names.insert(text[i..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// The families a Prometheus exposition declares (`# TYPE`), with a
/// counter's `_total` sample name, and every sample name in it.
fn exported(exposition: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                names.insert(name.to_owned());
                if kind == "counter" {
                    names.insert(format!("{name}_total"));
                }
            }
        } else if !line.starts_with('#') {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// The monitoring the project ships (Prometheus rules, the Grafana
/// dashboard) names only metrics a real API with a worker exports once it
/// has run a sync: a renamed or dropped metric fails here, not silently on
/// an operator's dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_rules_and_the_dashboard_name_is_exported_after_a_sync() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let monitoring = root.join("docker/monitoring");
    let mut named = std::collections::BTreeMap::<String, String>::new();
    for file in [
        "rules/liverc.yml",
        "grafana/dashboards/liverc-ingestion.json",
    ] {
        let text = std::fs::read_to_string(monitoring.join(file)).expect("monitoring file");
        for name in metric_names(&text, &["liverc_", "http_"]) {
            named.entry(name).or_insert_with(|| file.to_owned());
        }
    }
    assert!(
        named.len() >= 20,
        "the rules and the dashboard name the service's metrics: {named:?}"
    );

    let sim = Simulator::start(
        SimConfig {
            tracks: 30,
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let api = start_api(&sim, dir.path());
    let mut out = Vec::new();
    let code = remote_sync(&args(&api.base, TOKEN, true), &mut out, &mut |_: &str| {})
        .await
        .expect("remote sync");
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));

    let exposition = reqwest::get(format!("{}/metrics", api.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let exported = exported(&exposition);
    let missing: Vec<String> = named
        .iter()
        .filter(|(name, _)| {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            !exported.contains(name.as_str()) && !exported.contains(family)
        })
        .map(|(name, file)| format!("{name} (named in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "named by the monitoring but not exported: {missing:#?}\n{exposition}"
    );
    // After a success the queue's series say so.
    assert!(
        exposition.lines().any(
            |l| l.starts_with("liverc_last_success_timestamp_seconds ") && !l.ends_with(" 0.0")
        ),
        "{exposition}"
    );
}
