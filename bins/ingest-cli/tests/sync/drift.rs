//! The markup-drift guard against the real captured LiveRC pages
//! (`/work/shared/liverc/pages/`), served on loopback: the real catalogue,
//! and for each of its tracks one of the three real dashboards. After a
//! normal run, LiveRC "renames one tag" (`<address` becomes `<div`, the page
//! otherwise intact): the next `ingest-cli sync` must clear nothing, end
//! `drift_suspected` with exit code 5, send one alert and name the fields in
//! its report; the same run with `--accept-drift all` applies the change.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sqlx::Row;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{cli, json};

/// The dashboard fields the guard watches, as stored columns.
const FIELDS: [&str; 12] = ingest_core::drift::WATCHED_FIELDS;

fn page(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/liverc/pages")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} (../shared beside the checkout): {e}", path.display()))
}

/// The real site: the catalogue at `/catalogue`, a real dashboard at
/// `/t/{slug}/` (one of three, by slug), no robots.txt.
struct RealPages {
    catalogue: String,
    dashboards: [String; 3],
    renamed: Arc<AtomicBool>,
}

impl Respond for RealPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let html = |body: String| {
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(body)
        };
        if path == "/catalogue" {
            return html(self.catalogue.clone());
        }
        let Some(slug) = path.strip_prefix("/t/") else {
            return ResponseTemplate::new(404);
        };
        let pick = slug.bytes().map(usize::from).sum::<usize>() % self.dashboards.len();
        let body = &self.dashboards[pick];
        if self.renamed.load(Ordering::SeqCst) {
            html(
                body.replace("<address", "<div")
                    .replace("</address>", "</div>"),
            )
        } else {
            html(body.clone())
        }
    }
}

/// Per field, how many stored tracks carry it.
async fn stored_counts(db: &sqlx::SqlitePool) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for field in FIELDS {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count({field}) FROM tracks"
        )))
        .fetch_one(db)
        .await
        .expect("count");
        out.push((field, n));
    }
    out
}

/// History rows of a run, per field.
async fn history(db: &sqlx::SqlitePool, run_id: &str) -> Vec<(String, i64)> {
    sqlx::query(
        "SELECT field, count(*) AS n FROM track_changes WHERE run_id = ?1 GROUP BY field ORDER BY field",
    )
    .bind(run_id)
    .fetch_all(db)
    .await
    .expect("history")
    .iter()
    .map(|r| (r.get::<String, _>("field"), r.get::<i64, _>("n")))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_address_tag_clears_nothing_until_accepted() {
    let renamed = Arc::new(AtomicBool::new(false));
    let site = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(RealPages {
            catalogue: page("track_catalogue.html"),
            dashboards: [
                page("dashboard_bbrcc.html"),
                page("dashboard_canberraoffroad_raw.html"),
                page("dashboard_thunderalley.html"),
            ],
            renamed: renamed.clone(),
        })
        .mount(&site)
        .await;
    let hook = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let args: Vec<String> = [
        "sync",
        "--json",
        "--database-url",
        "sqlite://tracks.db",
        "--report-dir",
        "reports",
        "--catalogue-url",
        &format!("{}/catalogue", site.uri()),
        "--track-url-template",
        &format!("{}/t/{{slug}}/", site.uri()),
        "--min-request-spacing-ms",
        "0",
        "--concurrency",
        "16",
        "--alert-webhook-url",
        &hook.uri(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let path = dir.path().to_path_buf();
    let run = move |extra: &[&str]| {
        let mut a = args.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            cli(&path, &a)
        })
    };

    // A normal run over the real pages.
    let first = run(&[]).await.expect("join");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let summary = json(&first);
    let tracks = summary["tracksAdded"].as_u64().expect("added");
    assert!(tracks > 1_000, "the real catalogue: {summary}");
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tracks.db").display()
    ))
    .await
    .expect("open the database");
    let before = stored_counts(&db).await;
    let count = |counts: &[(&str, i64)], field: &str| {
        counts
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(0, |(_, n)| *n)
    };
    for field in ["street", "city", "phone", "email", "website"] {
        assert!(count(&before, field) > 0, "{field}: {before:?}");
    }

    // LiveRC renames one tag.
    renamed.store(true, Ordering::SeqCst);
    let second = run(&[]).await.expect("join");
    let summary = json(&second);
    assert_eq!(second.status.code(), Some(5), "{summary}");
    assert_eq!(summary["status"], "drift_suspected", "{summary}");
    let held: Vec<&str> = summary["drift"]
        .as_array()
        .expect("drift fields")
        .iter()
        .filter(|f| f["decision"] == "held")
        .filter_map(|f| f["field"].as_str())
        .collect();
    for field in ["street", "city", "phone", "email", "website"] {
        assert!(held.contains(&field), "{field} held: {summary}");
    }
    // Nothing cleared, nothing in the history for the held fields.
    assert_eq!(stored_counts(&db).await, before);
    let run_id = summary["runId"].as_str().expect("run id").to_owned();
    let recorded = history(&db, &run_id).await;
    assert!(
        recorded
            .iter()
            .all(|(field, _)| !FIELDS.contains(&field.as_str())),
        "{recorded:?}"
    );
    // The report opens with the held fields.
    // The path is the CLI's, relative to its working directory.
    let report = std::fs::read_to_string(
        dir.path()
            .join(summary["reportPath"].as_str().expect("report path")),
    )
    .expect("report file");
    let drift_at = report
        .find("## Markup drift suspected: fields held")
        .expect("drift section");
    assert!(drift_at < report.find("## Status").expect("status"));
    for field in ["street", "phone", "email"] {
        assert!(
            report.contains(&format!("| `{field}` | **held** |")),
            "{report}"
        );
    }
    // One alert.
    let posted = hook.received_requests().await.unwrap_or_default();
    assert_eq!(posted.len(), 1, "one alert");
    let alert: Value = serde_json::from_slice(&posted[0].body).expect("JSON alert");
    assert_eq!(alert["event"], "drift_suspected", "{alert}");

    // The operator knows the change is real.
    let third = run(&["--accept-drift", "all"]).await.expect("join");
    let summary = json(&third);
    assert_eq!(third.status.code(), Some(0), "{summary}");
    assert_eq!(summary["status"], "succeeded");
    let after = stored_counts(&db).await;
    for field in ["street", "city", "phone", "email", "website"] {
        assert_eq!(count(&after, field), 0, "{field} cleared: {after:?}");
    }
    let run_id = summary["runId"].as_str().expect("run id").to_owned();
    let recorded = history(&db, &run_id).await;
    assert_eq!(
        recorded.iter().find(|(f, _)| f == "phone").map(|(_, n)| *n),
        Some(count(&before, "phone")),
        "{recorded:?}"
    );
    let accepted: Vec<&str> = summary["drift"]
        .as_array()
        .expect("drift fields")
        .iter()
        .filter(|f| f["decision"] == "accepted")
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert!(accepted.contains(&"street"), "{summary}");
    assert_eq!(
        hook.received_requests().await.unwrap_or_default().len(),
        1,
        "an accepted change raises no alert"
    );
}
