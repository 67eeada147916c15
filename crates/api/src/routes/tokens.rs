//! Personal access tokens: `/api/tokens`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenantry_app::tokens::MintedToken;
use tenantry_app::{OrganizationId, PatId, PatSummary, Scopes, TokenGrant};

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
use crate::params::PathId;
use crate::state::AppState;

/// The caller's personal access tokens: `/api/tokens` and `/api/tokens/{id}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens", get(list).post(create))
        .route("/api/tokens/{id}", delete(revoke))
}

/// The caller's live tokens (the seed's `listUserPATs` fields, with each
/// one's scopes and bound organization); a signed-in session only.
#[utoipa::path(get, path = "/api/tokens", tag = "tokens",
    responses((status = 200, body = Vec<PatSummary>), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<PatSummary>>, ApiError> {
    Ok(Json(state.app.list_tokens(&actor).await?))
}

/// The body of `POST /api/tokens`. Unknown fields are refused: a misspelt
/// `scope` or `organization` must not mint a full, unbound token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    /// A label, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// 1 to 366; never expires when absent.
    #[schema(minimum = 1, maximum = 366)]
    expires_in_days: Option<i64>,
    /// What the token may do: `["read"]`, or `["read","write"]` (the
    /// default; `"write"` brings `"read"`). A read-only token's work runs
    /// in read-only database transactions.
    #[schema(value_type = Option<Vec<String>>, example = json!(["read"]))]
    #[serde(default, deserialize_with = "scope_names")]
    scopes: Option<Vec<String>>,
    /// The one organization the token acts in (one you belong to); every
    /// organization of yours when absent.
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// `scopes` when given: an array of names. An explicit `null` is refused
/// rather than read as "absent", which would mean every scope.
fn scope_names<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Option::<Vec<String>>::deserialize(deserializer)?
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(
                "scopes must be an array of scope names, e.g. [\"read\"]; leave it out for both",
            )
        })
}

impl CreateBody {
    /// The grant the body asks for, each field checked and named when wrong.
    fn grant(&self) -> Result<TokenGrant, ApiError> {
        let scopes = match &self.scopes {
            None => Scopes::ALL,
            Some(names) => Scopes::parse(names)?,
        };
        let organization_id = self
            .organization_id
            .as_deref()
            .map(|id| {
                OrganizationId::parse(id)
                    .map_err(|_| ApiError::invalid("organizationId", "must be a UUID"))
            })
            .transpose()?;
        Ok(TokenGrant {
            scopes,
            organization_id,
        })
    }
}

/// The answer to `POST /api/tokens`: the token, shown this once, and its record.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token. Shown this once; only its hash is stored.
    token: String,
    #[serde(flatten)]
    summary: PatSummary,
}

/// Create a token for the caller (signed in with a session: a token cannot
/// mint further tokens, which would outlive its own expiry or revocation),
/// with its scopes and, optionally, the one organization it is bound to.
/// The response is the only time it is shown.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = CreateBody,
    responses((status = 201, body = CreatedToken), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let grant = body.grant()?;
    let MintedToken { token, summary } = state
        .app
        .create_token(&actor, &body.name, body.expires_in_days, grant)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, summary })))
}

/// Revoke one of the caller's tokens (from a session; a token may revoke only itself).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens", params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    PathId(id): PathId<PatId>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
