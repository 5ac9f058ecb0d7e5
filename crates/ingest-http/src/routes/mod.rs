//! The routes, each registered together with its OpenAPI operation
//! (`utoipa_axum::routes!`), so the served router and the document are one
//! declaration and cannot drift apart.

use std::sync::Arc;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
        .routes(routes!(quality::quality_history))
        .routes(routes!(probes::healthz))
        .routes(routes!(probes::readyz))
        .routes(routes!(probes::metrics))
        .routes(routes!(probes::openapi_json))
}
