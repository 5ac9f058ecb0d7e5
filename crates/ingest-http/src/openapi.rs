//! The OpenAPI document's frame: title, description, tags and the bearer
//! security scheme required by default. The paths and schemas come from the
//! handlers as they are registered (see `routes`); [`complete`] then adds
//! the answers every operation can get from the layers around the handlers.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::auth;

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

/// Declares, on every operation, the answers the layers around the handlers
/// give whatever the route: `401` where a token is required (`auth`), and
/// `408`, `413`, `414`, `431` (`limits`, the body limit, `server`). Each operation's own
/// answers are declared on its handler; this adds only what is missing, so
/// the document lists every status the server can produce for a request.
/// Also links each `202` (a job) to the operations on that job: a client,
/// or a stateful test, follows `jobId` to them. Not to its report, which
/// exists only once a worker has run the job.
pub(crate) fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in &mut doc.paths.paths {
        let protected = auth::is_protected(path);
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            if let Some(RefOr::T(accepted)) = responses.get_mut("202") {
                for (name, operation_id) in [
                    ("getJob", "get_job"),
                    ("cancelJob", "cancel_job"),
                    ("resumeJob", "resume_job"),
                ] {
                    accepted.links.insert(
                        name.to_owned(),
                        LinkBuilder::new()
                            .operation_id(operation_id)
                            .parameter("jobId", "$response.body#/jobId")
                            .build()
                            .into(),
                    );
                }
            }
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description));
            };
            if protected {
                add(
                    "401",
                    "`unauthorized`: no, malformed or unknown bearer token",
                );
            }
            add(
                "408",
                "`request_timeout`: the request (body included) took longer than the server allows; the connection is closed",
            );
            add(
                "413",
                "`payload_too_large`: the request carries a body over the server's limit",
            );
            add(
                "414",
                "`uri_too_long`: the request target (path and query) is over 8 KiB",
            );
            add(
                "431",
                "`headers_too_large`: the request head is over 64 KiB; the connection is closed",
            );
        }
    }
    doc
}

/// A response whose body is the error shape.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}
