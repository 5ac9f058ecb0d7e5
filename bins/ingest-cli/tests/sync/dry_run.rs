//! `sync --dry-run`: the whole pipeline, nothing stored. On a changed site
//! its report lists the changes, every table of the database is the same
//! afterwards, and the real run that follows does exactly what the dry run
//! said it would.

use std::path::Path;
use std::time::Duration;

use liverc_sim::{SimConfig, Simulator};
use serde_json::Value;
use sqlx::Row as _;

use super::{cli, json};

/// Every table of the SQLite database at `file`, each as one JSON array of
/// its rows (each row's quoted values, sorted): byte-for-byte comparable. The table names come
/// from the database's own catalogue (`AssertSqlSafe`).
async fn dump(file: &Path) -> Vec<(String, String)> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open read-only");
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get::<String, _>("name"))
    .collect();
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(&pool)
        .await
        .expect("columns")
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
        let list = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Option<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT json_group_array(r) AS rows FROM (SELECT json_array({list}) AS r FROM \"{table}\" ORDER BY r)"
        )))
        .fetch_one(&pool)
        .await
        .expect("rows")
        .get("rows");
        out.push((table, rows.unwrap_or_default()));
    }
    pool.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reports_the_changes_stores_nothing_and_predicts_the_real_run() {
    let sim = Simulator::start(
        SimConfig {
            tracks: 150,
            latency: Duration::from_millis(1),
            ..SimConfig::default()
        },
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let (catalogue, template) = (sim.catalogue_url(), sim.track_url_template());
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "sync",
            "--json",
            "--database-url",
            "sqlite://tracks.db",
            "--report-dir",
            "reports",
            "--deactivate-after-missing-runs",
            "1",
            "--catalogue-url",
            &catalogue,
            "--track-url-template",
            &template,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let run = |extra: &[&str]| {
        let (dir, a) = (dir.path().to_path_buf(), args(extra));
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            cli(&dir, &a)
        })
    };

    let first = run(&[]).await.expect("join");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    // The site changes: tracks added, one removed, fields edited.
    let site = sim.site();
    site.add_tracks(4);
    let gone = site.slugs()[7].clone();
    site.remove(&gone).expect("remove");
    site.mutate_random(7, 6);

    let db = dir.path().join("tracks.db");
    let before = dump(&db).await;
    let dry = run(&["--dry-run"]).await.expect("join");
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let predicted: Value = json(&dry);
    assert_eq!(
        dump(&db).await,
        before,
        "a dry run leaves every table as it was"
    );

    assert!(predicted["tracksAdded"].as_u64() >= Some(4), "{predicted}");
    assert!(
        predicted["tracksDeactivated"].as_u64() >= Some(1),
        "{predicted}"
    );
    let report_file = predicted["reportPath"]
        .as_str()
        .or_else(|| predicted["reportFile"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(report_file.ends_with("-dry-run.md"), "{predicted}");
    let report = std::fs::read_to_string(dir.path().join(&report_file))
        .or_else(|_| std::fs::read_to_string(&report_file))
        .expect("the dry run's report file");
    assert!(report.contains("Dry run: nothing was stored"), "{report}");
    assert!(
        report.contains(&gone),
        "the deactivation is listed: {report}"
    );

    // The real run does what the dry run said.
    let real = run(&[]).await.expect("join");
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let done: Value = json(&real);
    for key in [
        "status",
        "tracksTotal",
        "tracksAdded",
        "tracksUpdated",
        "tracksUnchanged",
        "tracksChurnOnly",
        "tracksDeactivated",
        "tracksReactivated",
        "tracksPendingDeactivation",
    ] {
        assert_eq!(done[key], predicted[key], "{key}: {done} vs {predicted}");
    }
    assert_ne!(dump(&db).await, before, "the real run stored the changes");
}
