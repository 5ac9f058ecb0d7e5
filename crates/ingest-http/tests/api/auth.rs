//! Bearer authentication: who gets in, who gets 401, and that it fails
//! closed.

use axum::http::{Method, StatusCode};

use crate::support::{Config, OTHER_TOKEN, TOKEN, TestApp};

fn assert_401(res: &crate::support::Res) {
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.error_code(), "unauthorized");
    let challenge = res.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

#[tokio::test]
async fn no_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/api/v1/tracks").send().await;
    assert_401(&res);
    assert!(
        !res.header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn wrong_or_malformed_token_is_401() {
    let app = TestApp::new();
    for value in [
        format!("Bearer {TOKEN}x"),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        "Bearer ".to_owned(),
        format!("Basic {TOKEN}"),
        TOKEN.to_owned(),
    ] {
        let res = app
            .anon(Method::GET, "/api/v1/tracks")
            .header("authorization", &value)
            .send()
            .await;
        assert_401(&res);
    }
    let res = app
        .anon(Method::GET, "/api/v1/tracks")
        .token("not-a-configured-token-at-all")
        .send()
        .await;
    assert_401(&res);
    assert!(
        res.header("www-authenticate")
            .unwrap_or_default()
            .contains(r#"error="invalid_token""#)
    );
}

#[tokio::test]
async fn every_configured_token_is_accepted() {
    let app = TestApp::new();
    for token in [TOKEN, OTHER_TOKEN] {
        let res = app
            .anon(Method::GET, "/api/v1/tracks")
            .token(token)
            .send()
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
    let res = app
        .anon(Method::GET, "/api/v1/tracks")
        .header("authorization", &format!("bearer  {TOKEN}"))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK, "scheme is case-insensitive");
}

#[tokio::test]
async fn unknown_api_paths_are_401_before_they_are_404() {
    let app = TestApp::new();
    assert_401(&app.anon(Method::GET, "/api/v2/secret").send().await);
    assert_401(&app.anon(Method::DELETE, "/api/v1/tracks").send().await);
    let res = app.req(Method::GET, "/api/v2/secret").send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "not_found");
}

#[tokio::test]
async fn every_protected_route_of_the_document_refuses_anonymous_calls() {
    let app = TestApp::new();
    let doc = app
        .anon(Method::GET, "/api/openapi.json")
        .send()
        .await
        .json();
    let id = uuid::Uuid::now_v7();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            let uri = path
                .replace("{jobId}", &id.to_string())
                .replace("{slug}", "some-track");
            let method: Method = method.to_uppercase().parse().expect("method");
            let res = app.anon(method.clone(), &uri).send().await;
            if public {
                assert_ne!(res.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
            } else {
                assert!(
                    uri.starts_with("/api/"),
                    "protected route outside /api/: {uri}"
                );
                assert_401(&res);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9, "every /api/v1 operation is protected");
}

#[tokio::test]
async fn no_configured_token_fails_closed() {
    let app = TestApp::with(Config {
        tokens: vec![],
        ..Config::default()
    });
    for token in [TOKEN, ""] {
        let res = app
            .anon(Method::GET, "/api/v1/tracks")
            .token(token)
            .send()
            .await;
        assert_401(&res);
        assert!(
            res.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("no admin token")
        );
    }
    let res = app.anon(Method::POST, "/api/v1/tracks/sync").send().await;
    assert_401(&res);
    assert!(app.queue.enqueued.lock().expect("lock").is_empty());
    // The public endpoints stay public.
    for path in ["/healthz", "/readyz", "/metrics", "/api/openapi.json"] {
        let res = app.anon(Method::GET, path).send().await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
    }
}
