//! The stored track catalogue, paged or searched (`GET /api/v1/tracks`),
//! and a track's change history (`GET /api/v1/tracks/{slug}/history`).

use axum::Json;
use axum::extract::{Path, State};
use ingest_core::TrackQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Shared, database};
use crate::dto::{TrackChangeView, TrackHistory, TrackPage, TrackView};
use crate::error::{ApiError, ErrorBody, code};
use crate::extract::ApiQuery;

const DEFAULT_TRACK_LIMIT: u32 = 100;
const MAX_TRACK_LIMIT: u32 = 1000;

/// Query of `GET /api/v1/tracks`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrackListQuery {
    /// `true` (default): active tracks only; `false`: every track, inactive
    /// ones included.
    active: Option<bool>,
    /// Page size: 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Tracks to skip (ordered by slug): 0–4294967295, default 0.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4_294_967_295_u64)]
    offset: Option<u32>,
    /// Search: tracks (inactive ones too) whose name, slug, city, state,
    /// country or country code contains this text, ignoring case; ordered
    /// by name, `limit` at most, `offset` ignored. 1–100 characters.
    #[param(min_length = 1, max_length = 100)]
    q: Option<String>,
}

/// Query of `GET /api/v1/tracks/{slug}/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// At most this many changes, newest first: 1–1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of the stored tracks of the configured source, ordered by slug.
#[utoipa::path(
    get,
    path = "/api/v1/tracks",
    tag = "tracks",
    params(TrackListQuery),
    responses(
        (status = 200, description = "A page of tracks", body = TrackPage),
        (status = 400, description = "`invalid_query`: a parameter does not parse or is out of range", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn list_tracks(
    State(state): State<Shared>,
    ApiQuery(query): ApiQuery<TrackListQuery>,
) -> Result<Json<TrackPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_TRACK_LIMIT);
    if !(1..=MAX_TRACK_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_QUERY,
            format!("limit must be between 1 and {MAX_TRACK_LIMIT}"),
        ));
    }
    let offset = query.offset.unwrap_or(0);
    let active_only = query.active.unwrap_or(true);
    let source = state.job_defaults.source.as_str();
    if let Some(text) = query.q.as_deref() {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 100 {
            return Err(ApiError::bad_request(
                code::INVALID_QUERY,
                "q must hold 1 to 100 characters".to_owned(),
            ));
        }
        let found = database(&state, state.tracks.search_tracks(source, text, limit)).await?;
        return Ok(Json(TrackPage {
            total: found.len() as u64,
            items: found.into_iter().map(TrackView::from).collect(),
            limit,
            offset: 0,
        }));
    }
    let (page, total) = database(&state, async {
        tokio::try_join!(
            state.tracks.list_tracks(
                source,
                TrackQuery {
                    active_only,
                    limit,
                    offset,
                },
            ),
            state.tracks.count_tracks(source, active_only),
        )
    })
    .await?;
    Ok(Json(TrackPage {
        items: page.into_iter().map(TrackView::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// One track's recorded profile changes (`track_changes`), newest first: what
/// changed, from what to what, and by which run. Empty for a slug that has no
/// history (or is unknown).
#[utoipa::path(
    get,
    path = "/api/v1/tracks/{slug}/history",
    tag = "tracks",
    params(
        ("slug" = String, Path, description = "The track's slug (lower case)"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The track's changes", body = TrackHistory),
        (status = 400, description = "`invalid_query`: a parameter does not parse or is out of range", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database did not answer in time", body = ErrorBody),
    ),
)]
pub(crate) async fn track_history(
    State(state): State<Shared>,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<TrackHistory>, ApiError> {
    let limit = query.limit.unwrap_or(200);
    if !(1..=MAX_TRACK_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_QUERY,
            format!("limit must be between 1 and {MAX_TRACK_LIMIT}"),
        ));
    }
    let slug = slug.to_ascii_lowercase();
    let source = state.job_defaults.source.as_str();
    let changes = database(&state, state.tracks.track_history(source, &slug, limit)).await?;
    Ok(Json(TrackHistory {
        slug,
        items: changes.into_iter().map(TrackChangeView::from).collect(),
    }))
}
