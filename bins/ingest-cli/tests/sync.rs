//! `ingest-cli sync` and `ingest-cli demo` as a person runs them: the built
//! binary against the LiveRC simulator on loopback, into a temporary SQLite
//! database, checking the JSON summary, the report file and the exit codes.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use liverc_sim::{SimConfig, Simulator};
use serde_json::Value;

#[path = "sync/drift.rs"]
mod drift;
#[path = "sync/dry_run.rs"]
mod dry_run;
#[path = "sync/one_writer.rs"]
mod one_writer;

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ingest-cli"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_prints_a_camel_case_summary_and_exits_by_outcome() {
    let sim = Simulator::start(
        SimConfig {
            tracks: 120,
            latency: Duration::from_millis(1),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let catalogue = sim.catalogue_url();
    let template = sim.track_url_template();
    let args = [
        "sync",
        "--json",
        "--database-url",
        "sqlite://tracks.db",
        "--report-dir",
        "reports",
        "--catalogue-url",
        &catalogue,
        "--track-url-template",
        &template,
    ];
    let dir_path = dir.path().to_path_buf();
    let args_owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let run = move |extra: &[&str]| {
        let mut a: Vec<&str> = args_owned.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        cli(&dir_path, &a)
    };

    let first = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&[])
    })
    .await
    .expect("join");
    assert_eq!(
        first.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let summary = json(&first);
    let first_summary = summary.clone();
    for key in [
        "runId",
        "status",
        "tracksTotal",
        "tracksAdded",
        "tracksUpdated",
        "tracksUnchanged",
        "tracksDeactivated",
        "tracksReactivated",
        "metadataFetched",
        "metadataNotModified",
        "metadataFailures",
        "durationSeconds",
        "reportPath",
    ] {
        assert!(summary.get(key).is_some(), "summary has {key}: {summary}");
    }
    assert_eq!(summary["status"], "succeeded");
    assert_eq!(summary["tracksTotal"], 120);
    assert_eq!(summary["tracksAdded"], 120);
    assert_eq!(summary["metadataFetched"], 120);
    let report = dir
        .path()
        .join(summary["reportPath"].as_str().expect("report path"));
    let body = std::fs::read_to_string(&report).expect("report file exists");
    assert!(body.starts_with("# Track sync report"));
    let first_body = body.clone();

    // The catalogue shrinks by half: the guard refuses, exit code 3.
    sim.site().truncate_catalogue(Some(60));
    let refused = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&[])
    })
    .await
    .expect("join");
    assert_eq!(
        refused.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let summary = json(&refused);
    assert_eq!(summary["status"], "guard_refused");
    assert_eq!(summary["tracksDeactivated"], 0);

    // --force deactivates; tracks list shows the 60 that are left.
    let forced = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["--force"])
    })
    .await
    .expect("join");
    assert_eq!(forced.status.code(), Some(0));
    assert_eq!(json(&forced)["tracksDeactivated"], 60);
    let dir_path = dir.path().to_path_buf();
    let listed = tokio::task::spawn_blocking(move || {
        cli(
            &dir_path,
            &[
                "tracks",
                "list",
                "--json",
                "--database-url",
                "sqlite://tracks.db",
            ],
        )
    })
    .await
    .expect("join");
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(60));

    // The three runs' reports, from the database archive and from the files.
    let first_id = first_summary["runId"].as_str().expect("run id").to_owned();
    let dir_path = dir.path().to_path_buf();
    let (listed, shown, latest, from_files, missing, elsewhere) =
        tokio::task::spawn_blocking(move || {
            let db = ["--database-url", "sqlite://tracks.db"];
            let with_db = |args: &[&str]| {
                let mut a = args.to_vec();
                a.extend_from_slice(&db);
                cli(&dir_path, &a)
            };
            (
                with_db(&["reports", "list"]),
                with_db(&["reports", "show", &first_id[..13]]),
                with_db(&["reports", "show", "latest"]),
                cli(
                    &dir_path,
                    &[
                        "reports",
                        "show",
                        &first_id,
                        "--files",
                        "--report-dir",
                        "reports",
                    ],
                ),
                with_db(&["reports", "show", "ffffffff"]),
                // A database without these runs (as after `demo`, which has its
                // own): the files are listed instead.
                {
                    let migrated = cli(
                        &dir_path,
                        &["db", "migrate", "--database-url", "sqlite://other.db"],
                    );
                    assert!(migrated.status.success(), "{migrated:?}");
                    cli(
                        &dir_path,
                        &[
                            "reports",
                            "list",
                            "--database-url",
                            "sqlite://other.db",
                            "--report-dir",
                            "reports",
                        ],
                    )
                },
            )
        })
        .await
        .expect("join");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(
        listed
            .lines()
            .last()
            .is_some_and(|l| l.contains(first_summary["runId"].as_str().unwrap_or("?"))),
        "oldest last: {listed}"
    );
    assert!(listed.contains("guard_refused"), "{listed}");
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        first_body,
        "the archive holds the file's report"
    );
    assert_eq!(String::from_utf8_lossy(&from_files.stdout), first_body);
    let latest = String::from_utf8_lossy(&latest.stdout).into_owned();
    assert!(
        latest.starts_with("# Track sync report") && latest != first_body,
        "the forced run's report"
    );
    // Laid out for reading (what a terminal gets by default): the same
    // report without Markdown syntax, escapes or ANSI codes (stdout is a
    // pipe here, so no styles).
    let text_dir = dir.path().to_path_buf();
    let text = tokio::task::spawn_blocking(move || {
        cli(
            &text_dir,
            &[
                "reports",
                "show",
                "latest",
                "--format",
                "text",
                "--database-url",
                "sqlite://tracks.db",
            ],
        )
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("Track sync report — run "), "{text}");
    assert!(
        text.lines().nth(1).is_some_and(|l| l.starts_with("====")),
        "{text}"
    );
    assert!(
        !text.contains('\x1b') && !text.contains("&amp;") && !text.contains("\\_"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with('|') || l.starts_with('#')),
        "{text}"
    );
    assert!(text.contains("\nSummary\n"), "{text}");
    assert_eq!(missing.status.code(), Some(1), "an unknown run is an error");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no report"));
    let elsewhere = String::from_utf8_lossy(&elsewhere.stdout).into_owned();
    assert!(
        elsewhere.starts_with("no reports in the database; the files in reports:"),
        "{elsewhere}"
    );
    assert_eq!(elsewhere.lines().count(), 4, "{elsewhere}");

    // The site is gone: a failure, exit code 2, nothing deactivated, and
    // one alert to the webhook, sent before the process exits.
    sim.shutdown().await.expect("shutdown");
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let hook_url = hook.uri();
    let failed = tokio::task::spawn_blocking(move || {
        run(&[
            "--max-retries",
            "0",
            "--alert-webhook-url",
            &hook_url,
            "--public-url",
            "http://ingest.example",
        ])
    })
    .await
    .expect("join");
    assert_eq!(failed.status.code(), Some(1));
    let summary = json(&failed);
    assert_eq!(summary["status"], "failed");
    let posted = hook.received_requests().await.unwrap_or_default();
    assert_eq!(posted.len(), 1, "one alert");
    let alert: Value = serde_json::from_slice(&posted[0].body).expect("JSON alert");
    assert_eq!(alert["event"], "job_failed", "{alert}");
    assert_eq!(alert["trigger"], "cli", "{alert}");
    let run_id = summary["runId"].as_str().expect("run id");
    assert_eq!(
        alert["reportUrl"],
        format!("http://ingest.example/api/v1/tracks/sync/{run_id}/report"),
        "{alert}"
    );
}

