//! `GET /api/v1/tracks/quality`: the completeness history read from the
//! archived reports' data (through the archive's `quality_history`).

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use ingest_core::{
    ArchivedReport, Completeness, ReportError, RunCounts, RunId, RunReport, RunStatus, SyncOptions,
    Trigger,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestApp, now};

/// A run report's data with these figures.
fn data(run_id: RunId, finished_at: DateTime<Utc>, completeness: Completeness) -> RunReport {
    RunReport {
        run_id,
        source: "liverc".to_owned(),
        trigger: Trigger::Cron,
        attempt: 1,
        status: RunStatus::Succeeded,
        error: None,
        started_at: finished_at - Duration::minutes(3),
        finished_at,
        options: SyncOptions::default(),
        politeness_bound_seconds: None,
        counts: RunCounts {
            skipped_rows: 2,
            dashboards_failed: 3,
            validation_anomalies: 4,
            ..RunCounts::default()
        },
        stage_timings: Vec::new(),
        new_tracks: Vec::new(),
        updated_tracks: Vec::new(),
        deactivated: Vec::new(),
        reactivated: Vec::new(),
        metadata_errors: Vec::new(),
        anomalies: Vec::new(),
        skipped_rows: Vec::new(),
        guard: None,
        completeness,
        previous_completeness: None,
        pending_deactivation: Vec::new(),
        drift: None,
    }
}

/// Archive a run that finished `minutes_ago` with `active` tracks of which
/// `with` carry an address (and other fields in fixed proportions).
fn archive(app: &TestApp, minutes_ago: i64, active: u64, with: u64) -> RunId {
    let run_id = Uuid::now_v7();
    let finished_at = now() - Duration::minutes(minutes_ago);
    let completeness = Completeness {
        active_tracks: active,
        with_address: with,
        with_phone: with / 2,
        with_email: with / 3,
        with_website: active,
        with_coordinates: 0,
    };
    let report = data(run_id, finished_at, completeness);
    app.reports.save(ArchivedReport {
        run_id,
        source: "liverc".to_owned(),
        file_name: format!("track-sync-{run_id}.md"),
        status: "succeeded".to_owned(),
        trigger: "cron".to_owned(),
        started_at: report.started_at,
        finished_at,
        body: "# Track sync report\n".to_owned(),
        data: serde_json::to_value(&report).expect("json"),
    });
    run_id
}

#[tokio::test]
async fn lists_the_newest_runs_first_with_shares_and_counts() {
    let app = TestApp::new();
    let older = archive(&app, 60 * 24, 1090, 1000);
    let newest = archive(&app, 5, 1091, 1063);
    let middle = archive(&app, 60, 3, 2);
    // Another source's run is not listed.
    let mut other = crate::support::report(Uuid::now_v7(), "x");
    other.source = "elsewhere".to_owned();
    app.reports.save(other);

    let res = app.req(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["source"], "liverc");
    let ids: Vec<String> = body["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["runId"].as_str().expect("runId").to_owned())
        .collect();
    assert_eq!(
        ids,
        [newest, middle, older].map(|id| id.to_string()).to_vec()
    );
    assert_eq!(
        body["runs"][0],
        json!({
            "runId": newest.to_string(),
            "status": "succeeded",
            "trigger": "cron",
            "finishedAt": (now() - Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "activeTracks": 1091,
            "completeness": {
                "address": 97.4,
                "phone": 48.7,
                "email": 32.4,
                "website": 100.0,
                "coordinates": 0.0
            },
            "counts": {
                "withAddress": 1063,
                "withPhone": 531,
                "withEmail": 354,
                "withWebsite": 1091,
                "withCoordinates": 0
            },
            "validationAnomalies": 4,
            "metadataFailures": 3,
            "skippedRows": 2
        })
    );
    // 2 of 3: rounded to one decimal.
    assert_eq!(body["runs"][1]["completeness"]["address"], 66.7);
    assert_eq!(body["runs"][1]["completeness"]["phone"], 33.3);
}

#[tokio::test]
async fn runs_defaults_to_ten_and_limits_the_answer() {
    let app = TestApp::new();
    let ids: Vec<RunId> = (0..12).map(|i| archive(&app, 100 - i, 10, 5)).collect();
    let res = app.req(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::OK);
    let runs = res.json()["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 10);
    assert_eq!(runs[0]["runId"], ids[11].to_string());

    let res = app
        .req(Method::GET, "/api/v1/tracks/quality?runs=3")
        .send()
        .await;
    let runs = res.json()["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2]["runId"], ids[9].to_string());

    let res = app
        .req(Method::GET, "/api/v1/tracks/quality?runs=100")
        .send()
        .await;
    assert_eq!(res.json()["runs"].as_array().map(Vec::len), Some(12));
}

#[tokio::test]
async fn runs_whose_data_cannot_be_read_are_left_out() {
    let app = TestApp::new();
    let good = archive(&app, 10, 4, 4);
    // A report archived without its data (an old row, or another writer).
    let mut unreadable = crate::support::report(Uuid::now_v7(), "# Track sync report\n");
    unreadable.finished_at = now();
    app.reports.save(unreadable);

    let res = app.req(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    let runs = body["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{body}");
    assert_eq!(runs[0]["runId"], good.to_string());
    assert_eq!(runs[0]["completeness"]["address"], 100.0);
}

#[tokio::test]
async fn an_empty_archive_is_an_empty_list() {
    let app = TestApp::new();
    let res = app.req(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({"source": "liverc", "runs": []}));
}

#[tokio::test]
async fn out_of_range_or_malformed_runs_is_400() {
    let app = TestApp::new();
    for query in ["runs=0", "runs=101", "runs=-1", "runs=ten"] {
        let res = app
            .req(Method::GET, &format!("/api/v1/tracks/quality?{query}"))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(res.error_code(), "invalid_query", "{query}");
    }
}

#[tokio::test]
async fn needs_a_token() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.error_code(), "unauthorized");
    let res = app
        .anon(Method::GET, "/api/v1/tracks/quality")
        .token("not-the-token-0123456789")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_archive_failure_is_500_without_its_detail() {
    let app = TestApp::new();
    app.reports.fail(Some(|| {
        ReportError::Archive("relation \"sync_reports\" does not exist".to_owned())
    }));
    let res = app.req(Method::GET, "/api/v1/tracks/quality").send().await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.error_code(), "internal");
    assert!(!res.text().contains("sync_reports"), "{}", res.text());
}
