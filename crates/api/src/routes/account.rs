//! The signed-in user's own sessions and account, on Better Auth's paths and
//! JSON shapes: `list-sessions`, `revoke-session(s)`,
//! `revoke-other-sessions`, `update-user`, `change-password`,
//! `change-email`. The rules are `tenantry_app`'s (`sessions`, `accounts`);
//! here are parsing, password hashing on the bounded pool, cookies and mail.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use tenantry_app::accounts::INVALID_PASSWORD;
use tenantry_app::{Session, User};
use tenantry_auth::email::Email;
use tenantry_auth::password::{PasswordCheck, exceeds_max_length, verify_password};

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
use crate::identity;
use crate::limits::Client;
use crate::links::LinkTarget;
use crate::mailer::Message;
use crate::routes::auth::{LINK_VALIDITY, hash_blocking, mail_after_response, with_hashing_permit};
use crate::state::AppState;

/// The signed-in user's sessions and account: `list-sessions`, `revoke-session(s)`, `revoke-other-sessions`, `update-user`, `change-password`, `change-email`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/list-sessions", get(list_sessions))
        .route("/api/auth/revoke-session", post(revoke_session))
        .route("/api/auth/revoke-sessions", post(revoke_sessions))
        .route(
            "/api/auth/revoke-other-sessions",
            post(revoke_other_sessions),
        )
        .route("/api/auth/update-user", post(update_user))
        .route("/api/auth/change-password", post(change_password))
        .route("/api/auth/change-email", post(change_email))
}

fn status_true() -> Json<serde_json::Value> {
    Json(json!({ "status": true }))
}

/// The caller's live sessions, most recently active first, with their
/// tokens (what `revoke-session` takes, as in Better Auth). Needs a session
/// signed in within the last day (403 `SESSION_NOT_FRESH`); a personal
/// access token gets 403 `SESSION_REQUIRED`.
#[utoipa::path(get, path = "/api/auth/list-sessions", tag = "auth",
    responses((status = 200, body = Vec<Session>), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<Session>>, ApiError> {
    Ok(Json(state.app.list_sessions(&actor).await?))
}

/// The body of `POST /api/auth/revoke-session`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeSessionBody {
    /// The token of one of the caller's sessions, as `list-sessions` shows it.
    #[schema(pattern = "^[A-Za-z0-9]{1,256}$")]
    token: String,
}

/// End one of the caller's sessions. Another user's token, or one that
/// does not exist, changes nothing and gets the same answer.
#[utoipa::path(post, path = "/api/auth/revoke-session", tag = "auth", request_body = RevokeSessionBody,
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<RevokeSessionBody>,
) -> Result<Response, ApiError> {
    if state.app.revoke_session(&actor, &body.token).await? {
        return Ok((identity::clear_session_cookie(&state)?, status_true()).into_response());
    }
    Ok(status_true().into_response())
}

/// End every session of the caller, this one included.
#[utoipa::path(post, path = "/api/auth/revoke-sessions", tag = "auth",
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke_sessions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ApiError> {
    state.app.revoke_sessions(&actor).await?;
    Ok((identity::clear_session_cookie(&state)?, status_true()).into_response())
}

/// End every session of the caller except this one.
#[utoipa::path(post, path = "/api/auth/revoke-other-sessions", tag = "auth",
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke_other_sessions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.app.revoke_other_sessions(&actor).await?;
    Ok(status_true())
}

/// `Some(value)` for a field that is present, `null` included, so that an
/// absent `image` (leave it) differs from `"image": null` (remove it).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The body of `POST /api/auth/update-user`: the fields to change.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUserBody {
    /// New display name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// New avatar URL, at most 2048 characters; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    image: Option<Option<String>>,
    /// Refused: an email changes through `change-email`, which proves the
    /// new address first.
    #[schema(value_type = Option<String>)]
    email: Option<serde_json::Value>,
}

/// Change the caller's display name or avatar. Answers `{"status": true}`
/// as Better Auth does; `get-session` shows the result.
#[utoipa::path(post, path = "/api/auth/update-user", tag = "auth", request_body = UpdateUserBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.email.is_some() {
        return Err(ApiError::BadRequest {
            code: "EMAIL_CAN_NOT_BE_UPDATED",
            message: "Email can not be updated: use change-email".into(),
        });
    }
    let image = body.image.as_ref().map(Option::as_deref);
    state
        .app
        .update_user(&actor, body.name.as_deref(), image)
        .await?;
    Ok(status_true())
}

