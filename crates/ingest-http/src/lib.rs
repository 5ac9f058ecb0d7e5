#![doc = include_str!("../README.md")]

mod admin;
mod auth;
mod dto;
mod error;
mod extract;
mod limits;
mod negotiate;
mod observe;
mod openapi;
mod routes;
mod server;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use auth::{AdminTokens, MIN_TOKEN_LEN, TokenError};
pub use observe::{
    HttpMetrics, MAX_REQUEST_ID_LEN, QueueMetrics, REQUEST_DURATION_BUCKETS, REQUEST_ID,
    UNMATCHED_ROUTE,
};
pub use server::{DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, ServerConfig, serve};
pub use state::{
    ApiState, DEFAULT_BODY_LIMIT, DEFAULT_DATABASE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, JobDefaults,
    MetricsEndpoint,
};

use crate::error::{ApiError, code};

/// The whole HTTP application: every route, authentication of `/api/`, the
/// body, request-target and request-time limits, the error shape for
/// unknown routes and methods, and request tracing. Serve it with [`serve`],
/// which adds the connection limits (`axum::serve` works too, without them).
pub fn router(state: ApiState) -> Router {
    if state.admin_tokens.is_empty() {
        tracing::warn!("no admin token configured: every /api/ request will be refused with 401");
    }
    let body_limit = state.body_limit;
    let request_timeout = state.request_timeout;
    let http_metrics = state.metrics.http.clone();
    let state = Arc::new(state);
    let (api, _document) = routes::documented().split_for_parts();
    // The static `/admin` page is merged into this router; it is public, and
    // `auth::require_token` keeps guarding everything under `/api/` by
    // prefix, whatever is added.
    api.merge(admin::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::clone(&state))
        // Extractors and the wire agree on one limit.
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        // Outside the limit: an unauthenticated caller gets 401, never 413.
        .layer(middleware::from_fn_with_state(
            state.admin_tokens.clone(),
            auth::require_token,
        ))
        .layer(middleware::map_response_with_state(
            body_limit,
            body_limit_error,
        ))
        // Outside authentication: a target too long to consider is refused
        // before anything else is done with it.
        .layer(middleware::from_fn(limits::uri_length))
        .layer(middleware::from_fn_with_state(
            request_timeout,
            limits::request_timeout,
        ))
        // Outermost but for tracing: every `/admin` response, errors and
        // 401s included, carries the page's security headers.
        .layer(middleware::from_fn(admin::security_headers))
        // Every answer counted, the layers' refusals (401, 408, 413, 414)
        // included, under its route template.
        .layer(middleware::from_fn_with_state(
            http_metrics,
            observe::record,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response)
                .on_failure(log_failure),
        )
        // Outermost: the id exists before the span that carries it.
        .layer(middleware::from_fn(observe::request_id))
}

/// One line per answer. tower-http's default writes the latency as a
/// string with its unit (`"3001 ms"`); here it is a number of whole
/// milliseconds, like every duration the service logs.
fn log_response<B>(
    response: &axum::http::Response<B>,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        "finished processing request"
    );
}

/// A 5xx answer (or a body that failed), at error level, latency as above.
fn log_failure(
    failure: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    tracing::error!(
        classification = %failure,
        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        "response failed"
    );
}

/// The span of one request: every log line inside it carries the request's
/// id (`x-request-id`), method and path.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        uri = %request.uri(),
    )
}

/// The OpenAPI 3.1 document of every route [`router`] serves (also served
/// at `/api/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::complete(routes::documented().into_openapi())
}

/// Any 413 (the limit layer answers before a handler runs, with an empty
/// body) becomes the error shape, naming the limit.
async fn body_limit_error(State(limit): State<usize>, response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large(limit).into_response()
    } else {
        response
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found(code::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}
