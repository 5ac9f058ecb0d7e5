//! Sync jobs: enqueue, the kill switch, the job's shape, the list, the
//! report, cancel and resume.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use ingest_core::{
    JobId, JobProgress, JobStatus, MetadataMode, NewJob, RunStatus, Stage, SyncSummary, Trigger,
};

use crate::support::{Config, TestApp, lock, now, queued_job, report};

fn job_uri(id: JobId) -> String {
    format!("/api/v1/tracks/sync/{id}")
}

/// Redacts a timestamp after checking it is RFC 3339.
fn time() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "{path}: {text:?} is not an RFC 3339 time"
        );
        "[time]"
    })
}

fn new_job() -> NewJob {
    NewJob {
        source: "liverc".to_owned(),
        trigger: Trigger::Api,
        request: ingest_core::JobRequest::default(),
        max_attempts: 3,
    }
}

fn summary(id: JobId, status: RunStatus) -> SyncSummary {
    SyncSummary {
        run_id: id,
        status,
        tracks_total: 1090,
        tracks_added: 3,
        tracks_updated: 7,
        tracks_unchanged: 1000,
        tracks_churn_only: 80,
        tracks_deactivated: 2,
        tracks_reactivated: 1,
        metadata_fetched: 120,
        metadata_not_modified: 900,
        metadata_skipped: 60,
        metadata_failures: 4,
        validation_anomalies: 5,
        retries: 6,
        duration_seconds: 95.5,
        report_path: Some(format!("docs/reports/track-sync-{id}.md")),
        report_file: Some(format!("track-sync-{id}.md")),
        error: None,
        stage_timings: Vec::new(),
        lease_lost: false,
        tracks_pending_deactivation: 0,
        drift: Vec::new(),
    }
}

/// A job in the queue with this status (and, when final, a summary).
fn insert(app: &TestApp, status: JobStatus) -> JobId {
    let mut job = queued_job(&new_job(), now() - Duration::minutes(10));
    job.status = status;
    if status != JobStatus::Queued {
        job.attempts = 1;
        job.started_at = Some(now() - Duration::minutes(9));
    }
    if status.is_final() {
        job.completed_at = Some(now() - Duration::minutes(1));
    }
    let id = job.id;
    app.queue.insert(job);
    id
}

#[tokio::test]
async fn enqueue_answers_202_with_the_job_and_its_location() {
    let app = TestApp::new();
    let res = app.req(Method::POST, "/api/v1/tracks/sync").send().await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let body = res.json();
    let id: JobId = body["jobId"]
        .as_str()
        .expect("jobId")
        .parse()
        .expect("uuid");
    assert_eq!(res.header("location"), Some(job_uri(id).as_str()));
    assert_eq!(body["status"], "queued");
    assert_eq!(body["trigger"], "api");
    let enqueued = lock(&app.queue.enqueued).clone();
    assert_eq!(
        enqueued,
        vec![NewJob {
            source: "liverc".to_owned(),
            trigger: Trigger::Api,
            request: ingest_core::JobRequest {
                metadata: MetadataMode::Changed,
                concurrency: None,
                force: false,
                accept_drift: Vec::new(),
                dry_run: false,
            },
            max_attempts: 4,
        }]
    );
}

