//! The error shape on every path: body limit, bad JSON, media type, unknown
//! routes and methods, and server failures that must not leak their text.

use axum::http::{Method, StatusCode};
use ingest_core::{JobError, ReportError, RepositoryError};

use crate::support::{Config, TestApp, lock};

const SECRET: &str = "relation \"sync_jobs\" does not exist at SELECT * FROM sync_jobs";

fn small_limit() -> TestApp {
    TestApp::with(Config {
        body_limit: 1024,
        ..Config::default()
    })
}

/// A JSON body of `len` bytes that would be valid if it were allowed.
fn padded_body(len: usize) -> Vec<u8> {
    let mut body = br#"{"metadata":"all"}"#.to_vec();
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn an_announced_oversized_body_is_413_in_the_error_shape() {
    let app = small_limit();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "application/json")
        .raw(padded_body(1025))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.error_code(), "payload_too_large");
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("1024 bytes")
    );
    assert!(lock(&app.queue.enqueued).is_empty());

    // At the limit it is accepted.
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "application/json")
        .raw(padded_body(1024))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
}

#[tokio::test]
async fn a_streamed_oversized_body_is_413_in_the_error_shape() {
    let app = small_limit();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "application/json")
        .streamed(padded_body(4096))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.error_code(), "payload_too_large");
    assert!(lock(&app.queue.enqueued).is_empty());
}

#[tokio::test]
async fn an_unauthenticated_oversized_body_is_401() {
    let app = small_limit();
    let res = app
        .anon(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "application/json")
        .raw(padded_body(4096))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_is_400_in_the_error_shape() {
    let app = TestApp::new();
    for body in [
        r#"{"metadata": "all""#,
        "{metadata: all}",
        "nul",
        r#"{"force": tru}"#,
    ] {
        let res = app
            .req(Method::POST, "/api/v1/tracks/sync")
            .json(body)
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(res.error_code(), "invalid_json", "{body}");
    }
    assert!(lock(&app.queue.enqueued).is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::new();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "text/plain")
        .raw(br#"{"metadata":"all"}"#.to_vec())
        .send()
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.error_code(), "unsupported_media_type");
    // An empty body needs no content type.
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .raw(Vec::new())
        .send()
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/nothing-here").send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "not_found");

    let res = app.req(Method::DELETE, "/api/v1/tracks").send().await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.error_code(), "method_not_allowed");
}

fn assert_hidden(res: &crate::support::Res, status: StatusCode, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.error_code(), code);
    let text = res.text();
    for leak in ["SELECT", "sync_jobs", "relation", "pool", "disk"] {
        assert!(!text.contains(leak), "internal text leaked: {text}");
    }
}

#[tokio::test]
async fn server_failures_hide_their_internals() {
    let app = TestApp::new();
    let id = app.enqueue().await;
    let job = format!("/api/v1/tracks/sync/{id}");

    app.queue.fail(Some(|| JobError::Store(SECRET.to_owned())));
    for (method, uri) in [
        (Method::POST, "/api/v1/tracks/sync".to_owned()),
        (Method::GET, "/api/v1/tracks/sync".to_owned()),
        (Method::GET, job.clone()),
        (Method::POST, format!("{job}/cancel")),
        (Method::POST, format!("{job}/resume")),
    ] {
        let res = app.req(method.clone(), &uri).send().await;
        assert_hidden(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    }

    app.queue.fail(Some(|| {
        JobError::Unavailable(format!("pool timed out: {SECRET}"))
    }));
    let res = app.req(Method::GET, &job).send().await;
    assert_hidden(&res, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    app.queue.fail(None);

    app.tracks
        .fail(Some(|| RepositoryError::Corrupt(SECRET.to_owned())));
    let res = app.req(Method::GET, "/api/v1/tracks").send().await;
    assert_hidden(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    app.tracks.fail(Some(|| {
        RepositoryError::Unavailable(format!("pool: {SECRET}"))
    }));
    let res = app.req(Method::GET, "/api/v1/tracks").send().await;
    assert_hidden(&res, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    app.tracks.fail(None);

    // A report-archive error is ours while the database answers...
    app.reports
        .fail(Some(|| ReportError::Archive(format!("bad row: {SECRET}"))));
    for uri in [format!("{job}/report"), "/api/v1/tracks/quality".to_owned()] {
        let res = app.req(Method::GET, &uri).send().await;
        assert_hidden(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    }
    // ... and the database's when it does not (the archive's error type
    // cannot tell; the repository's can).
    app.tracks.fail(Some(|| {
        RepositoryError::Unavailable(format!("pool timed out: {SECRET}"))
    }));
    for uri in [format!("{job}/report"), "/api/v1/tracks/quality".to_owned()] {
        let res = app.req(Method::GET, &uri).send().await;
        assert_hidden(&res, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    }
}

#[tokio::test]
async fn a_request_target_over_8_kib_is_414_in_the_error_shape() {
    let app = TestApp::new();
    let prefix = "/api/v1/tracks?active=true&x=";
    let at_limit = format!("{prefix}{}", "a".repeat(8 * 1024 - prefix.len()));
    assert_eq!(at_limit.len(), 8 * 1024);
    let res = app.req(Method::GET, &at_limit).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    let over = format!("{at_limit}a");
    let res = app.req(Method::GET, &over).send().await;
    assert_eq!(res.status, StatusCode::URI_TOO_LONG);
    assert_eq!(res.error_code(), "uri_too_long");
    // Before authentication, and on any path.
    let res = app.anon(Method::GET, &over).send().await;
    assert_eq!(res.status, StatusCode::URI_TOO_LONG);
    let res = app
        .anon(Method::GET, &format!("/healthz?{}", "q".repeat(9000)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::URI_TOO_LONG);
    assert_eq!(res.error_code(), "uri_too_long");
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_408_in_the_error_shape() {
    let app = TestApp::with(Config {
        request_timeout: std::time::Duration::from_millis(300),
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let res = app
        .req(Method::POST, "/api/v1/tracks/sync")
        .header("content-type", "application/json")
        .stalled(br#"{"metadata":"#.to_vec())
        .send()
        .await;
    let took = started.elapsed();
    assert_eq!(res.status, StatusCode::REQUEST_TIMEOUT, "{}", res.text());
    assert_eq!(res.error_code(), "request_timeout");
    assert_eq!(res.header("connection"), Some("close"));
    assert!(
        took >= std::time::Duration::from_millis(300) && took < std::time::Duration::from_secs(2),
        "answered after {took:?}"
    );
    assert!(lock(&app.queue.enqueued).is_empty());
}
