//! `ingest_http::serve` on loopback, driven over raw TCP: a client that
//! never finishes its request head is cut off at the header-read timeout,
//! `/healthz` keeps answering while hundreds of such clients are held, and
//! past the connection cap new connections are closed at once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ingest_http::ServerConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::TestApp;

async fn start(config: ServerConfig) -> SocketAddr {
    let app = TestApp::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(ingest_http::serve(
        listener,
        app.router,
        config,
        std::future::pending(),
    ));
    addr
}

/// Everything the server sends until it closes the connection (a reset
/// counts as closed), waiting at most `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => panic!("the connection is still open after {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return received,
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `GET /healthz` on a new connection: the response's status line and how
/// long the exchange took.
async fn healthz(addr: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // A write error is a connection the server closed: read says so.
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await;
    let response = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&response);
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, started.elapsed())
}

fn config(header_read_timeout: Duration) -> ServerConfig {
    ServerConfig {
        header_read_timeout,
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_head_is_cut_off_at_the_timeout() {
    let timeout = Duration::from_secs(1);
    let addr = start(config(timeout)).await;

    let mut silent = TcpStream::connect(addr).await.expect("connect");
    silent
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    // The timer runs from the start of the head, not from the last byte: a
    // client trickling a byte every 100 ms is cut off just the same.
    let mut trickling = TcpStream::connect(addr).await.expect("connect");
    let trickle = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter().cycle() {
            if trickling.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        started.elapsed()
    });

    let (status, latency) = healthz(addr).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(latency < Duration::from_millis(500), "{latency:?}");

    let received = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    let cut_off = started.elapsed();
    assert!(received.is_empty(), "no response to half a request");
    assert!(
        cut_off >= timeout && cut_off < timeout + Duration::from_secs(1),
        "cut off after {cut_off:?}"
    );
    let trickle_cut_off = tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .expect("the trickling client is cut off")
        .expect("task");
    assert!(
        trickle_cut_off < timeout + Duration::from_secs(1),
        "trickling client cut off after {trickle_cut_off:?}"
    );
    eprintln!("slow client cut off after {cut_off:?}, trickling one after {trickle_cut_off:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_800_half_sent_requests_are_held() {
    const HELD: usize = 800;
    let timeout = Duration::from_secs(3);
    let addr = start(config(timeout)).await;

    let opened = Instant::now();
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect (is the open-file limit under 2,000?)");
        stream
            .write_all(b"POST /api/v1/tracks/sync HTTP/1.1\r\nHost: te")
            .await
            .expect("write");
        held.push(stream);
    }
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let (status, latency) = healthz(addr).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        worst = worst.max(latency);
    }
    assert!(
        opened.elapsed() < timeout,
        "measured while all {HELD} were held ({:?})",
        opened.elapsed()
    );
    assert!(
        worst < Duration::from_millis(500),
        "worst /healthz {worst:?}"
    );

    // Every one of them is closed at the timeout, without a response.
    for stream in &mut held {
        let left =
            (opened + timeout + Duration::from_secs(3)).saturating_duration_since(Instant::now());
        let received = read_until_closed(stream, left).await;
        assert!(received.is_empty());
    }
    let all_closed = opened.elapsed();
    eprintln!(
        "{HELD} half-sent requests: worst /healthz {worst:?}; all closed {all_closed:?} after the first opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_at_once() {
    let addr = start(ServerConfig {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 8,
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // Let the server accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, latency) = healthz(addr).await;
    assert_eq!(status, "", "closed without a response");
    assert!(latency < Duration::from_secs(1), "{latency:?}");

    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = healthz(addr).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
}

/// What hyper answers by itself, before the router runs, to a request it
/// cannot parse carries the error shape too: a request target hyper refuses
/// (over 64 KiB) and a malformed head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_to_unparsable_requests_carry_the_error_shape() {
    let addr = start(config(Duration::from_secs(5))).await;
    let long_target = format!(
        "GET /healthz?{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "q".repeat(70_000)
    );
    for (request, status, code) in [
        (long_target.into_bytes(), "414 URI Too Long", "uri_too_long"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nno colon here\r\n\r\n".to_vec(),
            "400 Bad Request",
            "bad_request",
        ),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(&request).await.expect("write");
        let response = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        let response = String::from_utf8(response).expect("utf8");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string());
    }
}