#[tokio::test]
async fn enqueue_passes_the_options_and_the_cron_trigger() {
    let app = TestApp::new();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("x-mre-trigger", "cron")
        .json(r#"{"metadata":"all","concurrency":32,"force":true,"acceptDrift":["phone","all"]}"#)
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let body = res.json();
    assert_eq!(body["trigger"], "cron");
    assert_eq!(
        body["request"],
        serde_json::json!({"metadata": "all", "concurrency": 32, "force": true,
            "acceptDrift": ["phone", "all"], "dryRun": false})
    );
    assert_eq!(
        lock(&app.queue.enqueued)[0].request.accept_drift,
        ["phone", "all"]
    );
    // A field the guard does not watch, or one spelt otherwise, is refused.
    for bad in [
        r#"{"acceptDrift":["name"]}"#,
        r#"{"acceptDrift":["Phone"]}"#,
    ] {
        let res = app
            .req(Method::POST, "/api/v1/tracks/sync")
            .json(bad)
            .send()
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            res.text()
        );
    }
    let job = &lock(&app.queue.enqueued)[0];
    assert_eq!(job.trigger, Trigger::Cron);
    assert_eq!(job.request.metadata, MetadataMode::All);
    assert_eq!(job.request.concurrency, Some(32));
    assert!(job.request.force);
}

#[tokio::test]
async fn a_second_enqueue_is_409_naming_the_active_job() {
    let app = TestApp::new();
    let first = app.enqueue().await;
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("x-mre-trigger", "cron")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_code(), "sync_active");
    assert_eq!(res.json()["error"]["jobId"], first.to_string());
    // Still 409 once it runs.
    app.queue.update(first, |j| j.status = JobStatus::Running);
    let res = app.req(Method::POST, "/api/v1/tracks/sync").send().await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["jobId"], first.to_string());
    assert_eq!(lock(&app.queue.enqueued).len(), 1);
}

#[tokio::test]
async fn the_kill_switch_refuses_enqueue_and_resume_with_503() {
    let app = TestApp::with(Config {
        scrape_enabled: false,
        ..Config::default()
    });
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .json(r#"{"metadata":"none"}"#)
        .send()
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.error_code(), "scrape_disabled");
    assert!(lock(&app.queue.enqueued).is_empty());

    let failed = insert(&app, JobStatus::Failed);
    let res = app
        .req(Method::POST, &format!("{}/resume", job_uri(failed)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.error_code(), "scrape_disabled");
    assert_eq!(app.queue.job(failed).status, JobStatus::Failed);

    // Reading still works.
    let res = app.req(Method::GET, &job_uri(failed)).send().await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_options_are_422_and_enqueue_nothing() {
    let app = TestApp::new();
    for body in [
        r#"{"concurrency":0}"#,
        r#"{"concurrency":33}"#,
        r#"{"concurrency":-1}"#,
        r#"{"concurrency":1.5}"#,
        r#"{"concurrency":1e30}"#,
        r#"{"concurrency":"4"}"#,
        r#"{"metadata":"some"}"#,
        r#"{"force":"yes"}"#,
        r#"{"concurency":4}"#,
        r#"[]"#,
    ] {
        let res = app
            .req(Method::POST, "/api/v1/tracks/sync")
            .json(body)
            .send()
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.text()
        );
        assert_eq!(res.error_code(), "invalid_request", "{body}");
    }
    // The header's values are an enum in the document, matched exactly.
    for trigger in ["cli", "Cron", "API", "cron,api", ""] {
        let res = app
            .req(Method::POST, "/api/v1/tracks/sync")
            .header("x-mre-trigger", trigger)
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{trigger:?}");
        assert_eq!(res.error_code(), "invalid_header", "{trigger:?}");
    }
    assert!(lock(&app.queue.enqueued).is_empty());
}

#[tokio::test]
async fn job_status_shape() {
    let app = TestApp::new();
    // A finished job whose run the guard refused, with a report.
    let done = insert(&app, JobStatus::Succeeded);
    app.queue.update(done, |j| {
        j.attempts = 2;
        j.progress = JobProgress {
            stage: Stage::Done,
            processed: 1090,
            total: 1090,
            eta_seconds: None,
        };
        j.summary = Some(summary(done, RunStatus::GuardRefused));
    });
    let res = app.req(Method::GET, &job_uri(done)).send().await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["durationSeconds"], 480.0, "completedAt − startedAt");
    assert_eq!(body["reportUrl"], format!("{}/report", job_uri(done)));
    insta::assert_json_snapshot!("finished_job", body, {
        ".jobId" => "[job id]",
        ".reportUrl" => "[report url]",
        ".reportPath" => "[report path]",
        ".createdAt" => time(),
        ".startedAt" => time(),
        ".completedAt" => time(),
    });

    // A running job: no summary yet, elapsed time so far.
    let app = TestApp::new();
    let running = app.enqueue().await;
    app.queue.update(running, |j| {
        j.status = JobStatus::Running;
        j.attempts = 1;
        j.started_at = Some(now());
        j.progress = JobProgress {
            stage: Stage::Dashboards,
            processed: 250,
            total: 1090,
            eta_seconds: Some(42.5),
        };
    });
    app.clock.set(now() + Duration::milliseconds(75_250));
    let body = app.req(Method::GET, &job_uri(running)).send().await.json();
    assert_eq!(body["durationSeconds"], 75.25);
    insta::assert_json_snapshot!("running_job", body, {
        ".jobId" => "[job id]",
        ".createdAt" => time(),
        ".startedAt" => time(),
    });
}

