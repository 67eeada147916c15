//! AI usage: `/api/usage` (record) and `/api/usage/report`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tenantry_app::{NewUsage, ProjectId, UsageEvent, UsageReport};

use crate::error::ApiError;
use crate::extract::{ApiJson, Scoped};
use crate::params::ApiQuery;
use crate::state::AppState;

/// The active organization's usage: `POST /api/usage`, `GET /api/usage/report`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/usage", post(record))
        .route("/api/usage/report", get(report))
}

/// The body of `POST /api/usage`: one model call's token counts.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBody {
    /// A model name from the reference data, e.g. `gpt-4o`.
    #[schema(min_length = 1, max_length = 200)]
    model: String,
    /// A project of this organization.
    #[schema(value_type = Option<uuid::Uuid>)]
    project_id: Option<ProjectId>,
    #[schema(minimum = 0, maximum = 100_000_000)]
    input_tokens: i64,
    #[schema(minimum = 0, maximum = 100_000_000)]
    output_tokens: i64,
    /// RFC 3339; now when absent.
    occurred_at: Option<DateTime<Utc>>,
}

/// Record one AI call.
#[utoipa::path(post, path = "/api/usage", tag = "usage", request_body = RecordBody,
    responses((status = 201, body = UsageEvent), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn record(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    ApiJson(body): ApiJson<RecordBody>,
) -> Result<(StatusCode, Json<UsageEvent>), ApiError> {
    let new = NewUsage {
        model: &body.model,
        project_id: body.project_id,
        input_tokens: body.input_tokens,
        output_tokens: body.output_tokens,
        occurred_at: body.occurred_at,
    };
    let event = state.app.record_usage(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// The query of `GET /api/usage/report`: the time window.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Start, inclusive (RFC 3339).
    from: DateTime<Utc>,
    /// End, exclusive (RFC 3339); at most 366 days after `from`.
    to: DateTime<Utc>,
}

/// Tokens and cost per model and per day, priced at the time of each call.
#[utoipa::path(get, path = "/api/usage/report", tag = "usage", params(ReportQuery),
    responses((status = 200, body = UsageReport), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<UsageReport>, ApiError> {
    Ok(Json(
        state.app.usage_report(&actor, query.from, query.to).await?,
    ))
}
