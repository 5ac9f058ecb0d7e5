//! The one error shape every response uses, `{"error":{"code","message"}}`,
//! and the mapping of the core's errors (`JobError`, `RepositoryError`,
//! `ReportError`) to HTTP statuses. This is the only place in the workspace
//! that decides a status code for a domain error.
//!
//! Server-side failures (5xx) are logged here with their full text and
//! answered with a generic message: SQL, driver and file-system details never
//! reach a client.

use std::fmt::Display;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest_core::{Job, JobError, JobId, JobStatus, ReportError, RepositoryError};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Machine-readable error codes (the `error.code` field).
pub(crate) mod code {
    pub(crate) const UNAUTHORIZED: &str = "unauthorized";
    pub(crate) const NOT_FOUND: &str = "not_found";
    pub(crate) const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub(crate) const JOB_NOT_FOUND: &str = "job_not_found";
    pub(crate) const REPORT_NOT_FOUND: &str = "report_not_found";
    pub(crate) const INVALID_JOB_ID: &str = "invalid_job_id";
    pub(crate) const INVALID_QUERY: &str = "invalid_query";
    pub(crate) const INVALID_HEADER: &str = "invalid_header";
    pub(crate) const INVALID_JSON: &str = "invalid_json";
    pub(crate) const INVALID_REQUEST: &str = "invalid_request";
    pub(crate) const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub(crate) const NOT_ACCEPTABLE: &str = "not_acceptable";
    pub(crate) const REPORT_DATA_UNREADABLE: &str = "report_data_unreadable";
    pub(crate) const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub(crate) const URI_TOO_LONG: &str = "uri_too_long";
    pub(crate) const REQUEST_TIMEOUT: &str = "request_timeout";
    pub(crate) const SYNC_ACTIVE: &str = "sync_active";
    pub(crate) const INVALID_STATE: &str = "invalid_state";
    pub(crate) const SCRAPE_DISABLED: &str = "scrape_disabled";
    pub(crate) const UNAVAILABLE: &str = "unavailable";
    pub(crate) const NOT_READY: &str = "not_ready";
    pub(crate) const INTERNAL: &str = "internal";
}

/// The `WWW-Authenticate` challenge of a 401 (RFC 6750).
const CHALLENGE: &str = r#"Bearer realm="ingest-api""#;
const CHALLENGE_INVALID: &str = r#"Bearer realm="ingest-api", error="invalid_token""#;

/// The response body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `sync_active`.
    #[schema(example = "sync_active")]
    pub(crate) code: String,
    /// Human-readable explanation; never contains internal error text.
    pub(crate) message: String,
    /// The job the error is about (`sync_active`: the job already active).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) job_id: Option<Uuid>,
}

