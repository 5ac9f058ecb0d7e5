//! The `ingest-worker` binary as a process: its first stdout line names the
//! metrics address (port 0 resolved), `/metrics` and `/healthz` answer, and
//! SIGTERM stops it cleanly.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_worker_binary_serves_metrics_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ingest-worker"))
        .args(["--metrics-addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("tracks.db").display()),
        )
        .env("MRE_JOB_POLL_SECONDS", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("ingest-worker starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(!base.ends_with(":0"), "port 0 is resolved: {base}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("metrics");
        assert_eq!(metrics.status().as_u16(), 200);
        let text = metrics.text().await.expect("body");
        assert!(text.contains("liverc_sync_runs"), "{text}");
        let health = reqwest::get(format!("{base}/healthz"))
            .await
            .expect("health");
        assert_eq!(health.status().as_u16(), 200);
    });

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ingest-worker did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
