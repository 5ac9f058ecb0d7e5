//! Sync jobs: enqueue (`POST /api/v1/tracks/sync`, also cron's entry point),
//! follow, list, read the report of, cancel and resume.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest_core::{Job, JobError, JobId, JobRequest, NewJob, RunReport};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Shared, archive_failure, database};
use crate::dto::report::ReportView;
use crate::dto::{JobList, JobView, SyncRequest, TriggerHeaderValue, job_path};
use crate::error::{ApiError, ErrorBody, code};
use crate::extract::{ApiQuery, JobIdPath, OptionalJson, TriggerHeader};
use crate::negotiate::{self, Offer};

/// Accepted `concurrency` of a sync request.
const CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=ingest_core::MAX_CONCURRENCY;
/// `GET /api/v1/tracks/sync?limit=`: default and maximum.
const DEFAULT_JOB_LIMIT: u32 = 20;
const MAX_JOB_LIMIT: u32 = 200;

/// A job as a 202 with its URL in `Location`.
fn accepted(state: &Shared, job: Job) -> Response {
    let location = job_path(job.id);
    let view = JobView::new(job, state.clock.now(), false);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response()
}

/// The optional header of `POST /api/v1/tracks/sync`, as documented (the
/// `TriggerHeader` extractor reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "describes the header in the OpenAPI document only"
)]
struct TriggerParam {
    /// `cron` marks a run started by cron; default `api`. Exactly `api` or
    /// `cron`; anything else is `400 invalid_header`.
    #[param(rename = "X-MRE-Trigger", inline, nullable = false)]
    trigger: Option<TriggerHeaderValue>,
}

