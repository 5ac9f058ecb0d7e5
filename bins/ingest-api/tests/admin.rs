//! The admin page in a real browser: headless Chromium driven over
//! WebDriver (a chromedriver this test spawns on loopback), against the
//! LiveRC simulator, a Postgres test database, the API router served on
//! loopback and one worker, all in this process.
//!
//! Covered: a wrong token shows the 401 message and is forgotten; the right
//! one is kept in sessionStorage only; starting a sync shows a live progress
//! bar that reaches 100%; the run shows as succeeded in the list with its
//! metadata failure and the report's "Metadata errors" section; the report
//! is drawn from its data (the report route's JSON, never its Markdown): the
//! sections the Markdown report has, in its order, the figures the JSON
//! holds, and a hostile scraped track name (HTML and Markdown
//! metacharacters) as the literal text it is, executing nothing; the
//! Markdown downloads as it is archived; the quality panel agrees with the
//! API; a held run (the site loses most phones at once: the
//! markup-drift guard keeps them and the run ends `drift_suspected`) is
//! shown as such, with its held field, its explanation, its track pending
//! deactivation and its report's drift section, and its one-click re-run
//! accepting the loss clears the phones; a 409 follows the active job, which
//! the page then cancels and resumes; a report whose archived data cannot
//! be read says so and still offers its Markdown; the kill switch's 503 is
//! explained.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium` and `chromium-driver`; other paths through `MRE_CHROMIUM` and
//! `MRE_CHROMEDRIVER`). Without them the test fails, saying so: CI installs
//! them. `MRE_ADMIN_SCREENSHOT=/tmp/admin.png` saves a screenshot of the
//! page with a drawn report (and `/tmp/admin.hostile.png`, its hostile
//! track's entry; `/tmp/admin.unreadable.png`, a report whose data cannot
//! be read), and two of the held run next to it
//! (`/tmp/admin-held.png`, `/tmp/admin-held.report.png`, its report's drift
//! section); a failing run saves one next to the system's
//! temporary files and names it.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use ingest_app::wiring::SyncApp;
use ingest_app::worker::Worker;
use ingest_core::{MetadataMode, Trigger};
use liverc_sim::{Fault, SimConfig, Simulator, SiteHandle, TrackField, TrackPatch};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod support;
use support::{TestDb, machine, sync_settings, worker_config};

const TOKEN: &str = "browser-admin-token-0123456789";
const WRONG_TOKEN: &str = "not-the-admin-token-0123456789";
/// Enough tracks, slowly enough served, that a 1 s poll sees the bar move.
const TRACKS: usize = 300;
const LATENCY_MS: u64 = 50;
const CONCURRENCY: u16 = 4;
/// What the hostile track is renamed to: HTML and Markdown that must stay
/// text (and scripts that must never run).
const HOSTILE_NAME: &str = "<img src=x onerror=\"window.__mreXss=1\"> **Bold** [x](javascript:alert(1)) \
     | `tick` &amp; <script>window.__mreXss=2</script>";
/// How long any one step may take.
const STEP: Duration = Duration::from_secs(15);

fn spawn_worker(app: &SyncApp) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let worker = Worker::new(
        app.jobs.clone(),
        app.service.clone(),
        app.report_writer.clone(),
        sync_settings().options(Trigger::Api),
        worker_config(
            "browser-test",
            Duration::from_secs(10),
            Duration::from_secs(2),
        ),
        None,
    );
    let stop = CancellationToken::new();
    (
        stop.clone(),
        tokio::spawn(async move { worker.run(stop).await }),
    )
}

/// The router of `app` on loopback; its base URL.
async fn serve(app: &SyncApp, scrape_enabled: bool) -> String {
    support::serve_api(app, TOKEN, scrape_enabled, MetadataMode::Changed).await
}

/// The API as the test sees it (to check what the page shows).
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// A job's report: its data (`Accept: application/json`) and its
    /// Markdown (no `Accept`: the default).
    async fn report(&self, job_id: &str) -> (Value, String) {
        let path = format!("/api/v1/tracks/sync/{job_id}/report");
        let (json_type, json) = self.report_as(&path, Some("application/json")).await;
        assert_eq!(json_type, "application/json");
        let (markdown_type, markdown) = self.report_as(&path, None).await;
        assert_eq!(markdown_type, "text/markdown; charset=utf-8");
        (serde_json::from_str(&json).expect("report JSON"), markdown)
    }

    /// `GET path` with this `Accept` (none: no header): content type and body.
    async fn report_as(&self, path: &str, accept: Option<&str>) -> (String, String) {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.expect("report request");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (content_type, response.text().await.expect("body"))
    }
}

// -------------------------------------------------------------- browser ----

/// A binary the test needs, or a failure that says how to get it.
fn required_binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: the admin page's browser test needs Chromium and its WebDriver. \
         Install them (Debian: `apt-get install -y chromium chromium-driver`) or point \
         {env} at the binary.",
        path.display()
    );
    path
}

/// A chromedriver process on a loopback port. Killed on drop.
struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start(driver: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chromedriver.log");
        // Port 0: chromedriver binds a free port itself and says which on
        // stdout, so no other process can take it between a probe and the
        // bind.
        let mut child = Command::new(driver)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        // A thread reads stdout to its end (a closed pipe could kill
        // chromedriver on its next line) and hands over the port it names.
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1)
                    && let Ok(port) = rest.trim_end_matches('.').trim().parse::<u16>()
                {
                    let _ = port_tx.send(port);
                }
            }
        });
        let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(STEP))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("chromedriver did not say which port it listens on")
            });
        let mut this = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        this.wait_ready().await;
        this
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(response) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(text) = response.text().await
                && let Ok(body) = serde_json::from_str::<Value>(&text)
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for ChromeDriver {
    /// Chromedriver, by its id. The browser it started ends with the session,
    /// which the test closes before dropping the driver, pass or fail.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session that can reach loopback and nothing else.
async fn browser_session(driver: &ChromeDriver, chromium: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,2000",
                "--lang=en-US",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-sync",
                "--disable-domain-reliability",
                "--disable-client-side-phishing-detection",
                "--metrics-recording-only",
                "--no-pings",
                // Tests never contact outside hosts: any name but loopback
                // fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
            ],
        },
    });
    let capabilities = capabilities
        .as_object()
        .cloned()
        .expect("an object literal");
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}\n{}", driver.log_tail()))
}

/// The page under test, with the few things every step needs.
#[derive(Clone)]
struct Page {
    client: Client,
}

