//! `MarkdownReportWriter` against a temporary directory and a mocked
//! `ReportArchive`: file names, atomic replacement, retention, archiving and
//! reading the previous completeness back.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use ingest_core::ports::report::MockReportArchive;
use ingest_core::{ArchivedReport, ReportError, ReportWriter, RunStatus};
use ingest_report::writer::{prune_dir, write_atomically};
use ingest_report::{
    MarkdownReportConfig, MarkdownReportWriter, render_markdown, report_file_name,
};

use crate::fixtures;

const FULL_NAME: &str = "track-sync-20261128-000137-0192f1c37a2b7c3d8e4f5a6b7c8d9e0f.md";

fn writer(
    dir: &Path,
    retention_days: Option<u32>,
    archive: Option<MockReportArchive>,
) -> MarkdownReportWriter {
    MarkdownReportWriter::new(MarkdownReportConfig {
        dir: dir.to_path_buf(),
        retention_days,
        archive: archive.map(|a| Arc::new(a) as Arc<dyn ingest_core::ReportArchive>),
    })
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn report_name(at: chrono::DateTime<Utc>, id: &str) -> String {
    format!("track-sync-{}-{id}.md", at.format("%Y%m%d-%H%M%S"))
}

#[test]
fn file_name_has_start_time_and_full_run_id() {
    assert_eq!(report_file_name(&fixtures::full()), FULL_NAME);
}

#[tokio::test]
async fn write_creates_the_directory_and_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("reports/nested");
    let report = fixtures::full();
    let location = writer(&dir, None, None)
        .write(&report)
        .await
        .expect("write");
    assert_eq!(location.file_name, FULL_NAME);
    let path = dir.join(FULL_NAME);
    assert_eq!(
        location.path.as_deref(),
        Some(path.display().to_string().as_str())
    );
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        render_markdown(&report)
    );
    assert_eq!(
        names(&dir),
        vec![FULL_NAME.to_owned()],
        "no temporary file left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}

#[tokio::test]
async fn writing_the_same_run_again_replaces_its_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = writer(tmp.path(), None, None);
    let mut report = fixtures::full();
    w.write(&report).await.expect("first write");
    report.status = RunStatus::Failed;
    report.error = Some("database down".to_owned());
    w.write(&report).await.expect("second write");
    assert_eq!(names(tmp.path()), vec![FULL_NAME.to_owned()]);
    let body = fs::read_to_string(tmp.path().join(FULL_NAME)).expect("read");
    assert!(body.contains("database down"));
}

#[test]
fn atomic_write_replaces_whole_files_and_leaves_no_temporary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let long = "x".repeat(100_000);
    write_atomically(tmp.path(), "r.md", long.as_bytes()).expect("write long");
    write_atomically(tmp.path(), "r.md", b"short").expect("write short");
    assert_eq!(
        fs::read_to_string(tmp.path().join("r.md")).expect("read"),
        "short"
    );
    assert_eq!(names(tmp.path()), vec!["r.md".to_owned()]);
}

#[tokio::test]
async fn a_file_where_the_directory_should_be_is_an_io_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let not_a_dir = tmp.path().join("reports");
    fs::write(&not_a_dir, "I am a file").expect("write");
    let err = writer(&not_a_dir, None, None)
        .write(&fixtures::full())
        .await
        .expect_err("cannot write into a file");
    assert!(matches!(err, ReportError::Io(_)), "{err:?}");
    assert_eq!(fs::read_to_string(&not_a_dir).expect("read"), "I am a file");
}

