//! The `ingest-api` binary as a process: `--with-worker` on the embedded
//! SQLite database, driven by the client `ingest-cli remote sync` uses
//! (`ingest_app::remote`), against the simulator on loopback. Checks the
//! first stdout line, enqueue → wait → succeeded (exit code 0), "skipped"
//! (4) while a run is active, 2 on a bad token, and a clean exit on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest_app::remote::{RemoteSyncArgs, remote_sync};
use liverc_sim::{SimConfig, Simulator};

const TOKEN: &str = "process-test-token-0123456789";

struct Api {
    child: Child,
    base: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ingest-api` on a SQLite file in `dir`, with only the environment given
/// here (plus `extra`).
fn api_command(dir: &std::path::Path, args: &[&str], extra: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ingest-api"));
    command
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("tracks.db").display()),
        )
        .env("MRE_ADMIN_API_TOKENS", TOKEN)
        .env("MRE_TRACK_SYNC_REPORT_DIR", dir.join("reports"))
        .env("MRE_JOB_POLL_SECONDS", "1");
    for (name, value) in extra {
        command.env(name, value);
    }
    command
}

fn start_api(sim: &liverc_sim::RunningSim, dir: &std::path::Path) -> Api {
    start(api_command(
        dir,
        &["--with-worker"],
        &[
            ("MRE_LIVERC_CATALOGUE_URL", sim.catalogue_url()),
            ("MRE_LIVERC_TRACK_URL_TEMPLATE", sim.track_url_template()),
        ],
    ))
}

/// Spawn and wait for the first line, `listening on http://…`.
fn start(mut command: Command) -> Api {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ingest-api starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(!base.ends_with(":0"), "port 0 is resolved: {base}");
    Api { child, base }
}

fn args(base: &str, token: &str, wait: bool) -> RemoteSyncArgs {
    RemoteSyncArgs {
        api_url: base.to_owned(),
        token: Some(token.to_owned()),
        wait,
        metadata: Some(ingest_core::MetadataMode::All),
        concurrency: None,
        force: false,
        trigger: "cron".to_owned(),
        poll_seconds: 1,
        timeout_minutes: 2,
        json: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_binary_runs_jobs_that_the_remote_client_follows() {
    let sim = Simulator::start(
        SimConfig {
            tracks: 120,
            latency: Duration::from_millis(25),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("dir");
    let mut api = start_api(&sim, dir.path());
    let mut log = |_: &str| {};

    // Enqueue without waiting: prints the job id.
    let mut out = Vec::new();
    let code = remote_sync(&args(&api.base, TOKEN, false), &mut out, &mut log)
        .await
        .expect("remote sync");
    assert_eq!(code, 0);
    let job_id = String::from_utf8(out).expect("utf8").trim().to_owned();
    assert_eq!(job_id.len(), 36, "a job id: {job_id}");

    // While it runs, another enqueue is skipped (exit 4); a bad token is 2.
    let code = remote_sync(&args(&api.base, TOKEN, true), &mut Vec::new(), &mut log)
        .await
        .expect("remote sync");
    assert_eq!(code, 4, "skipped while a run is active");
    let code = remote_sync(
        &args(&api.base, "not-the-token-0123456789", true),
        &mut Vec::new(),
        &mut log,
    )
    .await
    .expect("remote sync");
    assert_eq!(code, 2);

    // Wait for the first to end, then a cron-style run with --wait: 0.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = http
            .get(format!("{}/api/v1/tracks/sync/{job_id}", api.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("status")
            .text()
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        if v["status"] == "succeeded" {
            assert_eq!(v["trigger"], "cron");
            assert_eq!(v["tracksAdded"], 120);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "first job did not finish: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut out = Vec::new();
    let code = remote_sync(&args(&api.base, TOKEN, true), &mut out, &mut log)
        .await
        .expect("remote sync");
    let out = String::from_utf8(out).expect("utf8");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("succeeded"), "{out}");
    assert!(out.contains("/report"), "the report link is printed: {out}");

    // SIGTERM: a clean exit.
    let pid = api.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = api.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ingest-api did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The geocoder is only read where syncs run: configured for Nominatim but
/// without the required user agent, the API alone starts and serves, and
/// `--with-worker` refuses to start, naming the setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_alone_starts_without_the_settings_only_syncs_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sync_only = [("MRE_GEOCODER", "nominatim".to_owned())];

    let api = start(api_command(dir.path(), &[], &sync_only));
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let tracks = http
        .get(format!("{}/api/v1/tracks", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("tracks");
    assert_eq!(tracks.status(), 200, "the API serves from the database");
    drop(api);

    let refused = api_command(dir.path(), &["--with-worker"], &sync_only)
        .output()
        .expect("ingest-api runs");
    assert!(!refused.status.success(), "a worker needs the geocoder");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("MRE_NOMINATIM_USER_AGENT"),
        "the error names the setting: {stderr}"
    );
    assert!(refused.stdout.is_empty(), "it never listened");
}
