//! An API request's id (`x-request-id`) is in its response and in every log
//! line of the request.
//!
//! Alone in a test binary of its own: tracing caches, per call site and for
//! the whole process, whether anyone listens. In a binary whose other tests
//! run the same handlers on other threads without a subscriber, that cache
//! could say "no one" while this test's subscriber was installed, and the
//! request logged nothing (seen about once in thirty runs).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};

#[path = "api/support.rs"]
#[expect(
    dead_code,
    reason = "the shared support serves many tests; this binary uses a few items"
)]
mod support;

use support::TestApp;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take_lines(&self) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.lock().expect("lock"));
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn a_request_id_is_answered_and_in_every_log_line_of_the_request() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // A current-thread test: the request runs on this thread, under this
    // subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::new();

    // The client's own id is kept and echoed.
    let res = app
        .req(Method::GET, "/api/v1/tracks")
        .header("x-request-id", "lb-5f2e:0042")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-request-id"), Some("lb-5f2e:0042"));
    let lines = captured.take_lines();
    assert!(!lines.is_empty(), "the request logged something");
    for line in &lines {
        assert!(line.contains("request_id=lb-5f2e:0042"), "{line}");
    }

    // Without one (or with an unusable one), the API makes one: a UUID,
    // different per request, in the header and in the logs.
    for sent in [None, Some("two words")] {
        let mut req = app.anon(Method::GET, "/api/v1/tracks");
        if let Some(id) = sent {
            req = req.header("x-request-id", id);
        }
        let res = req.send().await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "the 401 too");
        let id = res.header("x-request-id").expect("an id").to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let lines = captured.take_lines();
        assert!(!lines.is_empty());
        for line in &lines {
            assert!(line.contains(&format!("request_id={id}")), "{line}");
        }
    }
}