#[tokio::test]
async fn report_url_appears_once_a_report_is_archived() {
    let app = TestApp::new();
    let id = insert(&app, JobStatus::Failed);
    let body = app.req(Method::GET, &job_uri(id)).send().await.json();
    assert_eq!(body["reportUrl"], serde_json::Value::Null);
    assert_eq!(body["runStatus"], serde_json::Value::Null);
    assert_eq!(body["tracksAdded"], 0);

    app.reports.save(report(id, "# Track sync\n"));
    let body = app.req(Method::GET, &job_uri(id)).send().await.json();
    assert_eq!(body["reportUrl"], format!("{}/report", job_uri(id)));

    // A failing archive costs the link, not the answer.
    app.reports.fail(Some(|| {
        ingest_core::ReportError::Archive("connection reset".to_owned())
    }));
    let res = app.req(Method::GET, &job_uri(id)).send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["reportUrl"], serde_json::Value::Null);
}

#[tokio::test]
async fn unknown_and_malformed_job_ids() {
    let app = TestApp::new();
    let missing = uuid::Uuid::now_v7();
    for uri in [
        job_uri(missing),
        format!("{}/resume", job_uri(missing)),
        format!("{}/cancel", job_uri(missing)),
    ] {
        let method = if uri.ends_with("resume") || uri.ends_with("cancel") {
            Method::POST
        } else {
            Method::GET
        };
        let res = app.req(method, &uri).send().await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(res.error_code(), "job_not_found");
        assert_eq!(res.json()["error"]["jobId"], missing.to_string());
    }
    // Only the hyphenated form the document's `format: uuid` names; the
    // forms `Uuid::parse_str` also takes are refused like any non-UUID.
    let simple = missing.simple().to_string();
    let braced = missing.braced().to_string();
    let urn = missing.urn().to_string();
    for id in ["not-a-uuid", &simple, &braced, &urn] {
        let res = app
            .req(Method::GET, &format!("/api/v1/tracks/sync/{id}"))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{id}");
        assert_eq!(res.error_code(), "invalid_job_id");
    }
    let upper = missing.to_string().to_uppercase();
    let res = app
        .req(Method::GET, &format!("/api/v1/tracks/sync/{upper}"))
        .send()
        .await;
    assert_eq!(res.error_code(), "job_not_found", "either case is a UUID");
}

