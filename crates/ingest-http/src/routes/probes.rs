//! Operational endpoints, all public: liveness (`/healthz`), readiness
//! (`/readyz`), Prometheus metrics (`/metrics`) and the OpenAPI document
//! (`/api/openapi.json`).

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::dto::ProbeStatus;
use crate::error::{ApiError, ErrorBody, code};

/// Liveness: the process serves HTTP. Always 200; checks nothing else, so a
/// database outage does not get the process restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    security(()),
    responses((status = 200, description = "Alive", body = ProbeStatus)),
)]
pub(crate) async fn healthz() -> Json<ProbeStatus> {
    Json(ProbeStatus { status: "ok" })
}

/// Readiness: the database answers (the track repository and the job
/// queue, one cheap query each, within the API's database timeout, 3 s by
/// default: a probe must answer within its own timeout even when the
/// database is unreachable or a pool is exhausted).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "Ready", body = ProbeStatus),
        (status = 503, description = "`not_ready`: the database did not answer", body = ErrorBody),
    ),
)]
pub(crate) async fn readyz(State(state): State<Shared>) -> Result<Json<ProbeStatus>, ApiError> {
    let source = state.job_defaults.source.as_str();
    let checks = async {
        let (repo, queue) = tokio::join!(state.tracks.sync_state(source), state.jobs.list(1));
        if let Err(e) = repo {
            tracing::warn!(error = %e, "readiness: track repository failed");
            return false;
        }
        if let Err(e) = queue {
            tracing::warn!(error = %e, "readiness: job queue failed");
            return false;
        }
        true
    };
    let limit = state.database_timeout;
    match tokio::time::timeout(limit, checks).await {
        Ok(true) => Ok(Json(ProbeStatus { status: "ready" })),
        Ok(false) => Err(not_ready()),
        Err(_) => {
            tracing::warn!(
                timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "readiness: database timed out"
            );
            Err(not_ready())
        }
    }
}

fn not_ready() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code::NOT_READY,
        "the database is not answering",
    )
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    security(()),
    responses((status = 200, description = "The exposition", content_type = "application/openmetrics-text", body = String)),
)]
pub(crate) async fn metrics(State(state): State<Shared>) -> Response {
    if let Some(queue) = &state.metrics.queue {
        queue
            .refresh(
                state.jobs.as_ref(),
                state.reports.as_ref(),
                &state.job_defaults.source,
                state.database_timeout,
            )
            .await;
    }
    let body = (state.metrics.render)();
    (
        [(header::CONTENT_TYPE, state.metrics.content_type.clone())],
        body,
    )
        .into_response()
}

/// The document, serialised once.
static OPENAPI_JSON: LazyLock<Result<String, String>> =
    LazyLock::new(|| crate::openapi().to_json().map_err(|e| e.to_string()));

/// This document. Public: it describes the API and holds no data.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
        (status = 500, description = "`internal`", body = ErrorBody),
    ),
)]
pub(crate) async fn openapi_json() -> Result<Response, ApiError> {
    // Serialising a document built from our own types does not fail in
    // practice; if it ever did, the route still answers in the error shape.
    let json = OPENAPI_JSON
        .as_ref()
        .map_err(|e| ApiError::internal("openapi serialisation", e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response())
}
