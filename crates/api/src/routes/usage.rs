//! AI usage: `/api/usage` (record) and `/api/usage/report`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tenantry_db::usage::{self, NewUsage, UsageEvent, UsageReport};
use tenantry_db::with_tenant_context;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{ApiJson, TenantScope};
use crate::params::ApiQuery;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/usage", post(record))
        .route("/api/usage/report", get(report))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBody {
    /// A model name from the reference data, e.g. `gpt-4o`.
    #[schema(min_length = 1, max_length = 200)]
    model: String,
    /// A project of this organization.
    project_id: Option<Uuid>,
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
    scope: TenantScope,
    ApiJson(body): ApiJson<RecordBody>,
) -> Result<(StatusCode, Json<UsageEvent>), ApiError> {
    let event = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        usage::record_usage(
            tx,
            NewUsage {
                model: &body.model,
                project_id: body.project_id,
                input_tokens: body.input_tokens,
                output_tokens: body.output_tokens,
                occurred_at: body.occurred_at,
            },
        )
        .await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

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
    scope: TenantScope,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<UsageReport>, ApiError> {
    let report = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        usage::usage_report(tx, query.from, query.to).await
    })
    .await?;
    Ok(Json(report))
}
