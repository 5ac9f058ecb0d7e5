//! Limits every request is held to, answered in the error shape: the length
//! of the request target (`414 uri_too_long`) and the time a whole request
//! may take, its body included (`408 request_timeout`). The limits on the
//! connection itself (the header-read timeout, the connection cap) are the
//! listener's: see `server`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest request target (path and query) accepted: 8 KiB. Every route's
/// target is far shorter. (hyper refuses a target over 64 KiB itself, before
/// the router runs; `server` gives that answer the error shape too.)
pub(crate) const MAX_URI_LEN: usize = 8 * 1024;

/// Middleware: `414 uri_too_long` for a request target over [`MAX_URI_LEN`].
pub(crate) async fn uri_length(request: Request, next: Next) -> Response {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if len > MAX_URI_LEN {
        return ApiError::uri_too_long(MAX_URI_LEN).into_response();
    }
    next.run(request).await
}

/// Middleware: a request that has not been answered within `limit` (a body
/// trickling in, a handler stuck) is abandoned with `408 request_timeout`,
/// and the connection is closed, since the rest of its body would otherwise
/// be read as the next request.
pub(crate) async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "request timed out"
            );
            let mut response = ApiError::request_timeout(limit).into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}
