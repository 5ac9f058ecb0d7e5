//! `GET /api/v1/tracks`: paging, the active filter, the track's shape.

use axum::http::{Method, StatusCode};
use ingest_core::TrackQuery;

use crate::support::{TestApp, lock, track};

fn seeded() -> TestApp {
    let app = TestApp::new();
    // Inserted out of order: the page is ordered by slug.
    for (slug, active) in [
        ("echo", true),
        ("alpha", true),
        ("delta", false),
        ("charlie", true),
        ("bravo", true),
    ] {
        app.tracks.insert(track(slug, active));
    }
    let mut other = track("zulu", true);
    other.source = "another-source".to_owned();
    app.tracks.insert(other);
    app
}

fn slugs(body: &serde_json::Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["slug"].as_str().expect("slug"))
        .collect()
}

#[tokio::test]
async fn pages_of_active_tracks_by_default() {
    let app = seeded();
    let body = app
        .req(Method::GET, "/api/v1/tracks?limit=2&offset=1")
        .send()
        .await
        .json();
    assert_eq!(slugs(&body), ["bravo", "charlie"]);
    assert_eq!(body["total"], 4);
    assert_eq!(body["limit"], 2);
    assert_eq!(body["offset"], 1);

    let body = app
        .req(Method::GET, "/api/v1/tracks?active=true&limit=2&offset=3")
        .send()
        .await
        .json();
    assert_eq!(slugs(&body), ["echo"]);

    let body = app.req(Method::GET, "/api/v1/tracks").send().await.json();
    assert_eq!(slugs(&body), ["alpha", "bravo", "charlie", "echo"]);
    assert_eq!(body["limit"], 100);
    assert_eq!(body["offset"], 0);
    assert_eq!(
        lock(&app.tracks.queries).last(),
        Some(&TrackQuery {
            active_only: true,
            limit: 100,
            offset: 0
        })
    );
}

#[tokio::test]
async fn active_false_lists_every_track() {
    let app = seeded();
    let body = app
        .req(Method::GET, "/api/v1/tracks?active=false")
        .send()
        .await
        .json();
    assert_eq!(slugs(&body), ["alpha", "bravo", "charlie", "delta", "echo"]);
    assert_eq!(body["total"], 5);
    let delta = &body["items"][3];
    assert_eq!(delta["isActive"], false);
    assert!(delta["deactivatedAt"].is_string());
}

#[tokio::test]
async fn track_fields_are_camel_case() {
    let app = seeded();
    let body = app
        .req(Method::GET, "/api/v1/tracks?limit=1")
        .send()
        .await
        .json();
    let t = &body["items"][0];
    assert_eq!(t["slug"], "alpha");
    assert_eq!(t["name"], "Track alpha");
    assert_eq!(t["city"], "Springfield");
    assert_eq!(t["state"], "IL");
    assert_eq!(t["country"], "United States");
    assert_eq!(t["countryCode"], "US");
    assert_eq!(t["phone"], "+1 217 555 0100");
    assert_eq!(t["email"], "info@alpha.example.org");
    assert_eq!(t["website"], "https://alpha.example.org/");
    assert_eq!(t["latitude"], 39.78);
    assert_eq!(t["longitude"], -89.65);
    assert_eq!(t["isActive"], true);
    assert_eq!(t["lastSeenAt"], "2025-06-01T12:00:00Z");
    assert_eq!(t["trackUrl"], "https://alpha.liverc.com/");
    assert_eq!(t["description"], serde_json::Value::Null);
    let keys = t.as_object().expect("object").keys();
    for key in keys {
        assert!(
            !key.contains('_'),
            "{key} is not camelCase (the API's JSON is camelCase)"
        );
    }
}

#[tokio::test]
async fn bad_paging_is_400() {
    let app = seeded();
    for query in [
        "limit=0",
        "limit=1001",
        "offset=-1",
        "active=maybe",
        "limit=x",
    ] {
        let res = app
            .req(Method::GET, &format!("/api/v1/tracks?{query}"))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(res.error_code(), "invalid_query", "{query}");
    }
    let res = app
        .req(Method::GET, "/api/v1/tracks?limit=1000")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn q_searches_every_track_of_the_source_and_is_bounded() {
    let app = seeded();
    // track(slug) names the track after its slug; "delta" is inactive but
    // found; the other source's "zulu" is not.
    let body = app
        .req(Method::GET, "/api/v1/tracks?q=DELT")
        .send()
        .await
        .json();
    assert_eq!(slugs(&body), ["delta"]);
    assert_eq!(body["total"], 1);
    let body = app
        .req(Method::GET, "/api/v1/tracks?q=zulu")
        .send()
        .await
        .json();
    assert_eq!(slugs(&body), Vec::<&str>::new());
    for bad in ["q=", "q=%20%20", &format!("q={}", "x".repeat(101))] {
        let res = app
            .req(Method::GET, &format!("/api/v1/tracks?{bad}"))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(res.error_code(), "invalid_query");
    }
}

#[tokio::test]
async fn a_track_s_history_is_served_and_its_limit_bounded() {
    let app = seeded();
    let res = app
        .req(Method::GET, "/api/v1/tracks/Alpha/history")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["slug"], "alpha");
    assert_eq!(body["items"], serde_json::json!([]));
    let res = app
        .req(Method::GET, "/api/v1/tracks/alpha/history?limit=0")
        .send()
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app
        .anon(Method::GET, "/api/v1/tracks/alpha/history")
        .send()
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "protected like the rest"
    );
}
