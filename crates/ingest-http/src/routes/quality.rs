//! Data quality over time (`GET /api/v1/tracks/quality`): how complete the
//! active catalogue was after each of the newest archived runs, and how many
//! values broke validation rules, read from the report archive.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Shared, archive_failure, database};
use crate::dto::{QualityHistory, RunQualityView};
use crate::error::{ApiError, ErrorBody, code};
use crate::extract::ApiQuery;

/// `?runs=`: default and maximum.
const DEFAULT_RUNS: u32 = 10;
const MAX_RUNS: u32 = 100;

/// Query of `GET /api/v1/tracks/quality`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct QualityQuery {
    /// Archived runs to return, newest first: 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    runs: Option<u32>,
}

/// Completeness and validation figures of the newest archived runs.
///
/// Percentages are shares of the tracks active when each run ended, with
/// one decimal. Runs whose archived data cannot be read are left out.
#[utoipa::path(
    get,
    path = "/api/v1/tracks/quality",
    tag = "tracks",
    params(QualityQuery),
    responses(
        (status = 200, description = "Quality of the newest runs, newest first", body = QualityHistory),
        (status = 400, description = "`invalid_query`: `runs` outside 1–100", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn quality_history(
    State(state): State<Shared>,
    ApiQuery(query): ApiQuery<QualityQuery>,
) -> Result<Json<QualityHistory>, ApiError> {
    let runs = query.runs.unwrap_or(DEFAULT_RUNS);
    if !(1..=MAX_RUNS).contains(&runs) {
        return Err(ApiError::bad_request(
            code::INVALID_QUERY,
            format!("runs must be between 1 and {MAX_RUNS}"),
        ));
    }
    let source = state.job_defaults.source.clone();
    let history = database(&state, async {
        match state.reports.quality_history(&source, runs).await {
            Ok(history) => Ok(history),
            Err(e) => Err(archive_failure(&state, e).await),
        }
    })
    .await?;
    Ok(Json(QualityHistory {
        source,
        runs: history.into_iter().map(RunQualityView::from).collect(),
    }))
}