impl Page {
    /// Run `script` (a function body) in the page; its return value.
    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    async fn id(&self, id: &str) -> Element {
        self.client
            .wait()
            .at_most(STEP)
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} never appeared: {e}"))
    }

    async fn type_into(&self, id: &str, text: &str) {
        let input = self.id(id).await;
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }

    async fn click_id(&self, id: &str) {
        self.click(Locator::Id(id)).await;
    }

    async fn click_css(&self, css: &str) {
        self.click(Locator::Css(css)).await;
    }

    /// Click what `locator` finds once it is there and clickable. A list
    /// re-rendered under the pointer, or a smooth scroll still moving the
    /// page, is tried again: WebDriver refuses such a click without
    /// performing it.
    async fn click(&self, locator: Locator<'_>) {
        let deadline = Instant::now() + STEP;
        loop {
            let error = match self.client.find(locator).await {
                Ok(element) => {
                    // As a person would: bring it to the middle of the
                    // window, clear of the sticky header.
                    let target = serde_json::to_value(&element).expect("element reference");
                    self.js(
                        "arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' });",
                        vec![target],
                    )
                    .await;
                    match element.click().await {
                        Ok(()) => return,
                        Err(e) => e.to_string(),
                    }
                }
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "cannot click {locator:?}: {error}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of `#id` (as `textContent`, visible or not).
    async fn text(&self, id: &str) -> String {
        self.js(
            "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
            vec![json!(id)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Whether `#id` exists and is not hidden.
    async fn visible(&self, id: &str) -> bool {
        self.js(
            "const e = document.getElementById(arguments[0]);
             return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
            vec![json!(id)],
        )
        .await
            == json!(true)
    }

    /// Poll `probe` every 100 ms until it answers `Some`.
    async fn until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; error banner: {:?}, notice: {:?}, auth: {:?}",
                self.text("error-banner").await,
                self.text("notice").await,
                self.text("auth-error").await,
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn until_text(&self, id: &str, wanted: impl Fn(&str) -> bool) -> String {
        self.until(&format!("#{id}'s text"), STEP, async || {
            let text = self.text(id).await;
            wanted(&text).then_some(text)
        })
        .await
    }

    /// The state of the storage the token could leak into.
    async fn storage(&self) -> Value {
        self.js(
            "return { session: sessionStorage.getItem('mre.admin.token'),
                      sessionKeys: sessionStorage.length, local: localStorage.length,
                      cookie: document.cookie, url: location.href,
                      input: document.getElementById('token-input').value };",
            vec![],
        )
        .await
    }
}

// ---------------------------------------------------------------- tests ----

/// What the scenario needs besides the browser.
struct Stack {
    base: String,
    kill_switch_base: String,
    api: Api,
    worker: (CancellationToken, tokio::task::JoinHandle<()>),
    hostile_slug: String,
    failing_slug: String,
    site: SiteHandle,
    archive: std::sync::Arc<dyn ingest_core::ReportArchive>,
    jobs: std::sync::Arc<dyn ingest_core::JobQueue>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_page_runs_and_follows_a_sync_in_a_real_browser() {
    let chromium = required_binary("MRE_CHROMIUM", "/usr/bin/chromium");
    let driver_path = required_binary("MRE_CHROMEDRIVER", "/usr/bin/chromedriver");

    let sim = Simulator::start(
        SimConfig {
            tracks: TRACKS,
            latency: Duration::from_millis(LATENCY_MS),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let slugs = sim.site().slugs();
    let (hostile_slug, failing_slug) = (slugs[0].clone(), slugs[1].clone());
    sim.site()
        .rename(&hostile_slug, HOSTILE_NAME)
        .expect("rename");
    // One dashboard that never parses: a metadata failure in the run.
    sim.site().inject(&failing_slug, Fault::Malformed, u32::MAX);

    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let base = serve(&app, true).await;
    let stack = Stack {
        kill_switch_base: serve(&app, false).await,
        api: Api {
            base: base.clone(),
            http: reqwest::Client::new(),
        },
        base,
        worker: spawn_worker(&app),
        hostile_slug,
        failing_slug,
        site: sim.site(),
        archive: app.reports.clone(),
        jobs: app.jobs.clone(),
    };

    let driver = ChromeDriver::start(&driver_path).await;
    let client = browser_session(&driver, &chromium).await;
    let page = Page {
        client: client.clone(),
    };
    // Caught, so that a failing step still gets its screenshot and a closed
    // session before the panic goes on.
    let outcome = AssertUnwindSafe(scenario(page, stack)).catch_unwind().await;
    if outcome.is_err() {
        let path = std::env::temp_dir().join(format!(
            "ingest-admin-failure-{}.png",
            uuid::Uuid::now_v7().simple()
        ));
        if let Ok(png) = client.screenshot().await
            && std::fs::write(&path, png).is_ok()
        {
            eprintln!("admin page at the failure: {}", path.display());
        }
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn scenario(page: Page, stack: Stack) {
    let started = Instant::now();
    let admin = format!("{}/admin", stack.base);
    page.client.goto(&admin).await.expect("open /admin");
    assert!(
        page.client
            .title()
            .await
            .expect("title")
            .contains("Track sync"),
        "the admin page loaded"
    );

    // ---- 1. A wrong token: the 401 message, and the token is not kept.
    page.type_into("token-input", WRONG_TOKEN).await;
    page.click_id("token-save").await;
    let message = page.until_text("auth-error", |t| t.contains("401")).await;
    assert!(page.visible("auth-error").await);
    assert!(message.contains("not accepted"), "{message}");
    assert_eq!(page.text("connection").await, "Token refused");
    let storage = page.storage().await;
    assert_eq!(
        storage["session"],
        Value::Null,
        "a refused token is forgotten"
    );
    assert_eq!(storage["local"], 0);

    // ---- 2. The right token: kept in sessionStorage only.
    page.type_into("token-input", TOKEN).await;
    page.click_id("token-save").await;
    page.until_text("connection", |t| t == "Connected").await;
    assert!(!page.visible("auth-error").await, "the 401 message is gone");
    assert!(page.visible("runs-empty").await, "no runs yet");
    let storage = page.storage().await;
    assert_eq!(storage["session"], TOKEN);
    assert_eq!(storage["sessionKeys"], 1);
    assert_eq!(storage["local"], 0, "nothing in localStorage");
    assert_eq!(storage["cookie"], "", "no cookie");
    assert_eq!(storage["input"], "", "the token does not stay in the field");
    let url = storage["url"].as_str().unwrap_or_default();
    assert!(!url.contains(TOKEN) && !url.contains('?'), "{url}");

    // ---- 3. Start a sync with options; the bar moves to 100%.
    page.id("opt-metadata")
        .await
        .select_by_value("all")
        .await
        .expect("select");
    page.type_into("opt-concurrency", &CONCURRENCY.to_string())
        .await;
    page.click_id("start-sync").await;
    page.until("the progress panel", STEP, async || {
        page.visible("progress").await.then_some(())
    })
    .await;
    let job_id = page.until_text("active-job-id", |t| t.len() == 36).await;
    let mut seen = Vec::new();
    let mut saw_eta = false;
    let last = page
        .until("the run to finish", Duration::from_secs(45), async || {
            let sample = page
                .js(
                    "const bar = document.getElementById('progress');
                     return { now: bar.getAttribute('aria-valuenow'),
                              status: document.getElementById('active-status').dataset.status,
                              eta: document.getElementById('progress-eta').textContent };",
                    vec![],
                )
                .await;
            if let Some(now) = sample["now"].as_str().and_then(|v| v.parse::<f64>().ok())
                && seen.last() != Some(&now)
            {
                seen.push(now);
            }
            if sample["status"] == "running"
                && sample["eta"].as_str().is_some_and(|e| e.ends_with(" s"))
            {
                saw_eta = true;
            }
            matches!(
                sample["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
            .then_some(sample)
        })
        .await;
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(last["now"], "100", "the bar ends at 100%: {seen:?}");
    assert!(
        seen.iter().any(|v| *v > 0.0 && *v < 100.0),
        "the bar showed progress on the way: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "the bar never goes back: {seen:?}"
    );
    assert!(saw_eta, "an ETA was shown while the run was going");
    assert_eq!(
        page.text("progress-count").await,
        format!("{TRACKS} / {TRACKS}")
    );
    assert_eq!(page.text("progress-percent").await, "100%");

    let job = stack
        .api
        .get(&format!("/api/v1/tracks/sync/{job_id}"))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["request"]["metadata"], "all",
        "the page sent its options"
    );
    assert_eq!(job["request"]["concurrency"], CONCURRENCY);
    assert_eq!(job["tracksAdded"], TRACKS);
    assert_eq!(job["metadataFailures"], 1);

    // ---- 4. The run in the list: succeeded, counts, its metadata failure.
    let row = format!("tr[data-testid='run-row'][data-job-id='{job_id}']");
    let cells = page
        .until("the run listed as succeeded", STEP, async || {
            let cells = page
                .js(
                    "const row = document.querySelector(arguments[0]);
                     if (!row || row.dataset.status !== 'succeeded') return null;
                     return Array.from(row.cells, (c) => c.textContent.trim());",
                    vec![json!(row)],
                )
                .await;
            cells.as_array().cloned()
        })
        .await;
    assert_eq!(cells[1], "api", "trigger: {cells:?}");
    assert_eq!(cells[2], "succeeded", "outcome: {cells:?}");
    assert_eq!(cells[5], TRACKS.to_string(), "new: {cells:?}");
    assert_eq!(cells[9], "1", "metadata failures: {cells:?}");
    let problems = format!("tr[data-testid='run-problems'][data-job-id='{job_id}']");
    let summary = page
        .js(
            "return document.querySelector(arguments[0] + \" [data-testid='run-metadata-summary']\").textContent;",
            vec![json!(problems)],
        )
        .await;
    assert!(
        summary
            .as_str()
            .is_some_and(|s| s.starts_with("1 metadata failure:")),
        "{summary}"
    );
    // The page asks for the report's data from here on: every request it
    // makes is recorded with the type it accepts.
    page.js(
        "if (!window.__mreRequests) {
           window.__mreRequests = [];
           const fetch = window.fetch.bind(window);
           window.fetch = (url, init) => {
             const headers = (init && init.headers) || {};
             window.__mreRequests.push({ url: String(url), accept: headers.Accept || null });
             return fetch(url, init);
           };
         }",
        vec![],
    )
    .await;
    let (data, markdown) = stack.api.report(&job_id).await;
    page.click_css(&format!("{problems} [data-testid='run-metadata-errors']"))
        .await;
    let section = page
        .until("the metadata errors section", STEP, async || {
            let section = page
                .js(
                    "const body = document.querySelector(arguments[0] + \" [data-testid='run-metadata-errors-body']\");
                     if (!body || body.hidden) return null;
                     const section = body.querySelector(\"section[data-section='metadata-errors']\");
                     return { heading: body.querySelector('h3') && body.querySelector('h3').textContent,
                              section: !!section,
                              rows: Array.from(body.querySelectorAll(':scope table > tbody > tr'), (tr) => Array.from(tr.cells, (c) => c.textContent)),
                              headings: body.querySelectorAll('h1,h2,h3,h4').length };",
                    vec![json!(problems)],
                )
                .await;
            (!section.is_null()).then_some(section)
        })
        .await;
    assert_eq!(section["heading"], "Metadata errors", "{section}");
    assert_eq!(section["section"], true, "{section}");
    assert_eq!(section["headings"], 1, "only that section: {section}");
    // Drawn from the data: one row per error the JSON lists, its fields in
    // the columns.
    let errors = data["metadataErrors"].as_array().expect("metadataErrors");
    assert_eq!(errors.len(), 1, "{data}");
    let expected: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!([
                e["slug"],
                e["class"],
                e["attempts"].to_string(),
                e["message"].as_str().map(str::trim)
            ])
        })
        .collect();
    assert_eq!(section["rows"], json!(expected), "{section}");
    assert_eq!(
        errors[0]["slug"],
        json!(stack.failing_slug),
        "the failing track is named"
    );

    // ---- 5. The report is drawn from its data; the hostile name stays text.
    page.click_css(&format!("{row} [data-testid='run-report']"))
        .await;
    let report = page
        .until("the drawn report", STEP, async || {
            if !page.visible("report-panel").await {
                return None;
            }
            let report = page
                .js(
                    "const body = document.getElementById('report-body');
                     const title = body.querySelector('h2');
                     if (!title || body.dataset.jobId !== arguments[0]) return null;
                     const cells = (tr) => Array.from(tr.cells, (c) => c.textContent.trim());
                     const summary = Array.from(body.querySelectorAll(\"section[data-section='summary'] tbody tr\"), cells);
                     const hostile = Array.from(body.querySelectorAll(\"section[data-section='new-tracks'] li\"))
                       .find((li) => li.querySelector('code') && li.querySelector('code').textContent === arguments[1]);
                     const newRow = Array.from(body.querySelectorAll('tr'))
                       .find((tr) => tr.cells.length === 2 && tr.cells[0].textContent.trim() === 'New');
                     return {
                       title: title.textContent,
                       sections: Array.from(body.querySelectorAll('section > h3'), (h) => h.textContent),
                       keys: Array.from(body.querySelectorAll('section[data-section]'), (s) => s.dataset.section),
                       summary: Object.fromEntries(summary),
                       newAlign: newRow ? newRow.cells[1].className : null,
                       tables: body.querySelectorAll('table').length,
                       stageSegments: body.querySelectorAll(\"section[data-section='stage-timings'] [data-testid='stage-segment']\").length,
                       stageRows: body.querySelectorAll(\"section[data-section='stage-timings'] tbody tr\").length,
                       items: body.querySelectorAll(\"section[data-section='new-tracks'] ol > li\").length,
                       strong: body.querySelectorAll('strong').length,
                       code: body.querySelectorAll('code').length,
                       hostileName: hostile ? hostile.querySelector('strong').textContent : null,
                       hostileTags: hostile ? Array.from(hostile.querySelectorAll('*'), (e) => e.tagName) : null,
                       hostileLink: hostile && hostile.querySelector('a') ? hostile.querySelector('a').getAttribute('href') : null,
                       text: body.textContent,
                       unsafe: body.querySelectorAll('img, script, iframe, object, [onerror], [style], a[href^=\"javascript\"]').length,
                       scripts: Array.from(document.scripts, (s) => s.getAttribute('src')),
                       xss: window.__mreXss === undefined ? null : window.__mreXss,
                       requests: window.__mreRequests.filter((r) => r.url.endsWith('/report')),
                     };",
                    vec![json!(job_id), json!(stack.hostile_slug)],
                )
                .await;
            (!report.is_null()).then_some(report)
        })
        .await;
    let mut report = report;
    // Kept out of the messages below: the whole report's text is long.
    let text = report["text"].take();
    let text = text.as_str().unwrap_or_default();
    let title = report["title"].as_str().unwrap_or_default();
    let short: String = job_id.replace('-', "").chars().take(8).collect();
    assert_eq!(
        title,
        format!("Track sync report — run {short}"),
        "{report}"
    );
    // The stage bar: one segment a stage (the table's rows but "whole run").
    let stage_rows = report["stageRows"].as_u64().unwrap_or_default();
    assert!(stage_rows >= 3, "{report}");
    assert_eq!(
        report["stageSegments"].as_u64(),
        Some(stage_rows - 1),
        "{report}"
    );
    // Every section of the Markdown report, in its order.
    let markdown_sections: Vec<&str> = markdown
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    assert_eq!(
        report["sections"],
        json!(markdown_sections),
        "the page shows what the Markdown shows"
    );
    for expected in ["Status", "Summary", "New tracks", "Metadata errors"] {
        assert!(
            markdown_sections.contains(&expected),
            "{expected} in {markdown_sections:?}"
        );
    }
    // The figures are the data's.
    let counts = &data["counts"];
    let summary = &report["summary"];
    assert_eq!(summary["In catalogue"], counts["catalogueRows"].to_string());
    assert_eq!(summary["New"], TRACKS.to_string(), "{report}");
    assert_eq!(summary["New"], counts["new"].to_string());
    assert_eq!(
        summary["Dashboards fetched / not modified (304) / skipped / failed"],
        format!(
            "{} / {} / {} / {}",
            counts["dashboardsFetched"],
            counts["dashboardsNotModified"],
            counts["dashboardsSkipped"],
            counts["dashboardsFailed"]
        ),
        "{report}"
    );
    assert_eq!(report["newAlign"], "num", "numbers right-aligned");
    assert!(report["tables"].as_u64() >= Some(3), "{report}");
    assert_eq!(
        report["items"].as_u64(),
        data["newTracks"].as_array().map(|a| a.len() as u64),
        "every new track the data lists"
    );
    assert!(report["strong"].as_u64() > Some(0) && report["code"].as_u64() > Some(0));
    assert!(
        text.contains(&job_id),
        "the report names its run: {}",
        &text[..text.len().min(400)]
    );
    // The hostile name: the whole of it, as text, in its own element; the
    // only elements around it are the page's own.
    assert_eq!(report["hostileName"], HOSTILE_NAME, "{report}");
    assert_eq!(
        report["hostileTags"],
        json!(["STRONG", "CODE", "A"]),
        "{report}"
    );
    let hostile_url = data["newTracks"]
        .as_array()
        .and_then(|tracks| {
            tracks
                .iter()
                .find(|t| t["slug"] == json!(stack.hostile_slug))
        })
        .map(|t| t["trackUrl"].clone())
        .expect("the hostile track in the data");
    assert_eq!(
        report["hostileLink"], hostile_url,
        "the only link is the track's own page"
    );
    assert_eq!(report["unsafe"], 0, "no element came from report text");
    assert_eq!(
        report["scripts"],
        json!(["/admin/app.js"]),
        "no script was added"
    );
    assert_eq!(report["xss"], Value::Null, "no script ran");
    // The page asked for data, never for the Markdown, to draw.
    let requests = report["requests"].as_array().cloned().unwrap_or_default();
    assert!(!requests.is_empty(), "{report}");
    assert!(
        requests.iter().all(|r| r["accept"] == "application/json"),
        "{requests:?}"
    );
    if let Some(path) = std::env::var_os("MRE_ADMIN_SCREENSHOT") {
        page.js(
            "document.getElementById('report-panel').scrollIntoView({ block: 'start' });",
            vec![],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write the screenshot");
        // And the hostile track's entry, in the middle of the window.
        page.js(
            "Array.from(document.querySelectorAll(\"#report-body section[data-section='new-tracks'] li code\"))
               .find((c) => c.textContent === arguments[0])
               .scrollIntoView({ block: 'center' });",
            vec![json!(stack.hostile_slug)],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page.client.screenshot().await.expect("screenshot");
        let path = PathBuf::from(path);
        std::fs::write(path.with_extension("hostile.png"), png).expect("write the screenshot");
    }

    // The Markdown, for download: as archived, named as its file.
    let download = download_markdown(&page).await;
    assert_eq!(download["text"], markdown.as_str(), "the archived Markdown");
    assert_eq!(download["name"], data["fileName"], "{download}");
    assert_eq!(download["type"], "text/markdown;charset=utf-8");

    // ---- 6. The quality panel agrees with the API.
    let quality = stack.api.get("/api/v1/tracks/quality?runs=10").await;
    assert_eq!(quality["runs"][0]["runId"], job_id.as_str(), "{quality}");
    let shown = page
        .until("the quality row", STEP, async || {
            let shown = page
                .js(
                    "const row = document.querySelector(\"tr[data-testid='quality-row'][data-run-id='\" + arguments[0] + \"']\");
                     if (!row) return null;
                     return Array.from(row.querySelectorAll('td[data-field] .pct'), (p) => p.textContent);",
                    vec![json!(job_id)],
                )
                .await;
            shown.as_array().cloned()
        })
        .await;
    let expected: Vec<Value> = ["address", "phone", "email", "website", "coordinates"]
        .iter()
        .map(|f| {
            let pct = quality["runs"][0]["completeness"][f].as_f64().expect("pct");
            json!(format!("{pct:.1}%"))
        })
        .collect();
    assert_eq!(shown, expected);

    // ---- 7. Nothing in the page parses Markdown any more.
    let parser = page.js("return typeof window.mreMarkdown;", vec![]).await;
    assert_eq!(parser, "undefined");

    // ---- 8. A held run, and the re-run that accepts the loss.
    held_run_and_its_acceptance(&page, &stack, &job_id).await;

    // ---- 9. 409: a job is already active; the page follows it, then
    //         cancels and resumes it.
    let (stop, handle) = stack.worker;
    stop.cancel();
    handle.await.expect("worker stops");
    let (status, queued) = stack
        .api
        .send(
            reqwest::Method::POST,
            "/api/v1/tracks/sync",
            Some(json!({"metadata": "none"})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let queued_id = queued["jobId"].as_str().expect("jobId").to_owned();
    page.click_id("start-sync").await;
    let notice = page
        .until_text("notice", |t| t.contains("already active"))
        .await;
    assert!(notice.contains(&queued_id), "{notice}");
    assert!(
        notice.contains("trigger api"),
        "the API's message names the run's trigger: {notice}"
    );
    page.until_text("active-job-id", |t| t == queued_id).await;
    page.until_text("active-status", |t| t == "queued").await;
    let valuenow = page
        .js(
            "return document.getElementById('progress').getAttribute('aria-valuenow');",
            vec![],
        )
        .await;
    assert_eq!(valuenow, Value::Null, "indeterminate while queued");
    assert!(!page.visible("error-banner").await);

    // Cancel asks twice: the first click arms the button.
    page.click_id("active-cancel").await;
    page.until_text("active-cancel", |t| t == "Confirm cancel")
        .await;
    assert_eq!(
        stack
            .api
            .get(&format!("/api/v1/tracks/sync/{queued_id}"))
            .await["status"],
        "queued",
        "one click cancels nothing"
    );
    page.click_id("active-cancel").await;
    page.until_text("active-status", |t| t == "cancelled").await;
    let job = stack
        .api
        .get(&format!("/api/v1/tracks/sync/{queued_id}"))
        .await;
    assert_eq!(job["status"], "cancelled");
    let queued_row = format!("tr[data-testid='run-row'][data-job-id='{queued_id}']");
    page.click_css(&format!("{queued_row} [data-testid='run-resume']"))
        .await;
    page.until_text("active-status", |t| t == "queued").await;
    let job = stack
        .api
        .get(&format!("/api/v1/tracks/sync/{queued_id}"))
        .await;
    assert_eq!(job["status"], "queued", "resumed");
    archive_unreadable_report(&stack.archive, &job_id, &queued_id).await;
    page.click_id("active-cancel").await;
    page.until_text("active-cancel", |t| t == "Confirm cancel")
        .await;
    page.click_id("active-cancel").await;
    page.until_text("active-status", |t| t == "cancelled").await;
    unreadable_report_is_explained(&page, &queued_id).await;

    // ---- 9b. Many runs: pages, a filter, a permalink; the token folded.
    let elsewhere = format!("{}/admin", stack.kill_switch_base);
    runs_paging_filter_and_permalink(
        &page,
        &stack.base,
        &elsewhere,
        &stack.api,
        &stack.jobs,
        &job_id,
    )
    .await;

    // ---- 10. The kill switch: 503 explained, nothing enqueued.
    let jobs_before = stack.api.get("/api/v1/tracks/sync?limit=50").await["items"]
        .as_array()
        .map(Vec::len);
    page.client
        .goto(&format!("{}/admin", stack.kill_switch_base))
        .await
        .expect("open the second server's page");
    // Another origin, another session storage: the token is asked again.
    assert_eq!(page.storage().await["session"], Value::Null);
    page.type_into("token-input", TOKEN).await;
    page.click_id("token-save").await;
    page.until_text("connection", |t| t == "Connected").await;
    page.click_id("start-sync").await;
    let banner = page
        .until_text("error-banner", |t| t.contains("kill switch"))
        .await;
    assert_eq!(
        banner.matches("kill switch").count(),
        1,
        "said once: {banner}"
    );
    assert!(banner.contains("MRE_SCRAPE_ENABLED"), "{banner}");
    assert!(page.visible("error-banner").await);
    let start_disabled = page
        .js(
            "return document.getElementById('start-sync').disabled;",
            vec![],
        )
        .await;
    assert_eq!(
        start_disabled,
        json!(true),
        "Start is off while the switch is"
    );
    let jobs_after = stack.api.get("/api/v1/tracks/sync?limit=50").await["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(jobs_before, jobs_after, "nothing was enqueued");

    assert!(
        started.elapsed() < Duration::from_secs(90),
        "the browser scenario took {:?}",
        started.elapsed()
    );
}

/// 24 more runs (cancelled ones, inserted through the queue): the list shows
/// 20 a page and pages on; the outcome filter shows only what it names; a
/// run's address (`/admin#/runs/{id}`) opens its report on a fresh load;
/// and a working token folds its panel to one line.
async fn runs_paging_filter_and_permalink(
    page: &Page,
    base: &str,
    elsewhere: &str,
    api: &Api,
    jobs: &std::sync::Arc<dyn ingest_core::JobQueue>,
    first_job: &str,
) {
    for n in 0..24 {
        let new = ingest_core::NewJob {
            source: format!("paging-{n}"),
            trigger: Trigger::Api,
            request: ingest_core::JobRequest::default(),
            max_attempts: 1,
        };
        // Inserted already running under a lease, so no worker claims it,
        // then recorded cancelled.
        let claimed = jobs
            .start_claimed(&new, "paging-test", Duration::from_secs(30))
            .await
            .expect("start");
        jobs.finish(
            &claimed.lease,
            &ingest_core::JobOutcome::Finished {
                status: ingest_core::JobStatus::Cancelled,
                summary: None,
                error: Some("cancelled by the paging test".to_owned()),
            },
        )
        .await
        .expect("finish");
    }
    let total = api.get("/api/v1/tracks/sync?limit=200").await["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(total > 20, "more than a page: {total} runs");

    page.client
        .goto(&format!("{base}/admin"))
        .await
        .expect("reload /admin");
    page.until_text("connection", |t| t == "Connected").await;
    assert!(
        !page.visible("token-form").await,
        "the token panel is folded"
    );
    assert!(page.visible("token-change").await);
    let rows = || async {
        page.js(
            "return document.querySelectorAll(\"tr[data-testid='run-row']\").length;",
            vec![],
        )
        .await
    };
    assert_eq!(rows().await, json!(20), "20 runs a page");

    // The trends: one dot a finished run, drawn as SVG in the page.
    let finished = api.get("/api/v1/tracks/sync?limit=200").await["items"]
        .as_array()
        .map_or(0, |items| {
            items
                .iter()
                .filter(|j| !j["runStatus"].is_null() && j["durationSeconds"].as_f64() > Some(0.0))
                .count()
        });
    assert!(finished >= 2, "{finished} finished runs");
    let dots = |chart: &'static str| async move {
        page.js(
            &format!("return document.querySelectorAll('#{chart} svg circle').length;"),
            vec![],
        )
        .await
    };
    page.until("the trends", STEP, async || {
        (dots("chart-completeness").await.as_u64() >= Some(1)).then_some(())
    })
    .await;
    assert_eq!(dots("chart-duration").await, json!(finished));
    assert_eq!(dots("chart-rate").await, json!(finished));
    let caption = page
        .js(
            "return document.querySelector('#chart-rate figcaption').textContent;",
            vec![],
        )
        .await;
    assert!(
        caption
            .as_str()
            .is_some_and(|c| c.starts_with("Pages per second: ") && c.ends_with("/s")),
        "{caption}"
    );
    if let Ok(path) = std::env::var("MRE_ADMIN_SCREENSHOT") {
        page.js(
            "document.getElementById('trends-panel').scrollIntoView();",
            vec![],
        )
        .await;
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(
            std::path::Path::new(&path).with_extension("trends.png"),
            png,
        )
        .expect("write the screenshot");
    }
    let first_page = page.until_text("runs-page", |t| !t.is_empty()).await;
    assert_eq!(first_page, format!("1–20 of {total}"));
    page.click_id("runs-next").await;
    page.until_text("runs-page", |t| t.starts_with("21–")).await;
    page.click_id("runs-prev").await;
    page.until_text("runs-page", |t| t.starts_with("1–")).await;

    // Only succeeded runs: the first run is among them, no cancelled one.
    page.js(
        "const s = document.getElementById('runs-filter'); s.value = 'succeeded'; \
         s.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await;
    let outcomes = page
        .js(
            "return Array.from(document.querySelectorAll(\"tr[data-testid='run-row']\")).map(r => r.dataset.outcome);",
            vec![],
        )
        .await;
    let outcomes: Vec<String> = serde_json::from_value(outcomes).expect("outcomes");
    assert!(!outcomes.is_empty(), "a succeeded run is shown");
    assert!(outcomes.iter().all(|o| o == "succeeded"), "{outcomes:?}");

    // The permalink, opened as a fresh page.
    let link = format!("{base}/admin#/runs/{first_job}");
    page.client.goto(elsewhere).await.expect("elsewhere");
    page.client.goto(&link).await.expect("open the permalink");
    page.until("the linked run's report", STEP, async || {
        page.visible("report-panel").await.then_some(())
    })
    .await;
    let report = page.text("report-body").await;
    assert!(
        report.contains(first_job),
        "the linked run's report: {report}"
    );
    if let Ok(path) = std::env::var("MRE_ADMIN_SCREENSHOT") {
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(
            std::path::Path::new(&path).with_extension("permalink.png"),
            png,
        )
        .expect("write the screenshot");
    }

    // The track browser: a track whose phone the held run's acceptance
    // cleared, found by a piece of its name, and its history.
    let tracks = api.get("/api/v1/tracks?limit=50").await;
    let mut changed = None;
    for track in tracks["items"].as_array().expect("tracks") {
        let slug = track["slug"].as_str().expect("slug");
        let history = api.get(&format!("/api/v1/tracks/{slug}/history")).await;
        if history["items"].as_array().is_some_and(|i| !i.is_empty()) {
            changed = Some((track.clone(), history));
            break;
        }
    }
    let (track, history) = changed.expect("a track with a recorded change");
    let name = track["name"].as_str().expect("name");
    let slug = track["slug"].as_str().expect("slug").to_owned();
    let piece: String = name.chars().skip(1).take(8).collect();
    page.type_into("track-search", &piece).await;
    page.click_id("track-search-go").await;
    let row = format!("tr[data-testid='track-row'][data-slug='{slug}']");
    page.until("the track in the results", STEP, async || {
        let found = page
            .js(
                &format!("return document.querySelector(\"{row}\") !== null;"),
                vec![],
            )
            .await;
        (found == json!(true)).then_some(())
    })
    .await;
    page.click_css(&format!("{row} [data-testid='track-history-open']"))
        .await;
    page.until_text("track-history-title", |t| t.contains("newest first"))
        .await;
    let fields = page
        .js(
            "return Array.from(document.querySelectorAll(\"[data-testid='track-change']\")).map(li => li.dataset.field);",
            vec![],
        )
        .await;
    let expected: Vec<Value> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["field"].clone())
        .collect();
    assert_eq!(
        fields,
        Value::Array(expected),
        "the page lists the API's history"
    );
    if let Ok(path) = std::env::var("MRE_ADMIN_SCREENSHOT") {
        page.js(
            "document.getElementById('tracks-panel').scrollIntoView();",
            vec![],
        )
        .await;
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(
            std::path::Path::new(&path).with_extension("tracks.png"),
            png,
        )
        .expect("write the screenshot");
    }
}

/// The site drops the phone of every track that shows one (and one track
/// altogether); a run started from the page is held by the markup-drift
/// guard, which the page must make unmistakable; its one-click re-run
/// accepting the loss must clear the phones. `first_job`: the first run,
/// plainly succeeded, to compare the held run's badge with.
async fn held_run_and_its_acceptance(page: &Page, stack: &Stack, first_job: &str) {
    // The form's control: "all" covers the fields; nothing chosen by default.
    page.client
        .execute("document.getElementById('opt-drift').open = true;", vec![])
        .await
        .expect("open the drift control");
    page.click_css("#opt-drift input[value='phone']").await;
    page.until_text("opt-drift-summary", |t| t == "phone").await;
    page.click_id("opt-drift-all").await;
    page.until_text("opt-drift-summary", |t| t == "all fields")
        .await;
    let disabled = page
        .js(
            "return document.querySelector(\"#opt-drift input[value='phone']\").disabled;",
            vec![],
        )
        .await;
    assert_eq!(disabled, json!(true), "\"all\" covers the single fields");
    page.click_id("opt-drift-all").await;
    page.click_css("#opt-drift input[value='phone']").await;
    page.until_text("opt-drift-summary", |t| t == "none").await;

    // ---- The site loses most phones at once, and one track.
    let site = &stack.site;
    let with_phone: Vec<String> = site
        .tracks()
        .iter()
        .filter(|t| t.field(TrackField::Phone).is_some())
        .map(|t| t.key())
        .filter(|slug| *slug != stack.failing_slug)
        .collect();
    assert!(
        with_phone.len() >= 20,
        "enough phones to lose: {}",
        with_phone.len()
    );
    let stored = stack.api.get("/api/v1/tracks?limit=1000").await;
    let stored_phones = |tracks: &Value| -> Vec<String> {
        tracks["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|t| !t["phone"].is_null())
                    .filter_map(|t| t["slug"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut before = stored_phones(&stored);
    before.sort();
    let mut expected = with_phone.clone();
    expected.sort();
    assert_eq!(before, expected, "the first run stored the site's phones");
    for slug in &with_phone {
        site.update(
            slug,
            &TrackPatch {
                phone: Some(None),
                ..TrackPatch::default()
            },
        )
        .expect("clear a phone");
    }
    let gone = site
        .slugs()
        .into_iter()
        .rev()
        .find(|s| *s != stack.hostile_slug && *s != stack.failing_slug)
        .expect("a track to remove");
    site.remove(&gone).expect("remove a track");

    // ---- A run from the page: held.
    page.click_id("start-sync").await;
    let held_id = page
        .until_text("active-job-id", |t| t.len() == 36 && t != first_job)
        .await;
    let outcome = page
        .until(
            "the held run to finish",
            Duration::from_secs(45),
            async || {
                let status = page
                    .js(
                        "return document.getElementById('active-status').dataset.status;",
                        vec![],
                    )
                    .await;
                status
                    .as_str()
                    .filter(|s| !matches!(*s, "queued" | "running" | ""))
                    .map(str::to_owned)
            },
        )
        .await;
    assert_eq!(outcome, "drift_suspected");
    let job = stack
        .api
        .get(&format!("/api/v1/tracks/sync/{held_id}"))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["runStatus"], "drift_suspected", "{job}");
    assert_eq!(job["driftHeldFields"], json!(["phone"]), "{job}");
    assert_eq!(job["tracksPendingDeactivation"], 1, "{job}");
    assert_eq!(
        job["request"]["acceptDrift"],
        json!([]),
        "nothing accepted from an empty control"
    );
    let error = job["error"].as_str().expect("a held run explains itself");
    assert!(error.contains("phone"), "{error}");

    // The current-run panel.
    assert_eq!(page.text("active-status").await, "drift suspected");
    assert!(page.visible("active-held").await, "the held box is shown");
    assert!(
        !page.visible("active-error").await || {
            // Only the metadata failure may be in the red box, not the held run.
            !page.text("active-error").await.contains(error)
        }
    );
    let title = page.text("active-held-title").await;
    assert!(title.contains("phone"), "{title}");
    let text = page.text("active-held-text").await;
    assert!(
        text.contains("kept its stored value") && text.contains("re-run accepting"),
        "{text}"
    );
    let message = page.text("active-held-message").await;
    assert!(
        message.contains(error.trim_end_matches('.')),
        "the worker's message is shown: {message}"
    );
    assert_eq!(
        page.text("active-accept-drift").await,
        "Re-run accepting phone"
    );
    assert!(page.visible("active-accept-drift").await);
    assert!(page.visible("active-pending").await);
    assert!(
        page.text("active-pending")
            .await
            .starts_with("1 track is missing from the catalogue, pending deactivation")
    );
    assert_eq!(
        page.js(
            "return document.getElementById('progress').dataset.status;",
            vec![]
        )
        .await,
        "drift_suspected"
    );

    // The list: its own badge, the held field, the explanation, the pending track.
    let row = format!("tr[data-testid='run-row'][data-job-id='{held_id}']");
    let shown = page
        .until("the held run listed", STEP, async || {
            let shown = page
                .js(
                    "const row = document.querySelector(arguments[0]);
                     if (!row || row.dataset.outcome !== 'drift_suspected') return null;
                     const held = document.querySelector(\"tr[data-testid='run-held'][data-job-id='\" + arguments[1] + \"']\");
                     const first = document.querySelector(\"tr[data-testid='run-row'][data-job-id='\" + arguments[2] + \"'] [data-testid='run-status']\");
                     const badge = row.querySelector(\"[data-testid='run-status']\");
                     const q = (root, id) => { const e = root && root.querySelector(\"[data-testid='\" + id + \"']\"); return e ? e.textContent : null; };
                     return {
                       badge: badge.textContent,
                       badgeColor: getComputedStyle(badge).color,
                       badgeBackground: getComputedStyle(badge).backgroundColor,
                       succeededColor: first ? getComputedStyle(first).color : null,
                       heldFields: q(row, 'run-held-fields'),
                       pending: q(row, 'run-pending'),
                       heldTitle: q(held, 'run-held-title'),
                       heldMessage: q(held, 'run-held-message'),
                       button: q(held, 'run-accept-drift'),
                       rowBackground: held ? getComputedStyle(held.cells[0]).backgroundColor : null,
                     };",
                    vec![json!(row), json!(held_id), json!(first_job)],
                )
                .await;
            (!shown.is_null()).then_some(shown)
        })
        .await;
    assert_eq!(shown["badge"], "drift suspected", "{shown}");
    assert_eq!(shown["heldFields"], "held: phone", "{shown}");
    assert_eq!(shown["pending"], "1 pending", "{shown}");
    assert!(
        shown["heldTitle"]
            .as_str()
            .is_some_and(|t| t.contains("drift suspected") && t.contains("phone")),
        "{shown}"
    );
    assert!(
        shown["heldMessage"]
            .as_str()
            .is_some_and(|t| t.contains(error.trim_end_matches('.'))),
        "{shown}"
    );
    assert_eq!(shown["button"], "Re-run accepting phone", "{shown}");
    assert_ne!(
        shown["badgeColor"], shown["succeededColor"],
        "not the colour of succeeded: {shown}"
    );
    // Neither the red of a failure (the problem rows' background).
    let failed_background = page
        .js(
            "const probe = document.createElement('span');
             probe.className = 'badge'; probe.dataset.status = 'failed';
             document.body.append(probe);
             const color = getComputedStyle(probe).backgroundColor;
             probe.remove();
             return color;",
            vec![],
        )
        .await;
    assert_ne!(shown["badgeBackground"], failed_background, "{shown}");

    // The report: the drift section first, its table, the pending track.
    page.click_css(&format!("{row} [data-testid='run-report']"))
        .await;
    let report = page
        .until("the held run's report", STEP, async || {
            let report = page
                .js(
                    "const body = document.getElementById('report-body');
                     if (body.dataset.jobId !== arguments[0]) return null;
                     const headings = Array.from(body.querySelectorAll('h3'));
                     const drift = headings.find((h) => h.textContent === 'Markup drift suspected: fields held');
                     if (!drift) return { sections: headings.map((h) => h.textContent) };
                     let table = null;
                     for (let n = drift.nextElementSibling; n && n.tagName !== 'H3'; n = n.nextElementSibling) {
                       if (!table && n.querySelector('table')) table = n.querySelector('table');
                     }
                     const pending = headings.find((h) => h.textContent === 'Missing, pending deactivation');
                     let pendingText = '';
                     for (let n = pending && pending.nextElementSibling; n && n.tagName !== 'H3'; n = n.nextElementSibling) pendingText += n.textContent;
                     return {
                       sections: headings.map((h) => h.textContent),
                       driftClass: drift.className,
                       head: table ? Array.from(table.querySelectorAll('th'), (c) => c.textContent) : null,
                       firstRow: table && table.tBodies[0].rows[0] ? Array.from(table.tBodies[0].rows[0].cells, (c) => c.textContent) : null,
                       strongHeld: table ? table.querySelectorAll('td strong').length : 0,
                       pendingText,
                     };",
                    vec![json!(held_id)],
                )
                .await;
            (!report.is_null()).then_some(report)
        })
        .await;
    let sections: Vec<&str> = report["sections"]
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        sections.first(),
        Some(&"Markup drift suspected: fields held"),
        "the drift section opens the report: {report}"
    );
    assert!(
        sections.contains(&"Missing, pending deactivation"),
        "{report}"
    );
    assert_eq!(report["driftClass"], "held-heading", "{report}");
    let head = report["head"].as_array().expect("the drift table's head");
    assert!(
        head.first() == Some(&json!("field")) && head.contains(&json!("decision")),
        "{report}"
    );
    assert_eq!(report["firstRow"][0], "phone", "{report}");
    assert_eq!(report["firstRow"][1], "held", "{report}");
    assert!(report["strongHeld"].as_u64() >= Some(1), "{report}");
    assert!(
        report["pendingText"]
            .as_str()
            .is_some_and(|t| t.contains(&gone)),
        "the removed track is pending: {report}"
    );

    if let Some(path) = std::env::var_os("MRE_ADMIN_SCREENSHOT") {
        let path = PathBuf::from(path);
        let held_path = path.with_file_name(format!(
            "{}-held.png",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("admin")
        ));
        // The start form's drift control open (nothing ticked), to see its hint.
        page.js(
            "document.getElementById('opt-drift').open = true; window.scrollTo(0, 0);",
            vec![],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(&held_path, png).expect("write the screenshot");
        // And the report's drift section.
        page.js(
            "document.querySelector('#report-body h3.held-heading').scrollIntoView({ block: 'start' });",
            vec![],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page.client.screenshot().await.expect("screenshot");
        std::fs::write(held_path.with_extension("report.png"), png).expect("write the screenshot");
    }

    // ---- One click (and a confirmation) re-runs accepting exactly the held field.
    page.click_css(&format!(
        "tr[data-testid='run-held'][data-job-id='{held_id}'] [data-testid='run-accept-drift']"
    ))
    .await;
    let question = page
        .client
        .get_alert_text()
        .await
        .expect("the re-run asks for confirmation");
    assert!(question.contains("accepts the loss of phone"), "{question}");
    page.client.accept_alert().await.expect("confirm");
    let accept_id = page
        .until_text("active-job-id", |t| t.len() == 36 && t != held_id)
        .await;
    let outcome = page
        .until(
            "the accepting run to finish",
            Duration::from_secs(45),
            async || {
                let status = page
                    .js(
                        "return document.getElementById('active-status').dataset.status;",
                        vec![],
                    )
                    .await;
                status
                    .as_str()
                    .filter(|s| !matches!(*s, "queued" | "running" | ""))
                    .map(str::to_owned)
            },
        )
        .await;
    assert_eq!(outcome, "succeeded");
    assert!(!page.visible("active-held").await, "nothing held any more");
    let accepting = page.text("active-accepting").await;
    assert!(
        accepting.contains("accepting the loss of phone"),
        "{accepting}"
    );
    let job = stack
        .api
        .get(&format!("/api/v1/tracks/sync/{accept_id}"))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["runStatus"], "succeeded", "{job}");
    assert_eq!(job["request"]["acceptDrift"], json!(["phone"]), "{job}");
    assert_eq!(job["request"]["metadata"], "all", "the held run's options");
    assert_eq!(job["driftHeldFields"], json!([]), "{job}");
    assert_eq!(
        job["tracksDeactivated"], 1,
        "the second complete catalogue without it: {job}"
    );
    assert_eq!(job["tracksPendingDeactivation"], 0, "{job}");
    let after = stack.api.get("/api/v1/tracks?limit=1000").await;
    assert_eq!(
        stored_phones(&after),
        Vec::<String>::new(),
        "every lost phone is cleared"
    );
    let accept_row = format!("tr[data-testid='run-row'][data-job-id='{accept_id}']");
    let cells = page
        .until("the accepting run listed", STEP, async || {
            let cells = page
                .js(
                    "const row = document.querySelector(arguments[0]);
                     if (!row || row.dataset.outcome !== 'succeeded') return null;
                     return { badge: row.querySelector(\"[data-testid='run-status']\").textContent,
                              accepting: row.querySelector(\"[data-testid='run-accepting']\").textContent };",
                    vec![json!(accept_row)],
                )
                .await;
            (!cells.is_null()).then_some(cells)
        })
        .await;
    assert_eq!(cells["badge"], "succeeded", "{cells}");
    assert_eq!(cells["accepting"], "accepting loss of phone", "{cells}");
    page.click_id("report-close").await;
}

/// Click "Download Markdown" with the browser's download replaced by a
/// record of it: the file's name, type and text.
async fn download_markdown(page: &Page) -> Value {
    page.js(
        "window.__mreDownloads = [];
         if (!window.__mreDownloadHooked) {
           window.__mreDownloadHooked = true;
           const create = URL.createObjectURL.bind(URL);
           URL.createObjectURL = (blob) => {
             const url = create(blob);
             window.__mreDownloads.push({ blob, url });
             return url;
           };
           const click = HTMLAnchorElement.prototype.click;
           HTMLAnchorElement.prototype.click = function () {
             const last = window.__mreDownloads[window.__mreDownloads.length - 1];
             if (last && this.hasAttribute('download') && this.getAttribute('href') === last.url) {
               last.name = this.getAttribute('download');
               return undefined;
             }
             return click.call(this);
           };
         }",
        vec![],
    )
    .await;
    page.click_id("report-download").await;
    page.until("the Markdown download", STEP, async || {
        let download = page
            .js(
                "const d = window.__mreDownloads.find((x) => x.name);
                 if (!d) return null;
                 return d.blob.text().then((text) => ({ name: d.name, type: d.blob.type, text }));",
                vec![],
            )
            .await;
        (!download.is_null()).then_some(download)
    })
    .await
}

/// The Markdown of the unreadable report [`archive_unreadable_report`] saves.
const OLD_MARKDOWN: &str =
    "# Track sync report — run (archived by an older version)\n\n## Status\n\n**Succeeded.**\n";

/// Archive a report for `job_id` whose data this version cannot read (an
/// older version's shape), with the times of `template_job`'s report.
async fn archive_unreadable_report(
    archive: &std::sync::Arc<dyn ingest_core::ReportArchive>,
    template_job: &str,
    job_id: &str,
) {
    let template = archive
        .get_report(uuid::Uuid::parse_str(template_job).expect("uuid"))
        .await
        .expect("archive")
        .expect("the first run's report");
    let run_id = uuid::Uuid::parse_str(job_id).expect("uuid");
    archive
        .save_report(&ingest_core::ArchivedReport {
            run_id,
            file_name: format!("track-sync-old-{}.md", run_id.simple()),
            body: OLD_MARKDOWN.to_owned(),
            data: json!({ "run_id": job_id, "status": "ok", "counts": "12 new" }),
            ..template
        })
        .await
        .expect("archive the report");
}

/// A report whose data cannot be read: the page says so in the report
/// panel, not as a failure, and its Markdown still downloads.
async fn unreadable_report_is_explained(page: &Page, job_id: &str) {
    page.until("the report button of the cancelled run", STEP, async || {
        page.visible("active-report").await.then_some(())
    })
    .await;
    page.click_id("active-report").await;
    let shown = page
        .until("the unreadable report", STEP, async || {
            let shown = page
                .js(
                    "const body = document.getElementById('report-body');
                     if (body.dataset.jobId !== arguments[0]) return null;
                     const note = body.querySelector(\"[data-testid='report-unreadable']\");
                     return { note: note ? note.textContent : null, sections: body.querySelectorAll('section').length };",
                    vec![json!(job_id)],
                )
                .await;
            (!shown.is_null()).then_some(shown)
        })
        .await;
    let note = shown["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("cannot be read") && note.contains("Markdown report can still be downloaded"),
        "{shown}"
    );
    assert_eq!(
        shown["sections"], 0,
        "no section drawn from unreadable data"
    );
    if let Some(path) = std::env::var_os("MRE_ADMIN_SCREENSHOT") {
        page.js(
            "document.getElementById('report-panel').scrollIntoView({ block: 'center' });",
            vec![],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page.client.screenshot().await.expect("screenshot");
        let path = PathBuf::from(path);
        std::fs::write(path.with_extension("unreadable.png"), png).expect("write the screenshot");
    }
    assert!(page.visible("report-download").await);
    assert!(
        !page.visible("error-banner").await,
        "not a failure of the page"
    );
    let download = download_markdown(page).await;
    assert_eq!(download["text"], OLD_MARKDOWN, "{download}");
    assert_eq!(
        download["name"],
        format!("track-sync-{job_id}.md"),
        "no file name known without the data"
    );
    page.click_id("report-close").await;
}