/// An error response: status, code, message, and what else it carries.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    job_id: Option<JobId>,
    challenge: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            job_id: None,
            challenge: None,
        }
    }

    /// No credentials presented (or none accepted because none are configured).
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
        }
    }

    /// Credentials presented but not accepted.
    pub(crate) fn invalid_token() -> Self {
        Self {
            challenge: Some(CHALLENGE_INVALID),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
                "the bearer token is not valid",
            )
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code::INVALID_REQUEST,
            message,
        )
    }

    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }

    pub(crate) fn uri_too_long(limit: usize) -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            code::URI_TOO_LONG,
            format!("the request target exceeds the limit of {limit} bytes"),
        )
    }

    /// The request (its body included) took longer than the server allows.
    pub(crate) fn request_timeout(limit: Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            code::REQUEST_TIMEOUT,
            format!(
                "the request was not completed within {} s",
                limit.as_secs_f64()
            ),
        )
    }

    /// `Accept` admits none of the representations the route has.
    pub(crate) fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, code::NOT_ACCEPTABLE, message)
    }

    /// Only the report's data was acceptable, and it cannot be read (the
    /// reason is logged by the caller).
    pub(crate) fn report_data_unreadable(job_id: JobId) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            code::REPORT_DATA_UNREADABLE,
            format!(
                "the data of the report of job {job_id} cannot be read by this version \
                 (archived by an older or newer one, or damaged); its Markdown can: \
                 request it with `Accept: text/markdown`"
            ),
        )
        .with_job(job_id)
    }

    pub(crate) fn scrape_disabled() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SCRAPE_DISABLED,
            "scraping is disabled by the kill switch (MRE_SCRAPE_ENABLED); no job was enqueued",
        )
    }

    /// A dependency is down: logged in full, answered generically.
    pub(crate) fn unavailable(what: &str, detail: &dyn Display) -> Self {
        tracing::warn!(error = %detail, "{what} unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            "a backing service is unavailable; try again later",
        )
    }

    /// The database did not answer within the request's database budget
    /// (a pool that cannot connect, a server that stopped answering).
    pub(crate) fn database_timeout(limit: Duration) -> Self {
        Self::unavailable(
            "database",
            &format_args!("no answer within {} s", limit.as_secs_f64()),
        )
    }

    /// Anything else that is our fault: logged in full, answered generically.
    pub(crate) fn internal(what: &str, detail: &dyn Display) -> Self {
        tracing::error!(error = %detail, "{what} failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal server error",
        )
    }

    fn with_job(mut self, job_id: JobId) -> Self {
        self.job_id = Some(job_id);
        self
    }

    /// The source already has an active job, named with its trigger and
    /// start when it could be read.
    pub(crate) fn sync_active_job(job_id: JobId, status: JobStatus, job: Option<&Job>) -> Self {
        let Some(job) = job else {
            return Self::sync_active(job_id, status);
        };
        let since = match job.started_at {
            Some(t) => format!("started {}", t.format("%Y-%m-%d %H:%M:%S UTC")),
            None => format!("queued {}", job.created_at.format("%Y-%m-%d %H:%M:%S UTC")),
        };
        Self::new(
            StatusCode::CONFLICT,
            code::SYNC_ACTIVE,
            format!(
                "a sync job for this source is already {status}: run {job_id} (trigger {}, {since})",
                job.trigger.as_str()
            ),
        )
        .with_job(job_id)
    }

    /// The source already has an active job.
    pub(crate) fn sync_active(job_id: JobId, status: JobStatus) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            code::SYNC_ACTIVE,
            format!("a sync job for this source is already {status}"),
        )
        .with_job(job_id)
    }
}

impl From<JobError> for ApiError {
    fn from(err: JobError) -> Self {
        match err {
            JobError::NotFound(id) => {
                ApiError::not_found(code::JOB_NOT_FOUND, format!("job {id} not found")).with_job(id)
            }
            JobError::Active { job_id, status } => ApiError::sync_active(job_id, status),
            // The queue's own explanation of a state rule ("cannot resume a
            // succeeded job"): domain text, safe to show.
            JobError::InvalidState {
                job_id,
                status,
                message,
            } => ApiError::new(
                StatusCode::CONFLICT,
                code::INVALID_STATE,
                format!("job {job_id} is {status}: {message}"),
            )
            .with_job(job_id),
            JobError::Unavailable(detail) => ApiError::unavailable("job queue", &detail),
            // LeaseLost cannot follow from an API call (the API holds no
            // lease); Store and anything added later are our fault.
            other => ApiError::internal("job queue", &other),
        }
    }
}

impl From<RepositoryError> for ApiError {
    fn from(err: RepositoryError) -> Self {
        if err.is_transient() {
            ApiError::unavailable("track repository", &err)
        } else {
            ApiError::internal("track repository", &err)
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        ApiError::internal("report archive", &err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                job_id: self.job_id,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_carry_their_detail() {
        let err = ApiError::from(JobError::Store(
            "syntax error at or near \"SELEC\"".to_owned(),
        ));
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.message.contains("SELEC"));
        let err = ApiError::from(RepositoryError::Unavailable("pool timed out".to_owned()));
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.message.contains("pool"));
    }

    #[test]
    fn active_maps_to_conflict_with_the_job() {
        let id = uuid::Uuid::now_v7();
        let err = ApiError::from(JobError::Active {
            job_id: id,
            status: JobStatus::Running,
        });
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert_eq!(err.code, code::SYNC_ACTIVE);
        assert_eq!(err.job_id, Some(id));
    }
}