#[tokio::test]
async fn retention_prunes_old_reports_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let now = Utc::now();
    let old = report_name(now - Duration::days(31), "aaaa");
    let older = report_name(now - Duration::days(400), "bbbb");
    let recent = report_name(now - Duration::days(29), "cccc");
    let unrelated = [
        "track-sync-notes.md",
        "notes.md",
        "track-sync-20000101-000000-dddd.txt",
        ".track-sync-20000101-000000-eeee.md.x.tmp",
    ];
    for name in [&old, &older, &recent] {
        fs::write(dir.join(name), "old report").expect("write");
    }
    for name in unrelated {
        fs::write(dir.join(name), "keep me").expect("write");
    }
    // A directory with a report's name is not a report.
    fs::create_dir(dir.join("track-sync-20000101-000000-ffff.md")).expect("mkdir");

    // A temporary file left by a crash: old by its modification time.
    let stale_tmp = format!(".{old}.a1b2c3.tmp");
    let fresh_tmp = format!(".{recent}.d4e5f6.tmp");
    for name in [&stale_tmp, &fresh_tmp] {
        fs::write(dir.join(name), "half a report").expect("write");
    }
    fs::File::options()
        .write(true)
        .open(dir.join(&stale_tmp))
        .and_then(|f| f.set_modified((now - Duration::days(40)).into()))
        .expect("backdate");

    // The run itself started long ago: its own file must survive.
    let mut report = fixtures::full();
    report.started_at = now - Duration::days(90);
    report.finished_at = report.started_at + Duration::minutes(3);
    let own = report_file_name(&report);
    writer(dir, Some(30), None)
        .write(&report)
        .await
        .expect("write");

    let mut expected: Vec<String> = [recent, own, fresh_tmp]
        .into_iter()
        .chain(unrelated.iter().map(|s| (*s).to_owned()))
        .chain(["track-sync-20000101-000000-ffff.md".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(names(dir), expected);
}

#[tokio::test]
async fn without_retention_nothing_is_pruned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ancient = report_name(Utc::now() - Duration::days(4000), "aaaa");
    fs::write(tmp.path().join(&ancient), "x").expect("write");
    writer(tmp.path(), None, None)
        .write(&fixtures::full())
        .await
        .expect("write");
    assert_eq!(names(tmp.path()), vec![ancient, FULL_NAME.to_owned()]);
}

#[test]
fn prune_dir_counts_what_it_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cutoff = fixtures::at(2026, 1, 1, 0, 0, 0);
    let before = report_name(cutoff - Duration::seconds(1), "a");
    let at_cutoff = report_name(cutoff, "b");
    for name in [&before, &at_cutoff] {
        fs::write(tmp.path().join(name), "x").expect("write");
    }
    assert_eq!(prune_dir(tmp.path(), cutoff, "none").expect("prune"), 1);
    assert_eq!(names(tmp.path()), vec![at_cutoff]);
    assert!(prune_dir(&tmp.path().join("missing"), cutoff, "none").is_err());
}

#[tokio::test]
async fn write_archives_markdown_and_data_then_prunes_the_archive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = fixtures::full();
    let expected_body = render_markdown(&report);
    let expected_data = serde_json::to_value(&report).expect("json");
    let mut archive = MockReportArchive::new();
    archive
        .expect_save_report()
        .times(1)
        .withf(move |a: &ArchivedReport| {
            a.run_id == fixtures::run_id()
                && a.source == "liverc"
                && a.file_name == FULL_NAME
                && a.status == "succeeded"
                && a.trigger == "cron"
                && a.started_at == fixtures::at(2026, 11, 28, 0, 1, 37)
                && a.finished_at == fixtures::at(2026, 11, 28, 0, 4, 52)
                && a.body == expected_body
                && a.data == expected_data
        })
        .returning(|_| Ok(()));
    let now = Utc::now();
    archive
        .expect_prune_reports()
        .times(1)
        .withf(move |before| {
            let expected = now - Duration::days(7);
            (*before - expected).num_seconds().abs() < 60
        })
        .returning(|_| Ok(2));
    writer(tmp.path(), Some(7), Some(archive))
        .write(&report)
        .await
        .expect("write");
    assert_eq!(names(tmp.path()), vec![FULL_NAME.to_owned()]);
}

#[tokio::test]
async fn an_archive_failure_is_returned_but_the_file_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut archive = MockReportArchive::new();
    archive
        .expect_save_report()
        .times(1)
        .returning(|_| Err(ReportError::Archive("database down".to_owned())));
    archive.expect_prune_reports().times(1).returning(|_| Ok(0));
    let err = writer(tmp.path(), Some(30), Some(archive))
        .write(&fixtures::full())
        .await
        .expect_err("archive failed");
    assert!(
        matches!(err, ReportError::Archive(ref m) if m == "database down"),
        "{err:?}"
    );
    assert_eq!(names(tmp.path()), vec![FULL_NAME.to_owned()]);
}

