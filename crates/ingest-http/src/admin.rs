//! The admin page: `GET /admin` and its assets under `/admin/…`, static
//! files compiled into the binary (`include_str!`): no build step, no CDN,
//! no external font, so it works offline and the binary is the whole
//! deployment.
//!
//! The page is public and holds no data: its script asks for an admin token
//! (kept in the tab's `sessionStorage` only) and calls the `/api/` routes
//! with it, like any other client. Every response under `/admin` carries
//! [`security_headers`]: a strict Content-Security-Policy (scripts and
//! styles from this origin only, no inline code, Trusted Types enforced so
//! that no string can reach an HTML sink), `nosniff`, no referrer, and no
//! framing.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The page's path.
pub(crate) const PAGE_PATH: &str = "/admin";

const INDEX_HTML: &str = include_str!("../admin/index.html");
const APP_JS: &str = include_str!("../admin/app.js");
const APP_CSS: &str = include_str!("../admin/app.css");
const FAVICON_SVG: &str = include_str!("../admin/favicon.svg");

/// The page's Content-Security-Policy. `default-src 'self'` with every
/// fetch directive the page uses spelled out; no `'unsafe-inline'` anywhere
/// (the script and the styles are files); `require-trusted-types-for` makes
/// the browser refuse any string assigned to an HTML or script sink
/// (`innerHTML` and the like), and `trusted-types 'none'` forbids creating a
/// policy that could bless one, so report text can only ever become text.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self'; \
     style-src 'self'; \
     img-src 'self'; \
     connect-src 'self'; \
     font-src 'none'; \
     object-src 'none'; \
     base-uri 'none'; \
     form-action 'none'; \
     frame-ancestors 'none'; \
     require-trusted-types-for 'script'; \
     trusted-types 'none'";

/// The headers every `/admin` response gets (errors included).
const SECURITY_HEADERS: [(HeaderName, &str); 7] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

/// The page and its assets. Merged into the application router; public
/// (`auth::require_token` guards `/api/` only).
pub(crate) fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(PAGE_PATH, get(index))
        .route("/admin/", get(|| async { Redirect::permanent(PAGE_PATH) }))
        .route("/admin/app.js", get(app_js))
        .route("/admin/app.css", get(app_css))
        .route("/admin/favicon.svg", get(favicon))
}

/// A static asset. `no-cache`: a browser revalidates, so a new binary's page
/// is never mixed with an old script.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

/// Whether `path` is the page or one of its assets.
pub(crate) fn is_admin_path(path: &str) -> bool {
    path == PAGE_PATH || path.starts_with("/admin/")
}

/// Middleware: the security headers on every response under `/admin`,
/// whatever answered (a page, an asset, a 404 or a 405).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let admin = is_admin_path(request.uri().path());
    let mut response = next.run(request).await;
    if admin {
        let headers = response.headers_mut();
        for (name, value) in SECURITY_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One concurrency range: the page's input and its check say what the
    /// API accepts.
    #[test]
    fn the_page_offers_the_concurrency_range_the_api_accepts() {
        let max = ingest_core::MAX_CONCURRENCY;
        assert!(
            INDEX_HTML.contains(&format!(
                r#"id="opt-concurrency" type="number" min="1" max="{max}""#
            )),
            "index.html's concurrency input must have max={max}"
        );
        assert!(
            APP_JS.contains(&format!("const MAX_CONCURRENCY = {max};")),
            "app.js's MAX_CONCURRENCY must be {max}"
        );
    }

    #[test]
    fn admin_paths() {
        assert!(is_admin_path("/admin"));
        assert!(is_admin_path("/admin/app.js"));
        assert!(is_admin_path("/admin/"));
        assert!(!is_admin_path("/administrator"));
        assert!(!is_admin_path("/api/v1/tracks"));
    }

    #[test]
    fn the_policy_is_a_valid_header_without_unsafe_sources() {
        assert!(HeaderValue::from_str(CONTENT_SECURITY_POLICY).is_ok());
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    }
}
