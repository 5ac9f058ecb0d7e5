//! The webhook notifier against wiremock servers (and closed ports) on
//! 127.0.0.1: the bodies it sends (insta snapshots), one request per alert,
//! what it retries and what it does not, bounded giving-up, and the
//! fire-and-forget `spawn_notify`. Nothing here leaves the machine.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ingest_alerts::{
    WebhookConfig, WebhookFormat, WebhookNotifier, alerts_for, payload, spawn_notify,
};
use ingest_core::{Alert, AlertKind, Notifier, RunStatus, Stage, StageTiming, SyncSummary};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The secret part of the hook's URL, which no error may show.
const SECRET_PATH: &str = "/services/T0000/B0000/s3cr3tT0k3n";

fn occurred_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 3, 42, 7)
        .single()
        .expect("valid time")
}

fn summary(status: RunStatus, error: Option<&str>, seconds: f64) -> SyncSummary {
    SyncSummary {
        run_id: "0193a5b2-7c1e-7000-8000-00000000002a"
            .parse()
            .expect("valid uuid"),
        status,
        tracks_total: 1_090,
        tracks_added: 2,
        tracks_updated: 5,
        tracks_unchanged: 1_010,
        tracks_churn_only: 73,
        tracks_deactivated: 0,
        tracks_reactivated: 0,
        metadata_fetched: 1_077,
        metadata_not_modified: 0,
        metadata_skipped: 0,
        metadata_failures: 13,
        validation_anomalies: 1,
        retries: 21,
        duration_seconds: seconds,
        report_path: None,
        report_file: None,
        error: error.map(str::to_owned),
        stage_timings: vec![
            StageTiming {
                stage: Stage::Catalogue,
                seconds: 0.8,
                detail: None,
            },
            StageTiming {
                stage: Stage::Dashboards,
                seconds: seconds - 5.0,
                detail: Some("1090 requested".to_owned()),
            },
        ],
        lease_lost: false,
        tracks_pending_deactivation: 0,
        drift: Vec::new(),
    }
}

/// A failed run whose error quotes markup, a code fence and an ampersand,
/// with a report link: every escaping rule shows in the Slack snapshot.
fn failed_alert() -> Alert {
    let run = summary(
        RunStatus::Failed,
        Some(
            "catalogue: HTTP 503 Service Unavailable: <html><b>down</b> & out</html>\n\
             caused by: upstream ```maintenance```",
        ),
        95.25,
    );
    let mut alerts = alerts_for(
        &run,
        "cron",
        "liverc",
        Some(Duration::from_secs(3600)),
        Some("https://ingest.example.org/api/reports/0193a5b2?format=md&x=a|b".to_owned()),
        occurred_at(),
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    alerts.remove(0)
}

fn config(server: &MockServer, format: WebhookFormat) -> WebhookConfig {
    WebhookConfig {
        format,
        timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(2),
        ..WebhookConfig::new(format!("{}{SECRET_PATH}", server.uri()))
    }
}

fn notifier(config: WebhookConfig) -> WebhookNotifier {
    WebhookNotifier::new(config).expect("valid config")
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
        .collect()
}

async fn attempts(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .len()
}

fn ok_hook() -> Mock {
    Mock::given(method("POST"))
        .and(path(SECRET_PATH))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
}

#[tokio::test]
async fn slack_body() {
    let server = MockServer::start().await;
    ok_hook().expect(1).mount(&server).await;
    let alert = failed_alert();
    notifier(config(&server, WebhookFormat::Slack))
        .notify(&alert)
        .await
        .expect("delivered");
    server.verify().await;
    let body = bodies(&server).await.remove(0);
    assert_eq!(
        body,
        payload(WebhookFormat::Slack, &alert).expect("payload")
    );
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("slack_job_failed", body);
    });
}

