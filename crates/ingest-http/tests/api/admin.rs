//! The static admin page: served publicly, with its security headers, and
//! built so that the strict policy holds (no inline code, nothing fetched
//! from elsewhere, no HTML sink, the token kept in sessionStorage only).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};

use crate::support::{Res, TestApp};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
     trusted-types 'none'";

fn assert_security_headers(res: &Res, what: &str) {
    assert_eq!(
        res.header("content-security-policy"),
        Some(CSP),
        "{what}: CSP"
    );
    assert_eq!(
        res.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(res.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        res.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
}

async fn get(app: &TestApp, path: &str) -> Res {
    let res = app.anon(Method::GET, path).send().await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text());
    res
}

/// The file without its comment lines (`//`, `/* … */` on one line, `*` of
/// a doc comment), so the checks below look at code only.
fn code_lines(source: &str) -> String {
    source
        .lines()
        .filter(|line| {
            let t = line.trim_start();
            !(t.starts_with("//") || t.starts_with("/*") || t.starts_with("* ") || t == "*/")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_page_and_its_assets_are_public_with_security_headers() {
    // No token configured at all: the page still loads (it holds no data).
    let app = TestApp::with(crate::support::Config {
        tokens: Vec::new(),
        ..Default::default()
    });
    for (path, content_type) in [
        ("/admin", "text/html; charset=utf-8"),
        ("/admin/app.js", "text/javascript; charset=utf-8"),
        ("/admin/app.css", "text/css; charset=utf-8"),
        ("/admin/favicon.svg", "image/svg+xml"),
    ] {
        let res = get(&app, path).await;
        assert_eq!(res.header("content-type"), Some(content_type), "{path}");
        assert_eq!(res.header("cache-control"), Some("no-cache"), "{path}");
        assert!(!res.body.is_empty(), "{path}");
        assert_security_headers(&res, path);
        let head = app.anon(Method::HEAD, path).send().await;
        assert_eq!(head.status, StatusCode::OK, "HEAD {path}");
    }
}

#[tokio::test]
async fn errors_under_admin_carry_the_headers_too() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/admin/nope.js").send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "not_found");
    assert_security_headers(&res, "404");

    let res = app.anon(Method::POST, "/admin").send().await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_security_headers(&res, "405");

    let res = app.anon(Method::GET, "/admin/").send().await;
    assert_eq!(res.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.header("location"), Some("/admin"));
    assert_security_headers(&res, "redirect");
}

#[tokio::test]
async fn the_page_policy_does_not_leak_onto_the_api() {
    let app = TestApp::new();
    let res = app.anon(Method::GET, "/healthz").send().await;
    assert!(res.header("content-security-policy").is_none());
    // A path that merely starts with the same letters is not the page.
    let res = app.anon(Method::GET, "/administrator").send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.header("content-security-policy").is_none());
}

#[tokio::test]
async fn the_html_has_no_inline_code_and_no_external_resource() {
    let app = TestApp::new();
    let html = get(&app, "/admin").await.text();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<script src="/admin/app.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/admin/app.css">"#));
    // Every script has a src and nothing else inside; no style element or
    // attribute; no inline event handler.
    assert_eq!(html.matches("<script").count(), 1, "one script, the file");
    assert!(!html.contains("<style"), "no inline style element");
    assert!(!html.contains(" style="), "no style attribute");
    let lowered = html.to_ascii_lowercase();
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        " oninput=",
    ] {
        assert!(!lowered.contains(handler), "inline handler {handler}");
    }
    assert!(!lowered.contains("javascript:"), "no javascript: URL");
    // Nothing from another origin (fonts, CDNs): every src/href is local.
    for attr in ["src=\"", "href=\""] {
        for value in html.split(attr).skip(1) {
            let url = value.split('"').next().unwrap_or_default();
            assert!(
                url.starts_with('/') || url.starts_with('#'),
                "{attr}{url}\" is not a local URL"
            );
        }
    }
    // The token field is never submitted by the browser itself: it has no
    // name, and the form posts nowhere.
    let token_input = html
        .split(r#"<input id="token-input""#)
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("token input");
    assert!(!token_input.contains("name="), "{token_input}");
    assert!(token_input.contains(r#"type="password""#), "{token_input}");
    // Accessible progress bar.
    assert!(html.contains(r#"role="progressbar""#));
    assert!(html.contains(r#"aria-valuemin="0" aria-valuemax="100" aria-valuenow="0""#));
}

#[tokio::test]
async fn every_label_points_at_a_control_and_every_scripted_id_exists() {
    let app = TestApp::new();
    let html = get(&app, "/admin").await.text();
    let js = get(&app, "/admin/app.js").await.text();
    let ids: BTreeSet<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let duplicates = html.matches(" id=\"").count() - ids.len();
    assert_eq!(duplicates, 0, "ids are unique");
    for target in html.split("<label for=\"").skip(1) {
        let id = target.split('"').next().unwrap_or_default();
        assert!(ids.contains(id), "label for={id} has no control");
    }
    let scripted: BTreeSet<&str> = js
        .split("$('")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .collect();
    assert!(scripted.len() > 20, "{scripted:?}");
    for id in &scripted {
        assert!(ids.contains(id), "app.js uses #{id}, which the page lacks");
    }
}

#[tokio::test]
async fn the_script_keeps_report_text_out_of_html_and_the_token_in_the_session() {
    let app = TestApp::new();
    let js = get(&app, "/admin/app.js").await.text();
    let code = code_lines(&js);
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "DOMParser",
        "createContextualFragment",
        "eval(",
        "new Function",
        "localStorage",
        "document.cookie",
        "srcdoc",
    ] {
        assert!(!code.contains(sink), "app.js uses {sink}");
    }
    assert!(code.contains("sessionStorage.setItem(TOKEN_KEY"));
    assert!(code.starts_with("'use strict';"), "strict mode");
    let css = get(&app, "/admin/app.css").await.text();
    assert!(!css.contains("@import"), "no imported stylesheet");
    assert!(!css.contains("url("), "no external resource in the CSS");
}

#[tokio::test]
async fn the_script_draws_reports_from_data_and_parses_no_markdown() {
    let app = TestApp::new();
    let js = get(&app, "/admin/app.js").await.text();
    let code = code_lines(&js);
    // No Markdown parser: none of the old renderer's entry points, nor the
    // block patterns a parser needs (ATX headings, fences, table rows).
    for parser in [
        "mreMarkdown",
        "const Markdown",
        "Markdown.parse",
        "Markdown.render",
        "#{1,6}",
        "`{3,}",
        "DELIMITER_ROW",
    ] {
        assert!(
            !code.contains(parser),
            "app.js still parses Markdown: {parser}"
        );
    }
    // The report is asked for as data; the Markdown is fetched in one place,
    // the download.
    assert!(
        code.contains("Accept: text ? 'text/markdown' : 'application/json'"),
        "the API helper asks for JSON unless told otherwise"
    );
    assert_eq!(
        code.matches("{ text: true }").count(),
        1,
        "the Markdown is fetched only for the download"
    );
    let download = code
        .split("async function downloadMarkdown()")
        .nth(1)
        .expect("the download function");
    assert!(
        download
            .split("\n  }\n")
            .next()
            .is_some_and(|body| body.contains("{ text: true }")),
        "the one Markdown fetch is the download's"
    );
}
