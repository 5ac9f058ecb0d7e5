//! The routes, each registered together with its OpenAPI operation
//! (`utoipa_axum::routes!`), so the served router and the document are one
//! declaration and cannot drift apart.

use std::future::Future;
use std::sync::Arc;

use ingest_core::ReportError;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::state::ApiState;

pub(crate) mod probes;
pub(crate) mod quality;
pub(crate) mod sync;
pub(crate) mod tracks;

/// The state every handler receives.
pub(crate) type Shared = Arc<ApiState>;

/// Every documented route.
pub(crate) fn documented() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sync::list_jobs, sync::enqueue_sync))
        .routes(routes!(sync::get_job))
        .routes(routes!(sync::get_report))
        .routes(routes!(sync::resume_job))
        .routes(routes!(sync::cancel_job))
        .routes(routes!(tracks::list_tracks))
        .routes(routes!(tracks::track_history))
        .routes(routes!(quality::quality_history))
        .routes(routes!(probes::healthz))
        .routes(routes!(probes::readyz))
        .routes(routes!(probes::metrics))
        .routes(routes!(probes::openapi_json))
}

/// The database work of one request, bounded by `state.database_timeout`.
///
/// Errors are mapped with `ApiError::from`; work still unfinished at the
/// deadline — a pool that cannot connect (sqlx retries a refused connection
/// until its own acquire timeout), a server that accepted the connection
/// but never answers — is abandoned and answered `503 unavailable`, so a
/// dead database costs a client at most this long, never a hung request.
pub(crate) async fn database<T, E>(
    state: &ApiState,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    match tokio::time::timeout(state.database_timeout, work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(_) => Err(ApiError::database_timeout(state.database_timeout)),
    }
}

/// The answer to a failed report-archive call.
///
/// `ReportError` does not tell an unreachable database from a broken row
/// (the core's port has no transient variant), so the track repository,
/// which does, is asked one cheap question on the same database: when it
/// fails transiently too, the archive failed because the database is
/// unavailable (`503`); otherwise it is our fault (`500`). Callers run this
/// inside [`database`], so the question shares the request's deadline.
pub(crate) async fn archive_failure(state: &ApiState, err: ReportError) -> ApiError {
    match state.tracks.sync_state(&state.job_defaults.source).await {
        Err(probe) if probe.is_transient() => {
            tracing::warn!(error = %probe, "database check after a report archive failure");
            ApiError::unavailable("report archive", &err)
        }
        _ => ApiError::internal("report archive", &err),
    }
}