#[tokio::test]
async fn generic_body() {
    let server = MockServer::start().await;
    ok_hook().expect(1).mount(&server).await;
    let alert = failed_alert();
    notifier(config(&server, WebhookFormat::Generic))
        .notify(&alert)
        .await
        .expect("delivered");
    server.verify().await;
    let body = bodies(&server).await.remove(0);
    // The alert itself, camelCase, plus `event` and `service`.
    let mut expected = serde_json::to_value(&alert).expect("serialise");
    expected["event"] = "job_failed".into();
    expected["service"] = "liverc-ingestion".into();
    assert_eq!(body, expected);
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("generic_job_failed", body);
    });
}

#[tokio::test]
async fn slack_bodies_of_a_guard_refusal_and_an_sla_breach() {
    let refused = summary(
        RunStatus::GuardRefused,
        Some("would deactivate 312 of 1090 active tracks (28.6%), above the limit of 10.0%"),
        4_000.0,
    );
    let alerts = alerts_for(
        &refused,
        "api",
        "liverc",
        Some(Duration::from_secs(3600)),
        None,
        occurred_at(),
    );
    let kinds: Vec<_> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::GuardRefused, AlertKind::SlaBreached]);
    let bodies: Vec<_> = alerts
        .iter()
        .map(|a| payload(WebhookFormat::Slack, a).expect("payload"))
        .collect();
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("slack_guard_refused", bodies[0]);
        insta::assert_json_snapshot!("slack_sla_breached", bodies[1]);
    });
}

#[tokio::test]
async fn each_kind_of_alert_is_one_request() {
    let sla = Some(Duration::from_secs(600));
    let cases = [
        (
            summary(
                RunStatus::Failed,
                Some("database: connection refused"),
                30.0,
            ),
            AlertKind::JobFailed,
        ),
        (
            summary(
                RunStatus::FormatError,
                Some("catalogue: no track table"),
                3.0,
            ),
            AlertKind::JobFailed,
        ),
        (
            summary(RunStatus::GuardRefused, Some("too many missing"), 300.0),
            AlertKind::GuardRefused,
        ),
        (
            summary(RunStatus::Succeeded, None, 900.0),
            AlertKind::SlaBreached,
        ),
    ];
    for (run, kind) in cases {
        let server = MockServer::start().await;
        ok_hook().expect(1).mount(&server).await;
        let hook = notifier(config(&server, WebhookFormat::Generic));
        let alerts = alerts_for(&run, "cron", "liverc", sla, None, occurred_at());
        assert_eq!(alerts.len(), 1, "{:?}: {alerts:?}", run.status);
        for alert in &alerts {
            hook.notify(alert).await.expect("delivered");
        }
        server.verify().await;
        let body = bodies(&server).await.remove(0);
        assert_eq!(body["event"], kind.as_str(), "{:?}", run.status);
        assert_eq!(body["kind"], kind.as_str());
        assert_eq!(body["runId"], run.run_id.to_string());
    }
}

