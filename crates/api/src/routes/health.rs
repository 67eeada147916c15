//! `GET /health`: the seed's `checkDatabase()`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::state::AppState;

/// `GET /health`, for load balancers and orchestrators.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// The answer to `GET /health`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// Round trip of `SELECT 1`, when it answered.
    database_latency_ms: Option<f64>,
}

/// 200 with the database's latency, or 503 within two seconds when it is down.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.app.check_database().await {
        Ok(latency) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database_latency_ms: Some(latency.as_secs_f64() * 1000.0),
            }),
        ),
        Err(error) => {
            tracing::warn!(?error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database_latency_ms: None,
                }),
            )
        }
    }
}
