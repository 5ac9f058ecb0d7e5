//! Probes, metrics and the OpenAPI document.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use ingest_core::{JobError, RepositoryError};

use crate::support::TestApp;

#[tokio::test]
async fn healthz_is_always_ok() {
    let app = TestApp::new();
    app.tracks
        .fail(Some(|| RepositoryError::Unavailable("down".to_owned())));
    let res = app.anon(Method::GET, "/healthz").send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/readyz").send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), serde_json::json!({"status": "ready"}));

    app.tracks.fail(Some(|| {
        RepositoryError::Unavailable("connection refused".to_owned())
    }));
    let res = app.anon(Method::GET, "/readyz").send().await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.error_code(), "not_ready");
    assert!(!res.text().contains("refused"));
    app.tracks.fail(None);

    app.queue.fail(Some(|| {
        JobError::Unavailable("connection refused".to_owned())
    }));
    let res = app.anon(Method::GET, "/readyz").send().await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    app.queue.fail(None);

    let res = app.anon(Method::GET, "/readyz").send().await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_public_with_the_given_content_type() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/metrics").send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(res.text().contains("liverc_sync_runs_total 3"));
}

#[tokio::test]
async fn openapi_lists_every_route_with_bearer_security() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/api/openapi.json").send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let doc = res.json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );

    let operations: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/api/v1/tracks/sync"),
        ("GET", "/api/v1/tracks/sync"),
        ("GET", "/api/v1/tracks/sync/{jobId}"),
        ("GET", "/api/v1/tracks/sync/{jobId}/report"),
        ("POST", "/api/v1/tracks/sync/{jobId}/resume"),
        ("POST", "/api/v1/tracks/sync/{jobId}/cancel"),
        ("GET", "/api/v1/tracks"),
        ("GET", "/api/v1/tracks/quality"),
        ("GET", "/api/v1/tracks/{slug}/history"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/openapi.json"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(operations, expected);

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));

    // Public operations opt out; the API ones inherit the requirement.
    for (path, public) in [
        ("/healthz", true),
        ("/readyz", true),
        ("/metrics", true),
        ("/api/openapi.json", true),
        ("/api/v1/tracks", false),
    ] {
        let op = &doc["paths"][path]["get"];
        if public {
            assert_eq!(op["security"], serde_json::json!([{}]), "{path}");
        } else {
            assert!(op.get("security").is_none(), "{path}");
        }
    }

    // The schemas the operations refer to are there, camelCase.
    let job = &doc["components"]["schemas"]["JobView"]["properties"];
    for field in [
        "jobId",
        "status",
        "etaSeconds",
        "reportUrl",
        "runStatus",
        "cancelRequested",
    ] {
        assert!(job.get(field).is_some(), "JobView.{field} missing");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let quality = &doc["components"]["schemas"]["RunQualityView"]["properties"];
    for field in [
        "runId",
        "finishedAt",
        "activeTracks",
        "completeness",
        "counts",
        "validationAnomalies",
        "metadataFailures",
        "skippedRows",
    ] {
        assert!(
            quality.get(field).is_some(),
            "RunQualityView.{field} missing"
        );
    }
    assert!(
        doc["paths"]["/api/v1/tracks/quality"]["get"]["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == "runs")),
        "the runs parameter is documented"
    );
    assert_eq!(
        doc,
        serde_json::to_value(ingest_http::openapi()).expect("json")
    );
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::new();
    let doc = ingest_http::openapi();
    let id = uuid::Uuid::now_v7();
    for (path, item) in doc.paths.paths {
        let uri = path.replace("{jobId}", &id.to_string());
        let methods = serde_json::to_value(&item).expect("json");
        for method in methods.as_object().expect("item").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            let res = app.req(method.clone(), &uri).send().await;
            let route_missing = matches!(
                res.status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ) && res.json()["error"]["code"] != "job_not_found"
                && res.json()["error"]["code"] != "report_not_found";
            assert!(
                !route_missing,
                "{method} {uri} is documented but not served"
            );
        }
    }
}