#[tokio::test]
async fn a_server_error_is_retried_until_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    ok_hook().mount(&server).await;
    notifier(config(&server, WebhookFormat::Slack))
        .notify(&failed_alert())
        .await
        .expect("delivered on the second attempt");
    assert_eq!(attempts(&server).await, 2);
    let bodies = bodies(&server).await;
    assert_eq!(bodies[0], bodies[1], "the retry sends the same body");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_payload\n"))
        .mount(&server)
        .await;
    let error = notifier(config(&server, WebhookFormat::Slack))
        .notify(&failed_alert())
        .await
        .expect_err("refused");
    assert_eq!(attempts(&server).await, 1);
    let message = error.to_string();
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(message.contains("invalid_payload"), "{message}");
    assert!(message.contains("not retried after 1 attempt"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    ok_hook().mount(&server).await;
    let started = Instant::now();
    notifier(config(&server, WebhookFormat::Generic))
        .notify(&failed_alert())
        .await
        .expect("delivered after the pause");
    let elapsed = started.elapsed();
    assert_eq!(attempts(&server).await, 2);
    // The backoff alone would have waited 10 ms.
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_long_retry_after_is_capped_and_attempts_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = notifier(WebhookConfig {
        max_retry_after: Duration::from_millis(50),
        ..config(&server, WebhookFormat::Generic)
    })
    .notify(&failed_alert())
    .await
    .expect_err("gave up");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(attempts(&server).await, 3);
    let message = error.to_string();
    assert!(message.contains("HTTP 429"), "{message}");
    assert!(message.contains("giving up after 3 attempts"), "{message}");
}

#[tokio::test]
async fn a_dead_endpoint_fails_after_max_attempts_in_bounded_time() {
    let url = format!("http://127.0.0.1:{}{SECRET_PATH}", closed_port());
    let hook = notifier(WebhookConfig {
        timeout: Duration::from_secs(1),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(40),
        ..WebhookConfig::new(url)
    });
    let started = Instant::now();
    let error = hook
        .notify(&failed_alert())
        .await
        .expect_err("nobody listens");
    let elapsed = started.elapsed();
    // Three refused connections and two pauses (20 + 40 ms).
    assert!(elapsed >= Duration::from_millis(60), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let message = error.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("giving up after 3 attempts"), "{message}");
    assert!(message.contains("http://127.0.0.1:"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = notifier(WebhookConfig {
        timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..config(&server, WebhookFormat::Generic)
    })
    .notify(&failed_alert())
    .await
    .expect_err("too slow");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(attempts(&server).await, 2);
    let message = error.to_string();
    assert!(message.contains("timed out"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SECRET_PATH))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let error = notifier(config(&server, WebhookFormat::Generic))
        .notify(&failed_alert())
        .await
        .expect_err("a redirect is an error");
    assert!(error.to_string().contains("HTTP 302"), "{error}");
    assert_eq!(attempts(&server).await, 1);
    server.verify().await;
}

#[tokio::test]
async fn spawn_notify_sends_every_alert_in_order() {
    let server = MockServer::start().await;
    ok_hook().expect(2).mount(&server).await;
    let run = summary(RunStatus::Failed, Some("database: gone"), 7_200.0);
    let alerts = alerts_for(
        &run,
        "cron",
        "liverc",
        Some(Duration::from_secs(3600)),
        None,
        occurred_at(),
    );
    let hook: Arc<dyn Notifier> = Arc::new(notifier(config(&server, WebhookFormat::Generic)));
    tokio::time::timeout(Duration::from_secs(10), spawn_notify(hook, alerts))
        .await
        .expect("finishes")
        .expect("the task does not panic");
    server.verify().await;
    let events: Vec<_> = bodies(&server)
        .await
        .iter()
        .map(|b| b["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(events, ["job_failed", "sla_breached"]);
}

#[tokio::test]
async fn spawn_notify_with_a_dead_endpoint_does_not_block_the_caller() {
    let hook: Arc<dyn Notifier> = Arc::new(notifier(WebhookConfig {
        timeout: Duration::from_secs(1),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(400),
        ..WebhookConfig::new(format!("http://127.0.0.1:{}/hook", closed_port()))
    }));
    let run = summary(RunStatus::Failed, Some("boom"), 7_200.0);
    let alerts = alerts_for(
        &run,
        "cron",
        "liverc",
        Some(Duration::from_secs(3600)),
        None,
        occurred_at(),
    );
    assert_eq!(alerts.len(), 2);

    let started = Instant::now();
    let handle = spawn_notify(hook, alerts);
    // Back at once, while the deliveries (≥ 2 × 600 ms of pauses) go on.
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert!(!handle.is_finished());

    // The task gives up on its own, logging, without a panic.
    tokio::time::timeout(Duration::from_secs(15), handle)
        .await
        .expect("gives up in bounded time")
        .expect("the task does not panic");
    assert!(
        started.elapsed() >= Duration::from_millis(1_200),
        "{:?}",
        started.elapsed()
    );
}
