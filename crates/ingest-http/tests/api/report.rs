//! `GET /api/v1/tracks/sync/{jobId}/report`: content negotiation between
//! the Markdown report and its data as JSON, the JSON's shape, and a report
//! whose archived data cannot be read.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use ingest_core::{
    ArchivedReport, ChangedField, Completeness, DeactivatedTrack, DriftDecision, DriftReport,
    DriftSample, FieldDrift, GuardDecision, MetadataErrorEntry, MetadataMode, NewTrackEntry,
    PendingDeactivation, ReactivatedTrackEntry, RunCounts, RunId, RunReport, RunStatus,
    SkippedRowEntry, Stage, StageTiming, SyncOptions, Trigger, UpdatedTrackEntry,
    ValidationAnomaly,
};
use serde_json::{Value, json};

use crate::support::{Res, TestApp, report};

/// A scraped name meant to break out of HTML and Markdown: JSON carries it
/// as the text it is.
const HOSTILE: &str = "<img src=x onerror=alert(1)> **Bold** [x](javascript:alert(1)) | `c` &amp;";
const MARKDOWN: &str = "# Track sync report — run 0192f1c3\n\n## Status\n\n**Drift suspected.**\n";

fn at(h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, h, mi, s)
        .single()
        .expect("valid time")
}

fn run_id() -> RunId {
    RunId::parse_str("0192f1c3-7a2b-7c3d-8e4f-5a6b7c8d9e0f").expect("uuid")
}

fn uri(id: RunId) -> String {
    format!("/api/v1/tracks/sync/{id}/report")
}

/// A held run with every section populated.
fn run_report() -> RunReport {
    RunReport {
        run_id: run_id(),
        source: "liverc".to_owned(),
        trigger: Trigger::Cron,
        attempt: 2,
        status: RunStatus::DriftSuspected,
        error: Some("phone vanished from 40 of 50 tracks".to_owned()),
        started_at: at(11, 57, 0),
        finished_at: at(11, 59, 30),
        options: SyncOptions {
            trigger: Trigger::Cron,
            metadata: MetadataMode::Changed,
            accept_drift: vec!["email".to_owned()],
            ..SyncOptions::default()
        },
        politeness_bound_seconds: Some(120.5),
        counts: RunCounts {
            catalogue_rows: 1_091,
            skipped_rows: 1,
            new: 1,
            updated: 1,
            unchanged: 1_080,
            churn_only: 8,
            deactivated: 1,
            pending_deactivation: 1,
            reactivated: 1,
            dashboards_fetched: 50,
            dashboards_not_modified: 1_000,
            dashboards_skipped: 40,
            dashboards_failed: 1,
            retries: 3,
            responses_429: 2,
            responses: Default::default(),
            retry_after_wait_seconds: 4.5,
            validation_anomalies: 1,
            geocoded: 1,
            geocode_failures: 0,
            db_batches: 11,
            db_rows_written: 12,
        },
        stage_timings: vec![StageTiming {
            stage: Stage::Dashboards,
            seconds: 140.0,
            detail: Some("50 tracks, 6 at once".to_owned()),
        }],
        new_tracks: vec![NewTrackEntry {
            slug: "hostile".to_owned(),
            name: HOSTILE.to_owned(),
            city: Some("Tucson".to_owned()),
            state: None,
            country_code: Some("US".to_owned()),
            track_url: "https://hostile.liverc.com/".to_owned(),
        }],
        updated_tracks: vec![UpdatedTrackEntry {
            slug: "thunderalley".to_owned(),
            name: "Thunder Alley".to_owned(),
            changes: vec![ChangedField {
                field: "website".to_owned(),
                old_value: None,
                new_value: Some("<script>alert(2)</script>".to_owned()),
            }],
        }],
        deactivated: vec![DeactivatedTrack {
            slug: "oldtown".to_owned(),
            name: "Old Town".to_owned(),
            first_seen_at: at(1, 0, 0),
            last_seen_at: at(2, 0, 0),
        }],
        reactivated: vec![ReactivatedTrackEntry {
            slug: "lazarus".to_owned(),
            name: "Lazarus".to_owned(),
            inactive_since: None,
        }],
        metadata_errors: vec![MetadataErrorEntry {
            slug: "broken".to_owned(),
            class: "format".to_owned(),
            message: "page shape changed: no address block".to_owned(),
            attempts: 3,
        }],
        anomalies: vec![ValidationAnomaly {
            slug: "kartland".to_owned(),
            field: "website".to_owned(),
            value: "javascript:void(0)".to_owned(),
            rule: "not an http(s) URL".to_owned(),
        }],
        skipped_rows: vec![SkippedRowEntry {
            row_index: 417,
            reason: "no track link in the row".to_owned(),
            href: None,
        }],
        guard: Some(GuardDecision {
            active_before: 1_090,
            missing: 1,
            share: 0.25,
            max_share: 0.1,
            forced: false,
            allowed: true,
            reason: None,
        }),
        pending_deactivation: vec![PendingDeactivation {
            slug: "quiet".to_owned(),
            name: "Quiet Creek".to_owned(),
            missing_runs: 1,
            last_seen_at: at(3, 0, 0),
        }],
        drift: Some(DriftReport {
            max_loss_share: 0.25,
            min_tracks: 10,
            fields: vec![FieldDrift {
                field: "phone".to_owned(),
                had: 50,
                lost: 40,
                changed: 0,
                decision: DriftDecision::Held,
                mass_change: false,
                samples: vec![DriftSample {
                    slug: "hostile".to_owned(),
                    name: HOSTILE.to_owned(),
                    stored_value: Some("+1 520 555 0100".to_owned()),
                    page_value: None,
                }],
            }],
        }),
        completeness: Completeness {
            active_tracks: 1_090,
            with_address: 1_000,
            with_phone: 700,
            with_email: 900,
            with_website: 720,
            with_coordinates: 1_034,
        },
        previous_completeness: Some(Completeness {
            active_tracks: 1_089,
            with_address: 999,
            with_phone: 700,
            with_email: 901,
            with_website: 718,
            with_coordinates: 1_031,
        }),
    }
}

