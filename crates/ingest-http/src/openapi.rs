//! The OpenAPI document's frame: title, description, tags and the bearer
//! security scheme required by default. The paths and schemas come from the
//! handlers as they are registered (see `routes`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Name of the security scheme in `components.securitySchemes`.
pub(crate) const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "LiveRC ingestion API",
        description = "Start and follow syncs of the LiveRC track catalogue, read their reports, and page the stored tracks. Every `/api/` route except this document requires `Authorization: Bearer <token>`. Errors are always `{\"error\":{\"code\",\"message\"}}`.",
    ),
    modifiers(&BearerSecurity),
    tags(
        (name = "sync", description = "Sync jobs: enqueue, follow, report, cancel, resume"),
        (name = "tracks", description = "The stored track catalogue"),
        (name = "ops", description = "Probes, metrics and this document (public)"),
    ),
)]
pub(crate) struct ApiDoc;

/// Declares the bearer scheme and requires it for every operation that does
/// not opt out (`security(())` on the public ones).
struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "One of the admin tokens configured on the server, compared in constant time. With none configured every call is refused.",
                    ))
                    .build(),
            ),
        );
        openapi.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
}