#[test]
fn sync_honours_the_kill_switch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_ingest-cli"))
        .args([
            "sync",
            "--json",
            "--database-url",
            "sqlite://tracks.db",
            "--catalogue-url",
            "http://127.0.0.1:9/",
        ])
        .current_dir(dir.path())
        .env("MRE_SCRAPE_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    // Not started: exit 4, nothing on stdout, no database, no report.
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kill switch is on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("tracks.db").exists(), "no run recorded");
}

/// A Postgres that refuses connections is reported at once, with the
/// cause, not after a pool's 30-second acquire timeout as `pool timed out`.
#[test]
fn a_refused_postgres_fails_at_once_naming_the_cause() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let started = std::time::Instant::now();
    let out = cli(
        dir.path(),
        &[
            "sync",
            "--database-url",
            &format!("postgres://postgres@127.0.0.1:{port}/tracks"),
            "--catalogue-url",
            "http://127.0.0.1:9/",
        ],
    );
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "the cause is named: {stderr}"
    );
}

#[test]
fn demo_twice_shows_real_changes_the_second_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = |dir: &Path| {
        cli(
            dir,
            &[
                "demo",
                "--json",
                "--tracks",
                "150",
                "--latency-ms",
                "0",
                "--mutations",
                "8",
            ],
        )
    };
    let first = demo(dir.path());
    assert_eq!(
        first.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = json(&first);
    assert_eq!(first["tracksAdded"], 150);
    assert!(dir.path().join("data/demo.db").exists());

    let second = demo(dir.path());
    assert_eq!(
        second.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("changed the simulated site first"),
        "{stderr}"
    );
    // The demo holds the report against what it did to the site: every
    // added, removed, renamed or edited track is accounted for.
    assert!(
        stderr.contains("demo: every change of the site is in the report"),
        "{stderr}"
    );
    let second = json(&second);
    let changed = [
        "tracksAdded",
        "tracksUpdated",
        "tracksDeactivated",
        "tracksChurnOnly",
    ]
    .iter()
    .map(|k| second[k].as_u64().unwrap_or(0))
    .sum::<u64>();
    assert!(changed > 0, "the second demo reports changes: {second}");
}

/// Reading commands never create an empty database, and point at the demo's
/// when that is where the tracks are.
#[test]
fn read_only_commands_do_not_create_a_database_and_point_at_the_demo_s() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = cli(dir.path(), &["tracks", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database at data/tracks.db"), "{stderr}");
    assert!(
        !dir.path().join("data/tracks.db").exists(),
        "nothing created"
    );

    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/demo.db"), b"").expect("a demo file");
    let out = cli(dir.path(), &["reports", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--database-url sqlite://data/demo.db"),
        "{stderr}"
    );

    // Nor does a dry run: it reads an existing database or none.
    let out = cli(
        dir.path(),
        &[
            "sync",
            "--dry-run",
            "--database-url",
            "sqlite://nothing-here.db",
            "--catalogue-url",
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no database at nothing-here.db"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("nothing-here.db").exists(),
        "nothing created"
    );
}

/// A report directory that cannot hold the report stops the run before it
/// fetches anything (it used to be found after the run, with exit 0).
#[test]
fn a_report_dir_that_is_a_file_stops_the_run_before_it_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a-file"), b"").expect("a file");
    let out = cli(
        dir.path(),
        &[
            "sync",
            "--database-url",
            "sqlite://tracks.db",
            "--report-dir",
            "a-file",
            "--catalogue-url",
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report directory a-file"), "{stderr}");
}