/// The app with the report of [`run_id`] archived: its Markdown, and
/// `data` as its data.
fn app_with(data: Value) -> TestApp {
    let app = TestApp::new();
    app.reports.save(ArchivedReport {
        data,
        ..report(run_id(), MARKDOWN)
    });
    app
}

fn archived() -> TestApp {
    app_with(serde_json::to_value(run_report()).expect("report data"))
}

async fn get(app: &TestApp, accept: Option<&str>) -> Res {
    let mut req = app.req(Method::GET, &uri(run_id()));
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let res = req.send().await;
    assert_eq!(
        res.header("vary"),
        Some("accept"),
        "Accept {accept:?}: every answer varies on Accept"
    );
    res
}

fn assert_markdown(res: &Res, accept: Option<&str>) {
    assert_eq!(
        res.status,
        StatusCode::OK,
        "Accept {accept:?}: {}",
        res.text()
    );
    assert_eq!(
        res.header("content-type"),
        Some("text/markdown; charset=utf-8"),
        "Accept {accept:?}"
    );
    assert_eq!(res.text(), MARKDOWN, "Accept {accept:?}");
}

fn assert_json(res: &Res, accept: Option<&str>) -> Value {
    assert_eq!(
        res.status,
        StatusCode::OK,
        "Accept {accept:?}: {}",
        res.text()
    );
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "Accept {accept:?}"
    );
    res.json()
}

