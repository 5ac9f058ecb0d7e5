//! What a request leaves behind: the API's request metrics under route
//! templates, and the queue's series read on a scrape. (The request id in
//! every log line is checked in `tests/request_logs.rs`, a binary of its own.)

use axum::http::{Method, StatusCode};
use prometheus_client::encoding::text::encode;

use ingest_core::JobError;

use crate::support::{self, TestApp};

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status() {
    let app = TestApp::new();
    let job = app.enqueue().await;
    app.req(Method::GET, &format!("/api/v1/tracks/sync/{job}"))
        .send()
        .await;
    let unknown = uuid::Uuid::now_v7();
    app.req(Method::GET, &format!("/api/v1/tracks/sync/{unknown}"))
        .send()
        .await;
    app.anon(Method::GET, "/api/v1/tracks").send().await;
    app.req(Method::GET, "/wp-login.php").send().await;
    app.req(Method::GET, "/.env").send().await;

    let mut text = String::new();
    encode(&mut text, &app.http_registry).expect("encode");
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(
        has(r#"http_requests_total{route="/api/v1/tracks/sync",method="POST",status="202"} 1"#),
        "{text}"
    );
    assert!(
        has(
            r#"http_requests_total{route="/api/v1/tracks/sync/{jobId}",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        has(
            r#"http_requests_total{route="/api/v1/tracks/sync/{jobId}",method="GET",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        has(r#"http_requests_total{route="/api/v1/tracks",method="GET",status="401"} 1"#),
        "the layers' refusals are counted: {text}"
    );
    // Unknown paths share one series; no raw path or id becomes a label.
    assert!(
        has(r#"http_requests_total{route="unmatched",method="GET",status="404"} 2"#),
        "{text}"
    );
    assert!(
        !text.contains("wp-login") && !text.contains(&unknown.to_string()),
        "{text}"
    );
    assert!(
        text.contains(r#"http_request_duration_seconds_count{route="/api/v1/tracks/sync/{jobId}",method="GET"} 2"#),
        "{text}"
    );
}

/// The registry's text after one scrape of `/metrics`.
async fn scrape(app: &TestApp) -> String {
    let res = app.anon(Method::GET, "/metrics").send().await;
    assert_eq!(res.status, StatusCode::OK);
    let mut text = String::new();
    encode(&mut text, &app.http_registry).expect("encode");
    text
}

#[tokio::test]
async fn a_scrape_reads_the_queue_and_the_last_success_from_the_store() {
    let app = TestApp::new();
    let text = scrape(&app).await;
    let has = |text: &str, line: &str| text.lines().any(|l| l == line);
    assert!(has(&text, r#"liverc_jobs{state="queued"} 0"#), "{text}");
    assert!(has(&text, "liverc_queue_oldest_age_seconds 0.0"), "{text}");
    assert!(
        has(&text, "liverc_last_success_timestamp_seconds 0.0"),
        "never succeeded reads 0: {text}"
    );

    let job = app.enqueue().await;
    app.clock
        .set(support::now() + chrono::Duration::seconds(90));
    let mut report = support::report(job, "# ok");
    report.finished_at = support::now() + chrono::Duration::seconds(30);
    app.reports.save(report);
    let text = scrape(&app).await;
    assert!(has(&text, r#"liverc_jobs{state="queued"} 1"#), "{text}");
    assert!(has(&text, r#"liverc_jobs{state="running"} 0"#), "{text}");
    assert!(has(&text, r#"liverc_jobs{state="retrying"} 0"#), "{text}");
    assert!(has(&text, "liverc_queue_oldest_age_seconds 90.0"), "{text}");
    let finished = (support::now() + chrono::Duration::seconds(30)).timestamp();
    assert!(
        has(
            &text,
            &format!("liverc_last_success_timestamp_seconds {finished}.0")
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_store_that_cannot_be_read_withdraws_the_queue_series_and_the_scrape_still_answers() {
    let app = TestApp::new();
    app.enqueue().await;
    assert!(scrape(&app).await.contains("liverc_jobs{"));
    app.queue.fail(Some(|| {
        JobError::Unavailable("connection refused".to_owned())
    }));
    let text = scrape(&app).await;
    assert!(
        !text.contains("liverc_jobs{")
            && !text.contains("liverc_queue_oldest_age_seconds ")
            && !text.contains("liverc_last_success_timestamp_seconds "),
        "no stale numbers: {text}"
    );
    assert!(text.contains("http_requests_total"), "{text}");
    app.queue.fail(None);
    assert!(
        scrape(&app)
            .await
            .contains(r#"liverc_jobs{state="queued"} 1"#)
    );
}
