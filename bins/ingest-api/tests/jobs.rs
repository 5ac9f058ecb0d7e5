//! Phase 4 end to end: the LiveRC simulator, Postgres, the API router served
//! on loopback, and workers, all in this process. Workers built from
//! separate `SyncApp`s stand in for separate machines sharing one database.
//!
//! Covered: enqueue → poll → succeeded and the report download; 401 without
//! a token; 409 on a second enqueue; the OpenAPI document; parity of a CLI
//! run and an API run; a worker aborted halfway replaced after its lease;
//! cancel then resume; two workers racing for one job, and the late writes of
//! a fenced-out worker refused.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest_app::wiring::SyncApp;
use ingest_app::worker::{JobRunResult, Worker, WorkerConfig};
use ingest_core::{
    JobRequest, JobStatus, MetadataMode, NewJob, NoProgress, SOURCE_LIVERC, StoredTrack,
    TrackQuery, Trigger,
};
use liverc_sim::{RunningSim, SimConfig, Simulator};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

mod support;
use support::{BATCH, CONCURRENCY, TestDb, machine, sync_settings, worker_config};

const TOKEN: &str = "test-admin-token-0123456789";

async fn simulator(tracks: usize, latency_ms: u64) -> RunningSim {
    Simulator::start(
        SimConfig {
            tracks,
            latency: Duration::from_millis(latency_ms),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts")
}

/// A job of the LiveRC source fetching every dashboard.
fn new_job(trigger: Trigger, max_attempts: u32, force: bool) -> NewJob {
    NewJob {
        source: SOURCE_LIVERC.to_owned(),
        trigger,
        request: JobRequest {
            metadata: MetadataMode::All,
            force,
            ..JobRequest::default()
        },
        max_attempts,
    }
}

/// Poll the job row until `done` holds (90 s at most).
async fn wait_job(
    app: &SyncApp,
    id: ingest_core::JobId,
    what: &str,
    done: impl Fn(&ingest_core::Job) -> bool,
) -> ingest_core::Job {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let j = app.jobs.get(id).await.expect("get").expect("job");
        if done(&j) {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn worker(app: &SyncApp, config: WorkerConfig) -> Worker {
    Worker::new(
        app.jobs.clone(),
        app.service.clone(),
        app.report_writer.clone(),
        sync_settings().options(Trigger::Api),
        config,
        None,
    )
}

/// The API router of `app`, served on loopback; returns its base URL.
async fn serve_api(app: &SyncApp) -> String {
    support::serve_api(app, TOKEN, true, MetadataMode::All).await
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, String, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, r.text().await.expect("body"))
    }

    async fn job(&self, id: &str) -> Value {
        let (status, _, body) = self.get(&format!("/api/v1/tracks/sync/{id}")).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("job JSON")
    }

    /// Poll until the job's status satisfies `done`.
    async fn wait_for(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn status_is(s: &'static str) -> impl Fn(&Value) -> bool {
    move |j| j["status"] == s
}

/// Spawn a worker's loop; cancelling the token stops it.
fn spawn_worker(w: Worker) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    let handle = tokio::spawn(async move { w.run(shutdown).await });
    (stop, handle)
}

/// The stored catalogue in a comparable form: everything a sync decides,
/// nothing that records when it ran.
async fn final_state(app: &SyncApp) -> BTreeMap<String, Value> {
    let rows: Vec<StoredTrack> = app
        .repository
        .list_tracks(
            SOURCE_LIVERC,
            TrackQuery {
                active_only: false,
                limit: 100_000,
                offset: 0,
            },
        )
        .await
        .expect("list tracks");
    let mut out = BTreeMap::new();
    for t in rows {
        let v = serde_json::json!({
            "name": t.catalogue.name,
            "trackUrl": t.catalogue.track_url,
            "eventsUrl": t.catalogue.events_url,
            "lastUpdatedText": t.catalogue.last_updated_text,
            "profile": serde_json::to_value(&t.profile).expect("json"),
            "geo": t.geo.is_some(),
            "active": t.is_active,
            "contentHash": t.content_hash,
            "etag": t.validators.etag,
            "fetched": t.metadata_fetched_at.is_some(),
        });
        assert!(
            out.insert(t.slug.clone(), v).is_none(),
            "duplicate {}",
            t.slug
        );
    }
    out
}

/// An uninterrupted CLI run of the same site into a fresh database.
async fn reference_state(sim: &RunningSim) -> BTreeMap<String, Value> {
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, sim, &reports).await;
    let summary = app
        .service
        .run_sync(
            &sync_settings().options(Trigger::Cli),
            app.report_writer.as_ref(),
            &NoProgress,
        )
        .await;
    assert_eq!(summary.status, ingest_core::RunStatus::Succeeded);
    final_state(&app).await
}

/// A report body without what legitimately differs between two runs of the
/// same site: run ids, times, durations, the trigger line, stage timings.
fn normalise_report(body: &str) -> String {
    let mut out = Vec::new();
    let mut in_timings = false;
    for line in body.lines() {
        if line.starts_with("## ") {
            in_timings = line.starts_with("## Stage timings");
        }
        if in_timings
            || line.starts_with("# Track sync report")
            || [
                "| Run |",
                "| Trigger |",
                "| Started |",
                "| Finished |",
                "| Duration |",
            ]
            .iter()
            .any(|p| line.starts_with(p))
        {
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

// ---------------------------------------------------------------- tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enqueue_poll_succeed_and_download_the_report() {
    let sim = simulator(120, 2).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let api = Api::new(serve_api(&app).await);

    // No token, a wrong token: 401 and nothing enqueued.
    let r = api
        .http
        .post(format!("{}/api/v1/tracks/sync", api.base))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    let r = api
        .http
        .get(format!("{}/api/v1/tracks/sync", api.base))
        .bearer_auth("wrong-token-0123456789")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    assert!(app.jobs.list(10).await.expect("list").is_empty());

    // Enqueue; a second enqueue while it is active: 409 naming the first.
    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all"}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["jobId"].as_str().expect("jobId").to_owned();
    let (status, body) = api.post("/api/v1/tracks/sync", "{}").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "sync_active");
    assert_eq!(body["error"]["jobId"], id.as_str());

    // A worker picks it up; poll until it is done.
    let (stop, handle) = spawn_worker(worker(
        &app,
        worker_config("w1", Duration::from_secs(10), Duration::from_secs(2)),
    ));
    let job = api.wait_for(&id, "success", status_is("succeeded")).await;
    assert_eq!(job["trigger"], "api");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["tracksAdded"], 120);
    assert_eq!(job["processed"], 120);
    assert_eq!(job["total"], 120);
    assert_eq!(job["metadataFailures"], 0);
    assert!(job["completedAt"].is_string() && job["startedAt"].is_string());
    let report_url = job["reportUrl"].as_str().expect("reportUrl").to_owned();

    let (status, content_type, report) = api.get(&report_url).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/markdown"), "{content_type}");
    assert!(report.contains(&id), "the report names its run");
    assert!(report.contains("| New | 120 |"), "{report}");

    // The list and the catalogue.
    let (status, _, list) = api.get("/api/v1/tracks/sync?limit=5").await;
    assert_eq!(status, 200);
    assert!(list.contains(&id));
    let (status, _, tracks) = api
        .get("/api/v1/tracks?active=true&limit=10&offset=0")
        .await;
    assert_eq!(status, 200);
    let tracks: Value = serde_json::from_str(&tracks).expect("json");
    assert_eq!(tracks["total"], 120);
    assert_eq!(tracks["items"].as_array().map(Vec::len), Some(10));

    // The OpenAPI document lists every route.
    let (status, _, doc) = api.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).expect("OpenAPI JSON");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/tracks/sync", "post"),
        ("/api/v1/tracks/sync", "get"),
        ("/api/v1/tracks/sync/{jobId}", "get"),
        ("/api/v1/tracks/sync/{jobId}/report", "get"),
        ("/api/v1/tracks/sync/{jobId}/resume", "post"),
        ("/api/v1/tracks/sync/{jobId}/cancel", "post"),
        ("/api/v1/tracks", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let (status, _, metrics) = api.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("liverc_sync_runs_total{outcome=\"succeeded\"} 1"),
        "run metrics exported: {metrics}"
    );

    stop.cancel();
    handle.await.expect("worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cli_run_and_an_api_run_agree() {
    let sim = simulator(150, 1).await;

    // The CLI path.
    let db_cli = TestDb::new().await;
    let reports_cli = tempfile::tempdir().expect("dir");
    let cli = machine(&db_cli, &sim, &reports_cli).await;
    let cli_summary = cli
        .service
        .run_sync(
            &sync_settings().options(Trigger::Cli),
            cli.report_writer.as_ref(),
            &NoProgress,
        )
        .await;

    // The API path: enqueue, a worker runs it.
    let db_api = TestDb::new().await;
    let reports_api = tempfile::tempdir().expect("dir");
    let app = machine(&db_api, &sim, &reports_api).await;
    let api = Api::new(serve_api(&app).await);
    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all"}"#)
        .await;
    assert_eq!(status, 202);
    let id = body["jobId"].as_str().expect("jobId").to_owned();
    let (stop, handle) = spawn_worker(worker(
        &app,
        worker_config("w1", Duration::from_secs(10), Duration::from_secs(2)),
    ));
    let job = api.wait_for(&id, "success", status_is("succeeded")).await;
    stop.cancel();
    handle.await.expect("worker stops");

    // Identical counts.
    let run_id: uuid::Uuid = id.parse().expect("uuid");
    let api_summary = app
        .jobs
        .get(run_id)
        .await
        .expect("get")
        .and_then(|j| j.summary)
        .expect("summary stored");
    let counts = |s: &ingest_core::SyncSummary| {
        (
            s.status,
            [
                s.tracks_total,
                s.tracks_added,
                s.tracks_updated,
                s.tracks_unchanged,
                s.tracks_churn_only,
                s.tracks_deactivated,
                s.tracks_reactivated,
                s.metadata_fetched,
                s.metadata_not_modified,
                s.metadata_skipped,
                s.metadata_failures,
                s.validation_anomalies,
            ],
        )
    };
    assert_eq!(counts(&cli_summary), counts(&api_summary));
    assert_eq!(job["tracksAdded"], cli_summary.tracks_added);

    // Identical report bodies but for run id, times and trigger.
    let cli_report = cli
        .reports
        .get_report(cli_summary.run_id)
        .await
        .expect("get")
        .expect("CLI report archived");
    let api_report = app
        .reports
        .get_report(run_id)
        .await
        .expect("get")
        .expect("API report archived");
    assert_eq!(cli_report.trigger, "cli");
    assert_eq!(api_report.trigger, "api");
    assert_eq!(
        normalise_report(&cli_report.body),
        normalise_report(&api_report.body)
    );
    assert_eq!(final_state(&cli).await, final_state(&app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_worker_is_replaced_once_its_lease_expires() {
    const TRACKS: usize = 200;
    let sim = simulator(TRACKS, 15).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let a = machine(&db, &sim, &reports).await;
    let b = machine(&db, &sim, &reports).await;
    let job = a
        .jobs
        .enqueue(&new_job(Trigger::Cron, 3, false))
        .await
        .expect("enqueue");
    sim.reset_stats();

    // Worker A runs until about a third is stored, then dies without any
    // cleanup: its task is aborted mid-flight.
    let lease = Duration::from_secs(2);
    let (_stop_a, handle_a) = spawn_worker(worker(
        &a,
        worker_config("a", lease, Duration::from_millis(300)),
    ));
    wait_job(&a, job.id, "progress by worker A", |j| {
        j.progress.processed >= (TRACKS / 3) as u64
    })
    .await;
    handle_a.abort();
    let _ = handle_a.await;
    let killed_at = Instant::now();
    let j = a.jobs.get(job.id).await.expect("get").expect("job");
    assert_eq!(
        j.status,
        JobStatus::Running,
        "the dead worker still holds it"
    );

    // Worker B takes it over after the lease expires and finishes it.
    let (stop_b, handle_b) = spawn_worker(worker(
        &b,
        worker_config("b", lease, Duration::from_millis(300)),
    ));
    let done = wait_job(&b, job.id, "worker B to finish", |j| j.status.is_final()).await;
    stop_b.cancel();
    handle_b.await.expect("worker B stops");
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 2);
    assert!(
        done.completed_at.is_some() && killed_at.elapsed() >= lease,
        "taken over only after the lease"
    );

    // At most tracks + concurrency + batch dashboards were requested.
    let requested = sim.stats().dashboard.total;
    let bound = (TRACKS + usize::from(CONCURRENCY) + BATCH as usize) as u64;
    assert!(
        requested <= bound,
        "{requested} dashboard requests, bound {bound}"
    );
    assert!(requested >= TRACKS as u64);

    // One report covering both attempts; the database equals an
    // uninterrupted run's.
    let summary = done.summary.expect("summary");
    assert_eq!(summary.tracks_added, TRACKS as u64);
    let report = b
        .reports
        .get_report(job.id)
        .await
        .expect("get")
        .expect("report");
    assert!(
        report.body.contains(&format!("| New | {TRACKS} |")),
        "{}",
        report.body
    );
    let state = final_state(&b).await;
    assert_eq!(state.len(), TRACKS, "no track lost or duplicated");
    assert_eq!(state, reference_state(&sim).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_then_resume_ends_like_an_uninterrupted_run() {
    const TRACKS: usize = 160;
    let sim = simulator(TRACKS, 15).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let api = Api::new(serve_api(&app).await);
    let (stop, handle) = spawn_worker(worker(
        &app,
        worker_config("w", Duration::from_secs(10), Duration::from_millis(100)),
    ));

    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all"}"#)
        .await;
    assert_eq!(status, 202);
    let id = body["jobId"].as_str().expect("jobId").to_owned();
    api.wait_for(&id, "some progress", |j| {
        j["processed"].as_u64() >= Some(40)
    })
    .await;
    let (status, body) = api
        .post(&format!("/api/v1/tracks/sync/{id}/cancel"), "")
        .await;
    assert_eq!(status, 202, "{body}");
    let cancelled = api.wait_for(&id, "cancel", status_is("cancelled")).await;
    let processed = cancelled["processed"].as_u64().expect("processed");
    assert!(processed < TRACKS as u64, "cancelled before the end");
    let checkpoint = app
        .jobs
        .checkpoint(id.parse().expect("uuid"))
        .await
        .expect("cp");
    assert_eq!(
        checkpoint.done_slugs.len() as u64,
        processed,
        "the checkpoint stays"
    );
    // Cancelling a final job is refused.
    let (status, _) = api
        .post(&format!("/api/v1/tracks/sync/{id}/cancel"), "")
        .await;
    assert_eq!(status, 409);

    let (status, body) = api
        .post(&format!("/api/v1/tracks/sync/{id}/resume"), "")
        .await;
    assert_eq!(status, 202, "{body}");
    let done = api.wait_for(&id, "success", status_is("succeeded")).await;
    assert_eq!(
        done["tracksAdded"], TRACKS as u64,
        "one report over both attempts"
    );
    assert_eq!(done["attempts"], 2);
    stop.cancel();
    handle.await.expect("worker stops");

    let state = final_state(&app).await;
    assert_eq!(state.len(), TRACKS);
    assert_eq!(state, reference_state(&sim).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_race_and_a_fenced_worker_writes_nothing() {
    const TRACKS: usize = 240;
    let sim = simulator(TRACKS, 40).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let a = machine(&db, &sim, &reports).await;
    let b = machine(&db, &sim, &reports).await;
    let shutdown = CancellationToken::new();

    // 1. Two workers ask for the one job at the same instant: it runs once.
    let first = a
        .jobs
        .enqueue(&new_job(Trigger::Api, 3, false))
        .await
        .expect("enqueue");
    let wa = worker(
        &a,
        worker_config("a", Duration::from_secs(10), Duration::from_millis(300)),
    );
    let wb = worker(
        &b,
        worker_config("b", Duration::from_secs(10), Duration::from_millis(300)),
    );
    let (ra, rb) = tokio::join!(wa.run_once(shutdown.clone()), wb.run_once(shutdown.clone()));
    let (ra, rb) = (ra.expect("claim"), rb.expect("claim"));
    assert_eq!(
        usize::from(ra.is_some()) + usize::from(rb.is_some()),
        1,
        "exactly one worker ran the job"
    );
    let done = a.jobs.get(first.id).await.expect("get").expect("job");
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 1);

    // 2. Worker A holds a 1 s lease it does not renew in time (heartbeat
    // every 30 s) while its run takes longer; B takes the job over when the
    // lease expires. A's next batch, progress and outcome are refused: it
    // stops and records nothing; B finishes the job.
    let second = a
        .jobs
        .enqueue(&new_job(Trigger::Api, 3, false))
        .await
        .expect("enqueue");
    let wa = worker(
        &a,
        worker_config("a", Duration::from_secs(1), Duration::from_secs(30)),
    );
    let take_over = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(r) = wb.run_once(shutdown.clone()).await.expect("claim") {
                return r;
            }
            let j = b.jobs.get(second.id).await.expect("get").expect("job");
            assert!(
                !j.status.is_final(),
                "A finished before its lease ran out: {j:?}"
            );
            assert!(Instant::now() < deadline, "B never got the job");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (ra, rb) = tokio::join!(wa.run_once(shutdown.clone()), take_over);
    assert_eq!(ra.expect("claim"), Some(JobRunResult::LeaseLost));
    assert!(matches!(rb, JobRunResult::Recorded { .. }), "{rb:?}");
    let done = a.jobs.get(second.id).await.expect("get").expect("job");
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 2);
    let state = final_state(&a).await;
    assert_eq!(state.len(), TRACKS);
    assert_eq!(state, reference_state(&sim).await);
    // One report per run, under the job's id: A wrote none for the second.
    let archived = a
        .reports
        .list_reports(SOURCE_LIVERC, 10)
        .await
        .expect("list");
    let ids: Vec<_> = archived.iter().map(|r| r.run_id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&first.id) && ids.contains(&second.id));
}

// --------------------------------------------------------------- alerts ----

fn alerting_worker(app: &SyncApp, url: &str, sla: Option<Duration>) -> Worker {
    let notifier = ingest_alerts::WebhookNotifier::new(ingest_alerts::WebhookConfig {
        timeout: Duration::from_millis(500),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(50),
        ..ingest_alerts::WebhookConfig::new(url)
    })
    .expect("webhook config");
    Worker::new(
        app.jobs.clone(),
        app.service.clone(),
        app.report_writer.clone(),
        sync_settings().options(Trigger::Api),
        worker_config("alerts", Duration::from_secs(10), Duration::from_secs(2)),
        Some(ingest_app::worker::AlertHook {
            notifier: Arc::new(notifier),
            sla,
            public_url: Some("http://ingest.example".to_owned()),
        }),
    )
}

/// Enqueue and run one job to its end with `w`; returns the job.
async fn run_job(app: &SyncApp, w: &Worker, force: bool) -> ingest_core::Job {
    let job = app
        .jobs
        .enqueue(&new_job(Trigger::Cron, 1, force))
        .await
        .expect("enqueue");
    let shutdown = CancellationToken::new();
    let result = w
        .run_once(shutdown)
        .await
        .expect("claim")
        .expect("a job was due");
    assert!(
        matches!(result, JobRunResult::Recorded { .. }),
        "{result:?}"
    );
    app.jobs.get(job.id).await.expect("get").expect("job")
}

/// The events the webhook received once `n` have arrived (and a moment
/// more, to catch any extra).
async fn events(server: &wiremock::MockServer, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = server.received_requests().await.unwrap_or_default();
        if got.len() >= n || Instant::now() > deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let got = server.received_requests().await.unwrap_or_default();
            server.reset().await;
            wiremock::Mock::given(wiremock::matchers::method("POST"))
                .respond_with(wiremock::ResponseTemplate::new(200))
                .mount(server)
                .await;
            return got
                .iter()
                .map(|r| {
                    let v: Value = serde_json::from_slice(&r.body).expect("JSON alert");
                    v["event"].as_str().unwrap_or("?").to_owned()
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_guard_refusals_and_sla_breaches_each_send_one_alert() {
    let sim = simulator(60, 1).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let w = alerting_worker(&app, &hook.uri(), None);

    // A catalogue of the wrong shape: the job fails, one alert.
    sim.site().inject_catalogue(liverc_sim::Fault::Malformed, 1);
    let job = run_job(&app, &w, false).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(events(&hook, 1).await, ["job_failed"]);

    // A failure that would be retried, on the job's last attempt: the queue
    // marks it failed, and that raises the alert too.
    sim.site().inject_catalogue(liverc_sim::Fault::NotFound, 1);
    let job = run_job(&app, &w, false).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.error.as_deref().is_some_and(|e| e.contains("gave up")),
        "{:?}",
        job.error
    );
    assert_eq!(events(&hook, 1).await, ["job_failed"]);

    // A clean run: no alert.
    let job = run_job(&app, &w, false).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    assert!(events(&hook, 0).await.is_empty());

    // A third of the catalogue vanishes: the guard refuses, one alert.
    sim.site().truncate_catalogue(Some(40));
    let job = run_job(&app, &w, false).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(
        job.summary.as_ref().map(|s| s.status),
        Some(ingest_core::RunStatus::GuardRefused)
    );
    assert_eq!(events(&hook, 1).await, ["guard_refused"]);
    sim.site().truncate_catalogue(None);

    // Over the SLA: one alert.
    let slow = alerting_worker(&app, &hook.uri(), Some(Duration::from_millis(1)));
    let job = run_job(&app, &slow, false).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(events(&hook, 1).await, ["sla_breached"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_webhook_never_fails_or_holds_up_a_run() {
    let sim = simulator(40, 1).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", l.local_addr().expect("addr"))
    };
    let w = alerting_worker(&app, &dead, Some(Duration::from_millis(1)));
    sim.site().inject_catalogue(liverc_sim::Fault::Malformed, 1);
    let started = Instant::now();
    let job = run_job(&app, &w, false).await;
    assert_eq!(
        job.status,
        JobStatus::Failed,
        "the failure itself is recorded"
    );
    let job = run_job(&app, &w, false).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "alert delivery must not hold up runs"
    );
}

/// A worker with a job retention deletes the finished jobs past it when it
/// starts (and every prune interval), leaving active jobs and the archived
/// reports alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_prunes_finished_jobs_past_their_retention() {
    let sim = simulator(30, 1).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let plain = worker(
        &app,
        worker_config("plain", Duration::from_secs(10), Duration::from_secs(2)),
    );
    let old = run_job(&app, &plain, true).await;
    assert_eq!(old.status, JobStatus::Succeeded);

    // Kept: a worker without a retention, and one whose retention has not
    // passed, leave it.
    plain.prune().await;
    let keeping = worker(
        &app,
        WorkerConfig {
            job_retention: Some(Duration::from_secs(3600)),
            ..worker_config("keeping", Duration::from_secs(10), Duration::from_secs(2))
        },
    );
    keeping.prune().await;
    assert!(app.jobs.get(old.id).await.expect("get").is_some());

    // A queued job, and a running worker whose retention has passed: it
    // prunes as it starts, then runs the queued job.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued = app
        .jobs
        .enqueue(&new_job(Trigger::Api, 1, false))
        .await
        .expect("enqueue");
    let (stop, handle) = spawn_worker(worker(
        &app,
        WorkerConfig {
            job_retention: Some(Duration::from_millis(20)),
            ..worker_config("pruning", Duration::from_secs(10), Duration::from_secs(2))
        },
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.jobs.get(old.id).await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the finished job is pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let queued = wait_job(&app, queued.id, "the queued job to finish", |j| {
        j.status.is_final()
    })
    .await;
    assert_eq!(queued.status, JobStatus::Succeeded, "{:?}", queued.error);
    stop.cancel();
    handle.await.expect("worker");
    assert!(
        app.jobs.get(queued.id).await.expect("get").is_some(),
        "a job finished after the start-up prune waits for the next one"
    );
    let archived = app
        .reports
        .get_report(old.id)
        .await
        .expect("report archive");
    assert!(archived.is_some(), "the run's report stays in the archive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_stores_the_batch_in_hand_and_releases_the_job() {
    const TRACKS: usize = 160;
    let sim = simulator(TRACKS, 15).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let a = machine(&db, &sim, &reports).await;
    let job = a
        .jobs
        .enqueue(&new_job(Trigger::Api, 3, false))
        .await
        .expect("enqueue");
    sim.reset_stats();
    let (stop, handle) = spawn_worker(worker(
        &a,
        worker_config("a", Duration::from_secs(10), Duration::from_millis(300)),
    ));
    wait_job(&a, job.id, "progress", |j| j.progress.processed >= 40).await;
    // SIGTERM, as the binary's signal handler delivers it.
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("the worker stops promptly")
        .expect("worker task");
    let released = a.jobs.get(job.id).await.expect("get").expect("job");
    assert_eq!(released.status, JobStatus::Queued, "released to the queue");
    assert_eq!(
        released.attempts, 0,
        "a release does not count as an attempt"
    );
    assert!(released.lease_owner.is_none());
    let checkpoint = a.jobs.checkpoint(job.id).await.expect("checkpoint");
    let stored = checkpoint.done_slugs.len();
    assert!((40..TRACKS).contains(&stored), "checkpoint holds {stored}");
    // Everything fetched before the signal was stored: nothing in flight was
    // thrown away.
    assert_eq!(sim.stats().dashboard.total as usize, stored);

    // Another worker resumes from the checkpoint and finishes.
    let b = machine(&db, &sim, &reports).await;
    let (stop, handle) = spawn_worker(worker(
        &b,
        worker_config("b", Duration::from_secs(10), Duration::from_millis(300)),
    ));
    let done = wait_job(&b, job.id, "the resumed job to finish", |j| {
        j.status.is_final()
    })
    .await;
    stop.cancel();
    handle.await.expect("worker stops");
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 1);
    assert_eq!(
        sim.stats().dashboard.total as usize,
        TRACKS,
        "no page fetched twice"
    );
    assert_eq!(done.summary.expect("summary").tracks_added, TRACKS as u64);
    assert_eq!(final_state(&b).await, reference_state(&sim).await);
}

/// One poll of a running job through the API: when, how far, what ETA.
struct Sample {
    at: Instant,
    status: String,
    stage: String,
    processed: u64,
    eta: Option<f64>,
}

/// Poll the job every 40 ms, keeping every answer, until `stop` holds.
async fn sample_until(
    api: &Api,
    id: &str,
    samples: &mut Vec<Sample>,
    stop: impl Fn(&Sample) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = api.job(id).await;
        let sample = Sample {
            at: Instant::now(),
            status: job["status"].as_str().unwrap_or_default().to_owned(),
            stage: job["stage"].as_str().unwrap_or_default().to_owned(),
            processed: job["processed"].as_u64().unwrap_or_default(),
            eta: job["etaSeconds"].as_f64(),
        };
        let done = stop(&sample);
        samples.push(sample);
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "timed out: {job}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Progress an operator can follow: at concurrency 2 and 50 ms a page, the
/// API's `processed` moves by single dashboards (not 100-track batches); a
/// cancel takes effect within 2 s and keeps what was fetched; after the
/// resume, the ETA is about this attempt's own pace, not inflated by what
/// the first attempt stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_moves_by_dashboard_cancel_is_quick_and_the_eta_holds_across_resume() {
    const TRACKS: u64 = 1_090;
    let sim = simulator(TRACKS as usize, 50).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let api = Api::new(serve_api(&app).await);
    let mut config = worker_config("w", Duration::from_secs(10), Duration::from_secs(3));
    // The shipped default: what an operator's API shows.
    config.progress_interval = ingest_app::worker::PROGRESS_INTERVAL;
    let (stop, handle) = spawn_worker(worker(&app, config));

    let (status, body) = api
        .post(
            "/api/v1/tracks/sync",
            r#"{"metadata":"all","concurrency":2}"#,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["jobId"].as_str().expect("jobId").to_owned();
    let mut samples = Vec::new();
    sample_until(&api, &id, &mut samples, |s| s.processed >= TRACKS / 3).await;

    // Cancel at about a third: final within 2 s, the fetched pages stored.
    let asked = Instant::now();
    let (status, body) = api
        .post(&format!("/api/v1/tracks/sync/{id}/cancel"), "")
        .await;
    assert_eq!(status, 202, "{body}");
    sample_until(&api, &id, &mut samples, |s| s.status == "cancelled").await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(2), "cancel took {took:?}");
    let cancelled = api.job(&id).await;
    let stored = cancelled["processed"].as_u64().expect("processed");
    let checkpoint = app
        .jobs
        .checkpoint(id.parse().expect("uuid"))
        .await
        .expect("checkpoint");
    assert_eq!(checkpoint.done_slugs.len() as u64, stored, "{cancelled}");
    assert!((TRACKS / 3..TRACKS / 2).contains(&stored), "{cancelled}");

    // Resume, and follow the second attempt to its end.
    let (status, body) = api
        .post(&format!("/api/v1/tracks/sync/{id}/resume"), "")
        .await;
    assert_eq!(status, 202, "{body}");
    let resumed_from = samples.len();
    sample_until(&api, &id, &mut samples, |s| s.status == "succeeded").await;
    let end = samples.last().expect("a sample").at;
    stop.cancel();
    handle.await.expect("worker stops");

    let distinct: std::collections::BTreeSet<u64> = samples.iter().map(|s| s.processed).collect();
    assert!(
        distinct.len() >= 50,
        "processed took {} distinct values: {distinct:?}",
        distinct.len()
    );

    // Once 10% of the remaining work is done, every ETA is within 50% of the
    // time actually left. The API's figure may be up to one progress write
    // (250 ms) and one poll (40 ms) old when read: that much is allowed on top.
    let remaining = TRACKS - stored;
    let staleness = ingest_app::worker::PROGRESS_INTERVAL.as_secs_f64() + 0.1;
    let mut checked = 0;
    for s in &samples[resumed_from..] {
        let (Some(eta), true) = (s.eta, s.stage == "dashboards" && s.status == "running") else {
            continue;
        };
        if s.processed < stored + remaining / 10 {
            continue;
        }
        let left = (end - s.at).as_secs_f64();
        assert!(
            (eta - left).abs() <= 0.5 * left + staleness,
            "at {} of {TRACKS}: ETA {eta:.2} s, actually {left:.2} s left",
            s.processed
        );
        checked += 1;
    }
    assert!(checked >= 50, "{checked} ETAs checked");
}

/// `dryRun` through the API: the job runs and is recorded, its report says
/// what would change, and no track is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dry_run_job_reports_the_changes_and_stores_no_track() {
    let sim = simulator(80, 1).await;
    let db = TestDb::new().await;
    let reports = tempfile::tempdir().expect("dir");
    let app = machine(&db, &sim, &reports).await;
    let api = Api::new(serve_api(&app).await);
    let w = worker(
        &app,
        worker_config("w", Duration::from_secs(10), Duration::from_millis(200)),
    )
    .with_dry_run_service(app.dry_run_service.clone());
    let (stop, handle) = spawn_worker(w);

    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all"}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let first = body["jobId"].as_str().expect("jobId").to_owned();
    api.wait_for(&first, "the real run", status_is("succeeded"))
        .await;

    let site = sim.site();
    site.add_tracks(3);
    site.mutate_random(11, 5);
    let before = final_state(&app).await;

    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all","dryRun":true}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["jobId"].as_str().expect("jobId").to_owned();
    let done = api
        .wait_for(&id, "the dry run", status_is("succeeded"))
        .await;
    assert_eq!(done["request"]["dryRun"], true, "{done}");
    assert_eq!(done["tracksAdded"], 3, "what would be added: {done}");
    let (status, _, report) = api.get(&format!("/api/v1/tracks/sync/{id}/report")).await;
    assert_eq!(status, 200);
    assert!(report.contains("Dry run: nothing was stored"), "{report}");
    assert_eq!(final_state(&app).await, before, "no track touched");

    // The real run then does what the dry run said.
    let (status, body) = api
        .post("/api/v1/tracks/sync", r#"{"metadata":"all"}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let real = body["jobId"].as_str().expect("jobId").to_owned();
    let real = api
        .wait_for(&real, "the real run", status_is("succeeded"))
        .await;
    for key in [
        "tracksAdded",
        "tracksUpdated",
        "tracksDeactivated",
        "tracksReactivated",
    ] {
        assert_eq!(real[key], done[key], "{key}: {real} vs {done}");
    }
    stop.cancel();
    handle.await.expect("worker stops");
}