#[tokio::test]
async fn a_file_failure_still_archives_the_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let not_a_dir = tmp.path().join("reports");
    fs::write(&not_a_dir, "file").expect("write");
    let mut archive = MockReportArchive::new();
    archive.expect_save_report().times(1).returning(|_| Ok(()));
    let err = writer(&not_a_dir, None, Some(archive))
        .write(&fixtures::full())
        .await
        .expect_err("file failed");
    assert!(matches!(err, ReportError::Io(_)), "{err:?}");
}

#[tokio::test]
async fn a_pruning_failure_does_not_fail_the_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut archive = MockReportArchive::new();
    archive.expect_save_report().times(1).returning(|_| Ok(()));
    archive
        .expect_prune_reports()
        .times(1)
        .returning(|_| Err(ReportError::Archive("locked".to_owned())));
    let location = writer(tmp.path(), Some(1), Some(archive))
        .write(&fixtures::full())
        .await
        .expect("pruning failures are only logged");
    assert_eq!(location.file_name, FULL_NAME);
}

fn archived(data: serde_json::Value) -> ArchivedReport {
    let r = fixtures::full();
    ArchivedReport {
        run_id: r.run_id,
        source: r.source,
        file_name: FULL_NAME.to_owned(),
        status: "succeeded".to_owned(),
        trigger: "cron".to_owned(),
        started_at: r.started_at,
        finished_at: r.finished_at,
        body: String::new(),
        data,
    }
}

#[tokio::test]
async fn previous_completeness_comes_from_the_latest_finished_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut previous = fixtures::full();
    previous.completeness.with_phone = 12;
    let data = serde_json::to_value(&previous).expect("json");
    let mut archive = MockReportArchive::new();
    archive
        .expect_latest_finished_report()
        .times(1)
        .withf(|source| source == "liverc")
        .returning(move |_| Ok(Some(archived(data.clone()))));
    let got = writer(tmp.path(), None, Some(archive))
        .previous_completeness("liverc")
        .await
        .expect("read");
    assert_eq!(got, Some(previous.completeness));
}

#[tokio::test]
async fn previous_completeness_reads_only_what_it_needs() {
    // An older report whose other fields no longer match RunReport.
    let tmp = tempfile::tempdir().expect("tempdir");
    let completeness = fixtures::full().completeness;
    let data = serde_json::json!({
        "completeness": completeness,
        "some_field_from_an_older_version": 1,
    });
    let mut archive = MockReportArchive::new();
    archive
        .expect_latest_finished_report()
        .returning(move |_| Ok(Some(archived(data.clone()))));
    let got = writer(tmp.path(), None, Some(archive))
        .previous_completeness("liverc")
        .await
        .expect("read");
    assert_eq!(got, Some(completeness));
}

#[tokio::test]
async fn previous_completeness_without_data_archive_or_report_is_none() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        writer(tmp.path(), None, None)
            .previous_completeness("liverc")
            .await
            .expect("no archive"),
        None
    );

    let mut archive = MockReportArchive::new();
    archive
        .expect_latest_finished_report()
        .returning(|_| Ok(Some(archived(serde_json::json!({"counts": {}})))));
    assert_eq!(
        writer(tmp.path(), None, Some(archive))
            .previous_completeness("liverc")
            .await
            .expect("undecodable data"),
        None
    );

    let mut archive = MockReportArchive::new();
    archive
        .expect_latest_finished_report()
        .returning(|_| Ok(None));
    assert_eq!(
        writer(tmp.path(), None, Some(archive))
            .previous_completeness("liverc")
            .await
            .expect("no report yet"),
        None
    );
}

#[tokio::test]
async fn previous_completeness_passes_archive_errors_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut archive = MockReportArchive::new();
    archive
        .expect_latest_finished_report()
        .returning(|_| Err(ReportError::Archive("connection refused".to_owned())));
    let err = writer(tmp.path(), None, Some(archive))
        .previous_completeness("liverc")
        .await
        .expect_err("archive error");
    assert!(matches!(err, ReportError::Archive(_)), "{err:?}");
}