/// The body of `POST /api/auth/change-password`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    #[schema(format = Password, max_length = 128)]
    current_password: String,
    /// 8 to 128 characters.
    #[schema(format = Password, min_length = 8, max_length = 128)]
    new_password: String,
    /// End every session (this one gets a fresh token) and revoke every
    /// personal access token.
    #[serde(default)]
    revoke_other_sessions: bool,
}

/// The answer to `POST /api/auth/change-password`: the user, and a fresh session token when the other sessions were revoked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangePasswordResponse {
    /// The fresh session token when `revokeOtherSessions` ended the old one
    /// (also set as a cookie and in `set-auth-token`); else null.
    token: Option<String>,
    user: User,
}

/// Change the caller's password, proving the current one (400
/// `INVALID_PASSWORD` when wrong). Needs a session: a personal access
/// token gets 403 `SESSION_REQUIRED`.
#[utoipa::path(post, path = "/api/auth/change-password", tag = "auth", request_body = ChangePasswordBody,
    responses((status = 200, body = ChangePasswordResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    state
        .auth
        .password_hashing
        .validate_new(&body.new_password)?;
    confirm_password(&state, &actor, body.current_password).await?;
    let hash = hash_blocking(&state, body.new_password).await?;
    state
        .app
        .change_password(&actor, &hash, body.revoke_other_sessions)
        .await?;
    let user = actor.user().clone();
    if !body.revoke_other_sessions {
        return Ok(Json(ChangePasswordResponse { token: None, user }).into_response());
    }
    let (session, session_headers) =
        identity::start_session(&state, &user, &headers, client).await?;
    Ok((
        session_headers,
        Json(ChangePasswordResponse {
            token: Some(session.token),
            user,
        }),
    )
        .into_response())
}

/// The body of `POST /api/auth/change-email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEmailBody {
    /// The new address; trimmed and lower-cased.
    #[schema(format = Email, max_length = 254)]
    new_email: String,
    /// Where the link should lead once the change is made: a path on this
    /// server or a URL on a trusted origin.
    #[serde(rename = "callbackURL")]
    #[schema(max_length = 2048)]
    callback_url: Option<String>,
}

/// Ask to move the account to a new address. A single-use link goes to the
/// new address; following it (`GET verify-email?token=`) makes the change,
/// verified. Until then nothing changes, and this session continues. The
/// answer is the same, at once, whether or not another account has the
/// address (then no link is sent). Needs a session.
#[utoipa::path(post, path = "/api/auth/change-email", tag = "auth", request_body = ChangeEmailBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn change_email(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<ChangeEmailBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let new_email = Email::parse(&body.new_email).map_err(|e| ApiError::invalid("newEmail", e))?;
    let callback = body
        .callback_url
        .as_deref()
        .map(|target| LinkTarget::parse(target, &state.auth.trusted_origins))
        .transpose()?;
    state.app.check_email_change(&actor, &new_email)?;
    let user = actor.user().clone();
    mail_after_response(&state, "email change", |state| async move {
        let expires_at = Utc::now() + LINK_VALIDITY;
        let Some(token) = state
            .app
            .issue_email_change_token(&user, &new_email, expires_at)
            .await?
        else {
            return Ok(());
        };
        let mut link = LinkTarget::path("/api/auth/verify-email").with_query("token", &token);
        if let Some(callback) = callback {
            link = link.with_query("callbackURL", &callback.to_string());
        }
        state.mailer.send(Message::new(
            new_email.as_str(),
            "Verify your new email",
            &format!("Make this your account's email: {link} (valid for one hour, once)"),
        ));
        Ok(())
    });
    Ok(status_true())
}

/// Check a password the signed-in caller typed again against their stored
/// hash, on the bounded hashing pool: 400 `INVALID_PASSWORD` when wrong.
/// The session requirement comes first ([`tenantry_app::App::password_hash_to_confirm`]),
/// so a PAT learns nothing about a guess.
pub(crate) async fn confirm_password(
    state: &AppState,
    actor: &tenantry_app::Actor,
    password: String,
) -> Result<(), ApiError> {
    let stored = state.app.password_hash_to_confirm(actor).await?;
    if exceeds_max_length(&password) {
        return Err(ApiError::from(INVALID_PASSWORD));
    }
    match with_hashing_permit(state, move || verify_password(&password, &stored)).await? {
        Ok(PasswordCheck::Valid { .. }) => Ok(()),
        Ok(PasswordCheck::Invalid) => Err(ApiError::from(INVALID_PASSWORD)),
        Err(e) => Err(ApiError::from(e)),
    }
}