/// Every object key in `value`, with its path.
fn keys(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push(format!("{path}.{key}"));
                keys(item, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                keys(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn json_is_the_report_as_data_in_camel_case() {
    let app = archived();
    let body = assert_json(&get(&app, Some("application/json")).await, None);

    let mut all = Vec::new();
    keys(&body, "", &mut all);
    let not_camel: Vec<&String> = all
        .iter()
        .filter(|path| {
            let key = path.rsplit('.').next().unwrap_or_default();
            key.contains('_') || key.starts_with(|c: char| c.is_ascii_uppercase())
        })
        .collect();
    assert!(not_camel.is_empty(), "not camelCase: {not_camel:?}");

    // What the admin page draws from, by name.
    assert_eq!(body["runId"], run_id().to_string());
    assert_eq!(body["status"], "drift_suspected");
    assert_eq!(body["fileName"], report(run_id(), "").file_name);
    assert_eq!(body["durationSeconds"], 150.0);
    assert_eq!(body["counts"]["dashboardsFailed"], 1);
    assert_eq!(body["counts"]["responses429"], 2);
    assert_eq!(body["options"]["metadataTtlSeconds"], 604_800.0);
    assert_eq!(body["options"]["acceptDrift"], json!(["email"]));
    assert_eq!(body["metadataErrors"][0]["slug"], "broken");
    assert_eq!(body["validationAnomalies"][0]["rule"], "not an http(s) URL");
    assert_eq!(
        body["deactivatedTracks"][0]["lastSeenAt"],
        "2025-06-01T02:00:00Z"
    );
    assert_eq!(body["pendingDeactivation"][0]["missingRuns"], 1);
    assert_eq!(body["drift"]["fields"][0]["decision"], "held");
    assert_eq!(
        body["drift"]["fields"][0]["samples"][0]["pageValue"],
        Value::Null
    );
    assert_eq!(body["previousCompleteness"]["withWebsite"], 718);
    // Scraped text is data: passed through untouched, not escaped for any
    // markup.
    assert_eq!(body["newTracks"][0]["name"], HOSTILE);
    assert_eq!(
        body["updatedTracks"][0]["changes"][0]["newValue"],
        "<script>alert(2)</script>"
    );

    insta::assert_json_snapshot!("report_json", body);
}

#[tokio::test]
async fn markdown_stays_the_default() {
    let app = archived();
    for accept in [
        None,
        Some("*/*"),
        Some("text/*"),
        Some("text/markdown"),
        Some("text/markdown; charset=utf-8"),
        // Nothing parseable: as if there were no header.
        Some("markdown please"),
        Some(""),
    ] {
        assert_markdown(&get(&app, accept).await, accept);
    }
}

#[tokio::test]
async fn accept_weights_are_honoured() {
    let app = archived();
    for (accept, json) in [
        ("application/json", true),
        ("application/*", true),
        ("application/json; charset=utf-8", true),
        ("text/markdown;q=0.5, application/json", true),
        ("application/json;q=0.9, text/markdown", false),
        ("application/json;q=0.4, text/markdown;q=0.3", true),
        ("text/markdown;q=0.3, application/json;q=0.4", true),
        // A wildcard fallback does not outweigh a type named at the same weight.
        ("application/json, text/plain, */*", true),
        ("application/json, */*;q=0.8", true),
        // Equal weights, both named: the default.
        ("application/json, text/markdown", false),
        // The most specific range sets a type's weight.
        ("*/*;q=0.9, text/markdown;q=0.1", true),
        ("text/*;q=0.1, */*;q=0.5", true),
        ("*/*, application/json;q=0", false),
        ("*/*, text/markdown;q=0", true),
    ] {
        let res = get(&app, Some(accept)).await;
        if json {
            let body = assert_json(&res, Some(accept));
            assert_eq!(body["runId"], run_id().to_string(), "{accept}");
        } else {
            assert_markdown(&res, Some(accept));
        }
    }
}

#[tokio::test]
async fn neither_type_acceptable_is_406() {
    let app = archived();
    for accept in [
        "image/png",
        "text/html, application/xml;q=0.9",
        "text/plain",
        "*/*;q=0",
        "application/json;q=0, text/markdown;q=0",
        "text/markdown; charset=latin1",
    ] {
        let res = get(&app, Some(accept)).await;
        assert_eq!(res.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(res.error_code(), "not_acceptable", "{accept}");
        let message = res.json()["error"]["message"].to_string();
        assert!(
            message.contains("text/markdown") && message.contains("application/json"),
            "{accept}: names what there is: {message}"
        );
    }
    // Refused before the archive is asked: a missing report is a 406 too.
    let res = app
        .req(Method::GET, &uri(uuid::Uuid::now_v7()))
        .header("accept", "image/png")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_missing_report_is_404_whatever_the_type() {
    let app = TestApp::new();
    for accept in [None, Some("application/json")] {
        let mut req = app.req(Method::GET, &uri(run_id()));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let res = req.send().await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{accept:?}");
        assert_eq!(res.error_code(), "report_not_found");
    }
}

#[tokio::test]
async fn unreadable_report_data_is_a_clear_error_and_the_markdown_still_reads() {
    let mut old = serde_json::to_value(run_report()).expect("report data");
    // An older version's data: without the counts, another status name.
    old.as_object_mut().expect("object").remove("counts");
    old["status"] = json!("ok");
    let mut truncated = serde_json::to_string(&run_report()).expect("report data");
    truncated.truncate(truncated.len() / 2);
    for (what, data) in [
        ("an older shape", old),
        ("a string of garbled JSON", Value::String(truncated)),
        ("an empty object", json!({})),
        ("null", Value::Null),
        ("a wrong type inside", {
            let mut v = serde_json::to_value(run_report()).expect("report data");
            v["new_tracks"] = json!([{"slug": 1}]);
            v
        }),
    ] {
        let app = app_with(data);
        let res = get(&app, Some("application/json")).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_ACCEPTABLE,
            "{what}: {}",
            res.text()
        );
        assert_eq!(res.error_code(), "report_data_unreadable", "{what}");
        let error = &res.json()["error"];
        assert_eq!(error["jobId"], run_id().to_string(), "{what}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("cannot be read") && message.contains("Accept: text/markdown"),
            "{what}: says what is wrong and what still works: {message}"
        );
        // Where the client takes Markdown too, it gets the report that exists.
        let res = get(&app, Some("application/json, text/markdown;q=0.1")).await;
        assert_markdown(&res, Some("application/json, text/markdown;q=0.1"));
        assert_markdown(&get(&app, None).await, None);
    }
}

#[tokio::test]
async fn the_document_describes_both_representations() {
    let app = TestApp::new();
    let doc = app
        .anon(Method::GET, "/api/openapi.json")
        .send()
        .await
        .json();
    let op = &doc["paths"]["/api/v1/tracks/sync/{jobId}/report"]["get"];
    let ok = &op["responses"]["200"]["content"];
    assert_eq!(
        ok["text/markdown; charset=utf-8"]["schema"]["type"], "string",
        "{op}"
    );
    assert_eq!(
        ok["application/json"]["schema"]["$ref"], "#/components/schemas/ReportView",
        "{op}"
    );
    assert!(
        op["responses"]["200"]["headers"]["Vary"].is_object(),
        "{op}"
    );
    let not_acceptable = op["responses"]["406"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        not_acceptable.contains("not_acceptable")
            && not_acceptable.contains("report_data_unreadable"),
        "{op}"
    );
    let view = &doc["components"]["schemas"]["ReportView"]["properties"];
    for field in [
        "runId",
        "status",
        "counts",
        "newTracks",
        "updatedTracks",
        "metadataErrors",
        "validationAnomalies",
        "pendingDeactivation",
        "drift",
        "guard",
        "completeness",
        "previousCompleteness",
    ] {
        assert!(view.get(field).is_some(), "ReportView.{field} missing");
    }
}