/// Start a sync of the catalogue.
///
/// Enqueues a job that a worker runs; follow it at the `Location` returned.
/// Cron calls this same route with `X-MRE-Trigger: cron`.
#[utoipa::path(
    post,
    path = "/api/v1/tracks/sync",
    tag = "sync",
    params(TriggerParam),
    request_body(
        content = Option<SyncRequest>,
        content_type = "application/json",
        description = "Optional: no body, an empty one or `null` takes the server's defaults",
    ),
    responses(
        (status = 202, description = "Enqueued", body = JobView,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 400, description = "`invalid_json`, `invalid_header`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 409, description = "`sync_active`: the source has a queued or running job, whose id is `error.jobId`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`: unknown field, wrong type, or `concurrency` outside 1–32", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`scrape_disabled` (kill switch; nothing enqueued) or `unavailable` (the database did not answer in time)", body = ErrorBody),
    ),
)]
pub(crate) async fn enqueue_sync(
    State(state): State<Shared>,
    TriggerHeader(trigger): TriggerHeader,
    OptionalJson(body): OptionalJson<SyncRequest>,
) -> Result<Response, ApiError> {
    if let Some(c) = body.concurrency
        && !CONCURRENCY.contains(&c)
    {
        return Err(ApiError::unprocessable(format!(
            "concurrency must be between {} and {}",
            CONCURRENCY.start(),
            CONCURRENCY.end()
        )));
    }
    if !state.scrape_enabled {
        return Err(ApiError::scrape_disabled());
    }
    let defaults = &state.job_defaults;
    let new_job = NewJob {
        source: defaults.source.clone(),
        trigger,
        request: JobRequest {
            metadata: body.metadata.map_or(defaults.metadata, Into::into),
            concurrency: body.concurrency,
            force: body.force.unwrap_or(false),
            accept_drift: body.accept_drift.unwrap_or_default(),
            dry_run: body.dry_run.unwrap_or(false),
        },
        // The queue requires at least one attempt.
        max_attempts: defaults.max_attempts.max(1),
    };
    // The active job in the way is named with its trigger and start.
    let job = database(&state, async {
        match state.jobs.enqueue(&new_job).await {
            Err(JobError::Active { job_id, status }) => {
                let active = state.jobs.get(job_id).await.ok().flatten();
                Err(ApiError::sync_active_job(job_id, status, active.as_ref()))
            }
            other => other.map_err(ApiError::from),
        }
    })
    .await?;
    tracing::info!(job_id = %job.id, trigger = trigger.as_str(), "sync job enqueued");
    Ok(accepted(&state, job))
}

/// Query of `GET /api/v1/tracks/sync`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobListQuery {
    /// Jobs to return, newest first: 1–200, default 20.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Recent sync jobs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tracks/sync",
    tag = "sync",
    params(JobListQuery),
    responses(
        (status = 200, description = "Recent jobs", body = JobList),
        (status = 400, description = "`invalid_query`: `limit` outside 1–200", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn list_jobs(
    State(state): State<Shared>,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_JOB_LIMIT);
    if !(1..=MAX_JOB_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_QUERY,
            format!("limit must be between 1 and {MAX_JOB_LIMIT}"),
        ));
    }
    let jobs = database(&state, state.jobs.list(limit)).await?;
    let now = state.clock.now();
    // One report lookup per job would be a query per row: the list shows a
    // report URL when the job's summary names a report file.
    let items = jobs
        .into_iter()
        .map(|job| JobView::new(job, now, false))
        .collect();
    Ok(Json(JobList { items, limit }))
}

/// One sync job: status, progress, counts, report.
#[utoipa::path(
    get,
    path = "/api/v1/tracks/sync/{jobId}",
    tag = "sync",
    params(("jobId" = uuid::Uuid, Path, description = "The job (= run) id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "`invalid_job_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn get_job(
    State(state): State<Shared>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobView>, ApiError> {
    let started = Instant::now();
    let job = database(&state, state.jobs.get(id))
        .await?
        .ok_or_else(|| ApiError::from(ingest_core::JobError::NotFound(id)))?;
    let has_file = job
        .summary
        .as_ref()
        .is_some_and(|s| s.report_file.is_some());
    // The archive may hold a report the summary does not name (a worker
    // that archived, then died before finishing the job). A failing lookup
    // only costs the link, not the answer; it gets what is left of the
    // request's database budget.
    let left = state.database_timeout.saturating_sub(started.elapsed());
    let archived = !has_file
        && match tokio::time::timeout(left, state.reports.get_report(id)).await {
            Ok(Ok(report)) => report.is_some(),
            Ok(Err(e)) => {
                tracing::warn!(job_id = %id, error = %e, "report lookup failed");
                false
            }
            Err(_) => {
                tracing::warn!(job_id = %id, "report lookup timed out");
                false
            }
        };
    Ok(Json(JobView::new(job, state.clock.now(), archived)))
}

/// The report's representations, in the server's order of preference:
/// Markdown first, so a client that names no type (no `Accept`, `*/*`)
/// gets what this route always sent.
const MARKDOWN: Offer = Offer {
    essence: "text/markdown",
    params: &[("charset", "utf-8")],
};
/// JSON is UTF-8 by definition (RFC 8259), whatever the header says.
const JSON: Offer = Offer {
    essence: "application/json",
    params: &[("charset", "utf-8")],
};
const REPORT_OFFERS: [Offer; 2] = [MARKDOWN, JSON];
const MARKDOWN_CONTENT_TYPE: &str = "text/markdown; charset=utf-8";

/// The job's run report: Markdown, or its data as JSON.
///
/// Content negotiation on `Accept` (RFC 9110 §12.5.1, weights honoured):
/// Markdown unless the header prefers `application/json`; no header, `*/*`
/// or `text/*` is Markdown. The JSON is the report's data as archived with
/// it (what the admin page draws); when that data cannot be read (a report
/// archived by another version, or damaged), the Markdown is sent if the
/// request accepts it too, else `406 report_data_unreadable`.
#[utoipa::path(
    get,
    path = "/api/v1/tracks/sync/{jobId}/report",
    tag = "sync",
    params(("jobId" = uuid::Uuid, Path, description = "The job (= run) id")),
    responses(
        (status = 200, description = "The archived report. `text/markdown` (the default: no `Accept`, `*/*`, `text/*`) is the report as written to files and shown by the CLI; `application/json` (when `Accept` prefers it, q-values honoured) is the same report as data. Both vary on `Accept`.",
            content(
                (String = "text/markdown; charset=utf-8"),
                (ReportView = "application/json"),
            ),
            headers(("Vary" = String, description = "`Accept`"))),
        (status = 400, description = "`invalid_job_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`report_not_found`: no report archived for this id (yet)", body = ErrorBody),
        (status = 406, description = "`not_acceptable`: `Accept` admits neither `text/markdown` nor `application/json`; `report_data_unreadable`: only JSON is acceptable, and this report's archived data cannot be read by this version (its Markdown can: ask for `text/markdown`)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn get_report(
    State(state): State<Shared>,
    JobIdPath(id): JobIdPath,
    headers: HeaderMap,
) -> Response {
    let mut response = match report(&state, id, &headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    // Caches keep the representations apart, errors included.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

async fn report(state: &Shared, id: JobId, headers: &HeaderMap) -> Result<Response, ApiError> {
    // Before the database: a request that can take neither type is answered
    // without a lookup.
    let offer = negotiate::choose(headers, &REPORT_OFFERS)
        .map(|i| REPORT_OFFERS[i])
        .ok_or_else(|| {
            ApiError::not_acceptable(format!(
                "the report is available as {MARKDOWN_CONTENT_TYPE} or application/json"
            ))
        })?;
    let report = database(state, async {
        match state.reports.get_report(id).await {
            Ok(report) => Ok(report),
            Err(e) => Err(archive_failure(state, e).await),
        }
    })
    .await?
    .ok_or_else(|| {
        ApiError::not_found(
            code::REPORT_NOT_FOUND,
            format!("no report is archived for job {id}"),
        )
    })?;
    if offer == MARKDOWN {
        return Ok(markdown(report.body));
    }
    match serde_json::from_value::<RunReport>(report.data) {
        Ok(data) => Ok(Json(ReportView::new(data, report.file_name)).into_response()),
        Err(e) => {
            tracing::warn!(job_id = %id, error = %e, "archived report data cannot be read");
            // The JSON representation does not exist for this report: the
            // one that does, if the client takes it.
            if negotiate::choose(headers, &[MARKDOWN]).is_some() {
                Ok(markdown(report.body))
            } else {
                Err(ApiError::report_data_unreadable(id))
            }
        }
    }
}

fn markdown(body: String) -> Response {
    ([(header::CONTENT_TYPE, MARKDOWN_CONTENT_TYPE)], body).into_response()
}

/// Put a failed or cancelled job back in the queue (same id, checkpoint
/// kept: it continues where it stopped).
#[utoipa::path(
    post,
    path = "/api/v1/tracks/sync/{jobId}/resume",
    tag = "sync",
    params(("jobId" = uuid::Uuid, Path, description = "The job (= run) id")),
    responses(
        (status = 202, description = "Queued again", body = JobView,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 400, description = "`invalid_job_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state` (not failed or cancelled) or `sync_active` (another job of the source is active)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`scrape_disabled` or `unavailable` (the database did not answer in time)", body = ErrorBody),
    ),
)]
pub(crate) async fn resume_job(
    State(state): State<Shared>,
    JobIdPath(id): JobIdPath,
) -> Result<Response, ApiError> {
    if !state.scrape_enabled {
        return Err(ApiError::scrape_disabled());
    }
    let job = database(&state, state.jobs.resume(id)).await?;
    tracing::info!(job_id = %id, "sync job resumed");
    Ok(accepted(&state, job))
}

/// Cancel a job: a queued one at once, a running one at its worker's next
/// batch (`cancelRequested` shows the request until then).
#[utoipa::path(
    post,
    path = "/api/v1/tracks/sync/{jobId}/cancel",
    tag = "sync",
    params(("jobId" = uuid::Uuid, Path, description = "The job (= run) id")),
    responses(
        (status = 202, description = "Cancelled, or cancellation requested", body = JobView,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 400, description = "`invalid_job_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the job is already final", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn cancel_job(
    State(state): State<Shared>,
    JobIdPath(id): JobIdPath,
) -> Result<Response, ApiError> {
    let job = database(&state, state.jobs.request_cancel(id)).await?;
    tracing::info!(job_id = %id, status = %job.status, "sync job cancellation requested");
    Ok(accepted(&state, job))
}