#[tokio::test]
async fn list_is_newest_first_and_limited() {
    let app = TestApp::new();
    let ids: Vec<JobId> = (0..25)
        .map(|_| insert(&app, JobStatus::Succeeded))
        .collect();
    let ids_of = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|j| j["jobId"].as_str().expect("jobId").to_owned())
            .collect()
    };

    let body = app
        .req(Method::GET, "/api/v1/tracks/sync")
        .send()
        .await
        .json();
    assert_eq!(body["limit"], 20);
    assert_eq!(ids_of(&body).len(), 20);
    assert_eq!(ids_of(&body)[0], ids[24].to_string());

    let body = app
        .req(Method::GET, "/api/v1/tracks/sync?limit=2")
        .send()
        .await
        .json();
    assert_eq!(
        ids_of(&body),
        vec![ids[24].to_string(), ids[23].to_string()]
    );
    assert_eq!(body["items"][0]["status"], "succeeded", "same item shape");

    let body = app
        .req(Method::GET, "/api/v1/tracks/sync?limit=200")
        .send()
        .await
        .json();
    assert_eq!(ids_of(&body).len(), 25);

    for bad in ["0", "201", "abc", "-1"] {
        let res = app
            .req(Method::GET, &format!("/api/v1/tracks/sync?limit={bad}"))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(res.error_code(), "invalid_query");
    }
}

#[tokio::test]
async fn report_is_markdown_or_404() {
    let app = TestApp::new();
    let id = insert(&app, JobStatus::Succeeded);
    let uri = format!("{}/report", job_uri(id));

    let res = app.req(Method::GET, &uri).send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "report_not_found");

    let markdown = "# Track sync 2025-06-01\n\n| added | 3 |\n";
    app.reports.save(report(id, markdown));
    let res = app.req(Method::GET, &uri).send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(res.text(), markdown);
}

#[tokio::test]
async fn resume_maps_the_queue_rules() {
    let app = TestApp::new();
    let failed = insert(&app, JobStatus::Failed);
    let succeeded = insert(&app, JobStatus::Succeeded);

    let res = app
        .req(Method::POST, &format!("{}/resume", job_uri(succeeded)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_code(), "invalid_state");
    assert_eq!(res.json()["error"]["jobId"], succeeded.to_string());

    let res = app
        .req(Method::POST, &format!("{}/resume", job_uri(failed)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(res.header("location"), Some(job_uri(failed).as_str()));
    assert_eq!(res.json()["status"], "queued");
    assert_eq!(res.json()["jobId"], failed.to_string());

    // With that one active again, another resumable job is refused.
    let cancelled = insert(&app, JobStatus::Cancelled);
    let res = app
        .req(Method::POST, &format!("{}/resume", job_uri(cancelled)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_code(), "sync_active");
    assert_eq!(res.json()["error"]["jobId"], failed.to_string());
}

#[tokio::test]
async fn cancel_maps_the_queue_rules() {
    let app = TestApp::new();
    let queued = app.enqueue().await;
    let res = app
        .req(Method::POST, &format!("{}/cancel", job_uri(queued)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.json()["status"], "cancelled");

    // Final now: 409.
    let res = app
        .req(Method::POST, &format!("{}/cancel", job_uri(queued)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_code(), "invalid_state");

    let running = app.enqueue().await;
    app.queue.update(running, |j| j.status = JobStatus::Running);
    let res = app
        .req(Method::POST, &format!("{}/cancel", job_uri(running)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let body = res.json();
    assert_eq!(body["status"], "running");
    assert_eq!(body["cancelRequested"], true);
}

/// The document says `concurrency` is a JSON Schema integer, which `12.0`
/// is; and a `null` body is no body, as the document says.
#[tokio::test]
async fn an_integral_number_and_a_null_body_are_accepted_as_documented() {
    let app = TestApp::new();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .json(r#"{"concurrency": 12.0, "force": null, "metadata": null}"#)
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(lock(&app.queue.enqueued)[0].request.concurrency, Some(12));
    let id = res.json()["jobId"].as_str().expect("jobId").to_owned();
    app.req(Method::POST, &format!("/api/v1/tracks/sync/{id}/cancel"))
        .send()
        .await;

    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .json("null")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let job = &lock(&app.queue.enqueued)[1];
    assert_eq!(job.request.concurrency, None);
    assert!(!job.request.force);
}
