//! Better Auth's `delete-user`: a signed-in user deletes their own account
//! after typing their password again. What happens to their organizations
//! is `tenantry_app::App::delete_account`'s rule.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
use crate::identity;
use crate::routes::account::confirm_password;
use crate::state::AppState;

/// `POST /api/auth/delete-user`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/auth/delete-user", post(delete_user))
}

/// The body of `POST /api/auth/delete-user`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteUserBody {
    /// The account's current password (required: tenantry has no
    /// fresh-session or emailed-token deletion).
    password: Option<String>,
}

/// The answer to `POST /api/auth/delete-user`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeleteUserResponse {
    /// Always `true`.
    success: bool,
    /// `User deleted`.
    message: &'static str,
}

/// Delete the caller's account (a session, not a personal access token),
/// confirmed with its password (wrong: 400 `INVALID_PASSWORD`; an account
/// without one: 400 `CREDENTIAL_ACCOUNT_NOT_FOUND`). Refused with 400
/// `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER` while the user is
/// the only owner of an organization that has other members; organizations
/// whose only member they are are deleted with them, every tenant row
/// included; their sessions and personal access tokens end. All in one
/// transaction.
#[utoipa::path(post, path = "/api/auth/delete-user", tag = "auth", request_body = DeleteUserBody,
    responses((status = 200, body = DeleteUserResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<DeleteUserBody>,
) -> Result<Response, ApiError> {
    if !state.app.settings().delete_user_enabled {
        return Err(ApiError::NotFound("route"));
    }
    let password = body
        .password
        .ok_or_else(|| ApiError::invalid("password", "is required"))?;
    confirm_password(&state, &actor, password).await?;
    state.app.delete_account(&actor).await?;
    Ok((
        identity::clear_session_cookie(&state)?,
        Json(DeleteUserResponse {
            success: true,
            message: "User deleted",
        }),
    )
        .into_response())
}
