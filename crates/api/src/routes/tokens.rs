//! Personal access tokens: `/api/tokens`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use tenantry_db::{NewPat, PatSummary};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{ApiJson, Identity};
use crate::params::ApiPath;
use crate::state::AppState;

/// Longest lifetime a token may be given.
pub const MAX_EXPIRES_IN_DAYS: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens", get(list).post(create))
        .route("/api/tokens/{id}", delete(revoke))
}

/// The caller's live tokens (the seed's `listUserPATs` fields).
#[utoipa::path(get, path = "/api/tokens", tag = "tokens",
    responses((status = 200, body = Vec<PatSummary>), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<PatSummary>>, ApiError> {
    Ok(Json(
        tenantry_db::list_user_pats(&state.db, identity.user.id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    /// A label, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// 1 to 366; never expires when absent.
    #[schema(minimum = 1, maximum = 366)]
    expires_in_days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token. Shown this once; only its hash is stored.
    token: String,
    #[serde(flatten)]
    summary: PatSummary,
}

/// Create a token for the caller (signed in with a session: a token cannot
/// mint further tokens, which would outlive its own expiry or revocation).
/// The response is the only time it is shown.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = CreateBody,
    responses((status = 201, body = CreatedToken), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    if identity.session().is_none() {
        return Err(ApiError::Forbidden(
            "personal access tokens are created from a signed-in session",
        ));
    }
    let (token, summary) = mint_for(
        &state.db,
        identity.user.id,
        &body.name,
        body.expires_in_days,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, summary })))
}

/// Mint and store a token; shared with the `tenantry pat create` command.
pub async fn mint_for(
    db: &tenantry_db::Database,
    user_id: tenantry_db::UserId,
    name: &str,
    expires_in_days: Option<i64>,
) -> Result<(String, PatSummary), ApiError> {
    let expires_at = match expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
            Some(Utc::now() + Duration::days(days))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "expiresInDays",
                format!("must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
            ));
        }
    };
    let minted = tenantry_auth::pat::mint_pat();
    let summary = tenantry_db::create_pat(
        db,
        NewPat {
            user_id,
            name,
            token_prefix: &minted.lookup_prefix,
            token_hash: &minted.hash,
            expires_at,
        },
    )
    .await?;
    Ok((minted.token, summary))
}

/// Revoke one of the caller's tokens.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens", params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::try_parse(&id).map_err(|_| ApiError::invalid("id", "must be a UUID"))?;
    if tenantry_db::revoke_pat(&state.db, identity.user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("token"))
    }
}
