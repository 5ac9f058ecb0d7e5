//! Extractors whose rejections use the API's error shape: a JSON body that
//! may be empty, query strings, the job id of a path, and the trigger header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use ingest_core::{JobId, Trigger};
use serde::de::DeserializeOwned;

use crate::dto::TriggerHeaderValue;
use crate::error::{ApiError, code};

/// The header cron sets on the sync route: `X-MRE-Trigger: cron`.
pub(crate) const TRIGGER_HEADER: &str = "x-mre-trigger";

/// A JSON body whose fields are all optional: no body (or only whitespace)
/// and the JSON `null` are `T::default()`. A body must be
/// `application/json` (415 otherwise); malformed JSON is 400
/// `invalid_json`; JSON of the wrong shape (unknown field, wrong type,
/// unknown enum value) is 422 `invalid_request`.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                // A streamed body over the limit. The router's outer layer
                // rewrites every 413 with the configured limit in the text.
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    code::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                )
            } else {
                ApiError::bad_request(code::INVALID_JSON, "the request body could not be read")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
                "the request body must be JSON (`Content-Type: application/json`)",
            ));
        }
        serde_json::from_slice::<Option<T>>(&bytes)
            .map(|body| Self(body.unwrap_or_default()))
            .map_err(|e| {
                // serde_json's messages describe the client's input (position,
                // field names), never our internals.
                if e.is_data() {
                    ApiError::unprocessable(format!("invalid request body: {e}"))
                } else {
                    ApiError::bad_request(code::INVALID_JSON, format!("malformed JSON: {e}"))
                }
            })
    }
}

/// `application/json`, or any `application/…+json`, parameters ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A query string; a malformed one is 400 `invalid_query`.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e| ApiError::bad_request(code::INVALID_QUERY, e.body_text()))
    }
}

/// The `{jobId}` of a path; anything but a UUID in its hyphenated form
/// (`format: uuid`: 36 characters, either case) is 400 `invalid_job_id`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobIdPath(pub(crate) JobId);

impl<S> FromRequestParts<S> for JobIdPath
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::bad_request(code::INVALID_JOB_ID, "the job id must be a UUID");
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        // `Uuid::parse_str` also takes the simple, braced and URN forms,
        // which the document's `format: uuid` does not allow.
        if raw.len() != 36 {
            return Err(invalid());
        }
        raw.parse().map(Self).map_err(|_| invalid())
    }
}

/// The trigger of an enqueue: `api` unless `X-MRE-Trigger` says `cron`.
/// The value is matched exactly, as the document's enum declares it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TriggerHeader(pub(crate) Trigger);

impl<S> FromRequestParts<S> for TriggerHeader
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(TRIGGER_HEADER) else {
            return Ok(Self(Trigger::Api));
        };
        let value = match value.as_bytes() {
            b"api" => TriggerHeaderValue::Api,
            b"cron" => TriggerHeaderValue::Cron,
            _ => {
                return Err(ApiError::bad_request(
                    code::INVALID_HEADER,
                    "X-MRE-Trigger must be `api` or `cron`",
                ));
            }
        };
        Ok(Self(value.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(ct).expect("ascii"),
        );
        h
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&headers("application/jsonp")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
