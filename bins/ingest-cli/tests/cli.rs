//! Runs the built `ingest-cli` binary on the real LiveRC captures (read in
//! place from `/work/shared/liverc/pages/`) and checks its JSON, its field
//! names and its exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn page(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/liverc/pages")
        .join(name)
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ingest-cli"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn run_ok(args: &[&std::ffi::OsStr]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

const DASHBOARD_FIELDS: [&str; 18] = [
    "name",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "country_code",
    "phone",
    "website",
    "email",
    "description",
    "logo_url",
    "facebook_url",
    "total_laps",
    "total_practice_sessions",
    "total_races",
    "total_entries",
    "total_events",
];

#[test]
fn parse_dashboard_prints_the_contract_fields() {
    let path = page("dashboard_thunderalley.html");
    let json = run_ok(&[
        "liverc".as_ref(),
        "parse-dashboard".as_ref(),
        path.as_os_str(),
    ]);
    let object = json.as_object().expect("a JSON object");
    for field in DASHBOARD_FIELDS {
        assert!(object.contains_key(field), "missing field {field}");
    }
    assert_eq!(json["name"], "Thunder Alley RC Speedway");
    assert_eq!(json["street"], "5320 US 301");
    assert_eq!(json["city"], "Lucama");
    assert_eq!(json["state"], "NC");
    assert_eq!(json["postal_code"], "27851");
    assert_eq!(json["country"], "United States");
    assert_eq!(json["country_code"], "US");
    assert_eq!(json["phone"], "+1 252-291-4088");
    assert_eq!(json["email"], "worldofrcparts@aol.com");
    assert_eq!(json["total_laps"], 6_753_663);
    assert_eq!(json["total_events"], 898);
}

#[test]
fn absent_values_are_printed_as_null() {
    let path = page("dashboard_canberraoffroad_raw.html");
    let json = run_ok(&[
        "liverc".as_ref(),
        "parse-dashboard".as_ref(),
        path.as_os_str(),
    ]);
    let object = json.as_object().expect("a JSON object");
    for field in DASHBOARD_FIELDS {
        assert!(object.contains_key(field), "missing field {field}");
    }
    for field in ["state", "phone", "description", "logo_url", "facebook_url"] {
        assert_eq!(object.get(field), Some(&Value::Null), "{field}");
    }
    assert_eq!(json["name"], "Canberra Off Road Model Car Club");
    assert_eq!(json["postal_code"], "02604");
}

#[test]
fn parse_catalogue_prints_entries_with_the_contract_fields() {
    let path = page("track_catalogue.html");
    let json = run_ok(&[
        "liverc".as_ref(),
        "parse-catalogue".as_ref(),
        path.as_os_str(),
        "--fetched-at".as_ref(),
        "2025-12-06T13:00:00+01:00".as_ref(),
    ]);
    assert_eq!(json["fetched_at"], "2025-12-06T12:00:00Z");
    let entries = json["entries"].as_array().expect("entries array");
    assert_eq!(entries.len(), 1_090);
    assert_eq!(json["skipped"].as_array().map(Vec::len), Some(0));
    let first = entries.first().expect("an entry");
    for field in [
        "slug",
        "name",
        "track_url",
        "events_url",
        "last_updated_text",
    ] {
        assert!(first.get(field).is_some(), "missing field {field}");
    }
    assert_eq!(first["slug"], "raceplacerc");
    assert_eq!(first["name"], "Race Place RC");
    assert_eq!(first["track_url"], "https://raceplacerc.liverc.com/");
    assert_eq!(first["events_url"], "https://raceplacerc.liverc.com/live/");
    assert_eq!(first["last_updated_text"], "1 minute ago");
    assert_eq!(first["last_updated_at"], "2025-12-06T11:59:00Z");
    let without_event = entries
        .iter()
        .find(|entry| entry["current_event"].is_null())
        .expect("some rows have no event");
    assert!(
        without_event
            .as_object()
            .is_some_and(|o| o.contains_key("current_event"))
    );
}

#[test]
fn a_page_of_the_wrong_kind_exits_1() {
    let path = page("dashboard_bbrcc.html");
    let output = run(&[
        "liverc".as_ref(),
        "parse-catalogue".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("catalogue page format"), "{stderr}");
    assert!(stderr.contains("dashboard_bbrcc.html"), "{stderr}");

    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.html");
    std::fs::write(&junk, b"\xff\xfe not html at all").expect("write");
    let output = run(&[
        "liverc".as_ref(),
        "parse-dashboard".as_ref(),
        junk.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("dashboard page format"));
}

#[test]
fn an_unreadable_file_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.html");
    let output = run(&[
        "liverc".as_ref(),
        "parse-dashboard".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));

    // A directory cannot be read as a file either.
    let output = run(&[
        "liverc".as_ref(),
        "parse-catalogue".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_bad_fetched_at_is_a_usage_error() {
    let path = page("track_catalogue.html");
    let output = run(&[
        "liverc".as_ref(),
        "parse-catalogue".as_ref(),
        path.as_os_str(),
        "--fetched-at".as_ref(),
        "yesterday".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("RFC 3339"));
}

#[test]
fn completions_are_valid_scripts_that_know_the_commands() {
    let output = run(&["completions".as_ref(), "bash".as_ref()]);
    assert!(output.status.success(), "{output:?}");
    let script = String::from_utf8_lossy(&output.stdout).into_owned();
    for word in [
        "ingest-cli",
        "sync",
        "--dry-run",
        "--concurrency",
        "reports",
    ] {
        assert!(script.contains(word), "no {word} in the bash script");
    }
    // bash itself parses it.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ingest-cli.bash");
    std::fs::write(&path, &script).expect("write");
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let output = run(&["completions".as_ref(), shell.as_ref()]);
        assert!(
            output.status.success() && !output.stdout.is_empty(),
            "{shell}"
        );
    }
    let output = run(&["completions".as_ref(), "tcsh".as_ref()]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_cover_every_command() {
    let output = run(&["man".as_ref()]);
    assert!(output.status.success(), "{output:?}");
    let page = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        page.starts_with(".ie") || page.contains(".TH ingest-cli"),
        "{page}"
    );
    assert!(page.contains("sync") && page.contains("demo"), "{page}");

    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(&["man".as_ref(), "--out-dir".as_ref(), dir.path().as_os_str()]);
    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for wanted in [
        "ingest-cli.1",
        "ingest-cli-sync.1",
        "ingest-cli-demo.1",
        "ingest-cli-tracks-list.1",
        "ingest-cli-reports-show.1",
        "ingest-cli-remote-sync.1",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} not in {names:?}"
        );
    }
    let sync = std::fs::read_to_string(dir.path().join("ingest-cli-sync.1")).expect("read");
    assert!(
        sync.contains("dry\\-run"),
        "the sync page documents --dry-run"
    );
    // The exit-code table of `sync --help` is in its page too.
    assert!(sync.contains("guard"), "{sync}");
}
