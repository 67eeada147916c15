//! Better Auth's email/password routes, on Better Auth's paths and JSON
//! shapes, so a Better Auth client can sign up, sign in and read its session.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenantry_app::accounts::{EmailLink, LinkPurpose};
use tenantry_app::credentials::{MalformedBearer, parse_bearer};
use tenantry_app::{BoundedName, Session, User, UserId};
use tenantry_auth::email::Email;
use tenantry_auth::password::PasswordCheck;
use tenantry_domain::name::MAX_USER_NAME_CHARS;

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
use crate::identity;
use crate::limits::Client;
use crate::links::LinkTarget;
use crate::mailer::Message;
use crate::params::ApiQuery;
use crate::state::AppState;

/// How long password-reset and verification links stay valid.
pub(crate) const LINK_VALIDITY: chrono::Duration = chrono::Duration::hours(1);

/// Better Auth's email and password routes: sign-up, sign-in, sign-out, `get-session`, password reset and email verification.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/sign-up/email", post(sign_up))
        .route("/api/auth/sign-in/email", post(sign_in))
        .route("/api/auth/sign-out", post(sign_out))
        .route("/api/auth/get-session", get(get_session))
        .route(
            "/api/auth/request-password-reset",
            post(request_password_reset),
        )
        .route("/api/auth/reset-password", post(reset_password))
        .route(
            "/api/auth/send-verification-email",
            post(send_verification_email),
        )
        .route("/api/auth/verify-email", get(verify_email))
}

/// The body of `POST /api/auth/sign-up/email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpBody {
    /// Display name.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Email; trimmed and lower-cased.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// 8 to 128 characters.
    #[schema(format = Password, min_length = 8, max_length = 128)]
    password: String,
    /// Avatar URL.
    #[schema(max_length = 2048)]
    image: Option<String>,
    /// Accepted for compatibility; ignored.
    #[serde(rename = "callbackURL")]
    #[allow(dead_code)]
    callback_url: Option<String>,
    /// Accepted for compatibility; sessions always last the configured time.
    #[allow(dead_code)]
    remember_me: Option<bool>,
}

/// The answer to `POST /api/auth/sign-up/email`: the new session's token and the user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignUpResponse {
    /// The session token (also set as a cookie and in `set-auth-token`).
    token: String,
    user: User,
}

/// Create an account with email and password, and sign in.
#[utoipa::path(post, path = "/api/auth/sign-up/email", tag = "auth", request_body = SignUpBody,
    responses((status = 200, body = SignUpResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email)?;
    state.auth.password_hashing.validate_new(&body.password)?;
    if body.image.as_ref().is_some_and(|i| i.len() > 2048) {
        return Err(ApiError::invalid(
            "image",
            "must be at most 2048 characters",
        ));
    }
    let name = BoundedName::parse("name", &body.name, MAX_USER_NAME_CHARS)?;
    let hash = hash_blocking(&state, body.password).await?;
    let user = state.app.create_user(&name, &email, &hash).await?;
    let (session, session_headers) =
        identity::start_session(&state, &user, &headers, client).await?;
    Ok((
        session_headers,
        Json(SignUpResponse {
            token: session.token,
            user,
        }),
    )
        .into_response())
}

/// The body of `POST /api/auth/sign-in/email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInBody {
    email: String,
    password: String,
    #[serde(rename = "callbackURL")]
    #[allow(dead_code)]
    callback_url: Option<String>,
    #[allow(dead_code)]
    remember_me: Option<bool>,
}

/// The answer to `POST /api/auth/sign-in/email`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInResponse {
    /// Always false: no redirect for email sign-in.
    redirect: bool,
    /// The session token.
    token: String,
    /// Always null.
    url: Option<String>,
    user: User,
}

/// Sign in with email and password. A hash in the other format than the
/// configured one is rewritten: by default Better Auth's scrypt (an imported
/// user) becomes argon2id; with `--password-hash scrypt` (a database shared
/// with a Better Auth app) argon2id becomes scrypt and scrypt is kept.
#[utoipa::path(post, path = "/api/auth/sign-in/email", tag = "auth", request_body = SignInBody,
    responses((status = 200, body = SignInResponse), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    const REFUSED: ApiError = ApiError::Unauthorized("invalid email or password");
    let email = Email::parse(&body.email).map_err(|_| REFUSED)?;
    if tenantry_auth::password::exceeds_max_length(&body.password) {
        return Err(REFUSED);
    }
    let found = state.app.credentials(&email).await?;
    // Refusals are held to one pace from here (crate::pacing).
    let started = std::time::Instant::now();
    let Some((user, stored)) = found else {
        // Spend the time a real check would, so response times do not say
        // which emails have accounts.
        let _ = hash_blocking(&state, body.password).await;
        state.sign_in_pacing.hold_refusal(started).await;
        return Err(REFUSED);
    };
    let password = body.password.clone();
    let format = state.auth.password_hashing;
    let verified = stored.clone();
    let check = with_hashing_permit(&state, move || format.verify(&password, &stored)).await?;
    match check {
        Ok(PasswordCheck::Valid { needs_rehash }) => {
            if needs_rehash {
                let rehashed = hash_blocking(&state, body.password).await?;
                state
                    .app
                    .upgrade_password_hash(user.id, &verified, &rehashed)
                    .await?;
                tracing::info!(user_id = %user.id, %format, "password rehashed");
            }
        }
        Ok(PasswordCheck::Invalid) => {
            state.sign_in_pacing.hold_refusal(started).await;
            return Err(REFUSED);
        }
        // A stored hash we cannot read is our fault, not a wrong password.
        Err(e) => {
            tracing::error!(user_id = %user.id, error = ?e, "stored password hash not understood");
            return Err(ApiError::from(e));
        }
    }
    let (session, session_headers) =
        identity::start_session(&state, &user, &headers, client).await?;
    Ok((
        session_headers,
        Json(SignInResponse {
            redirect: false,
            token: session.token,
            url: None,
            user,
        }),
    )
        .into_response())
}

/// Run expensive password work on the blocking pool, a bounded number at a
/// time; a caller that waits too long gets 503 rather than piling up.
pub(crate) async fn with_hashing_permit<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = tokio::time::timeout(HASHING_WAIT, state.hashing.clone().acquire_owned())
        .await
        .map_err(|_| ApiError::Unavailable)?
        .map_err(|_| ApiError::Unavailable)?;
    let pacing = state.sign_in_pacing.clone();
    let result = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = work();
        pacing.record(started.elapsed());
        drop(permit);
        result
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(result)
}

/// How long a sign-in may wait for a hashing slot.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Hash a new password in the configured format (`AuthSettings::password_hashing`),
/// under the hashing permit: what every route that stores a password calls.
pub(crate) async fn hash_blocking(state: &AppState, password: String) -> Result<String, ApiError> {
    let format = state.auth.password_hashing;
    with_hashing_permit(state, move || format.hash(&password))
        .await?
        .map_err(ApiError::from)
}

/// End the current session.
#[utoipa::path(post, path = "/api/auth/sign-out", tag = "auth",
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ApiError> {
    state.app.end_session(&actor).await?;
    Ok((
        identity::clear_session_cookie(&state)?,
        Json(json!({ "success": true })),
    )
        .into_response())
}

/// The answer to `GET /api/auth/get-session`: the session and its user (`null` without one).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    session: Session,
    user: User,
}

/// The current session and user, or `null` when not signed in.
#[utoipa::path(get, path = "/api/auth/get-session", tag = "auth",
    responses((status = 200, body = Option<SessionResponse>)))]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Better Auth answers `null` (200) for a missing or stale session rather
    // than an error; only a database failure is an error here.
    let null = || Ok(Json(serde_json::Value::Null).into_response());
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let presented = match parse_bearer(authorization) {
        Ok(Some(token)) => Some((token.to_owned(), true)),
        // `Bearer` with nothing after it presents an empty (so stale) token.
        Err(MalformedBearer::NotBearer)
            if authorization
                .is_some_and(|v| v.len() >= 7 && v[..7].eq_ignore_ascii_case(b"bearer ")) =>
        {
            return null();
        }
        Ok(None) | Err(_) => identity::session_cookie(&headers).map(|c| (c, false)),
    };
    let Some((token, bearer)) = presented else {
        return null();
    };
    match identity::verify_session(&state, &token, bearer, client).await {
        Ok(actor) => {
            let session = actor.session().cloned().expect("a session credential");
            Ok(Json(SessionResponse {
                session,
                user: actor.user().clone(),
            })
            .into_response())
        }
        Err(ApiError::Unauthorized(_)) => null(),
        Err(other) => Err(other),
    }
}

/// Store a single-use token for `user`, valid for [`LINK_VALIDITY`].
async fn issue_link_token(
    state: &AppState,
    purpose: LinkPurpose,
    user: &User,
) -> Result<String, ApiError> {
    Ok(state
        .app
        .issue_link_token(purpose, user, Utc::now() + LINK_VALIDITY)
        .await?)
}

/// Take back a token issued for `purpose`: once, before it expires.
async fn redeem_link_token(
    state: &AppState,
    purpose: LinkPurpose,
    token: &str,
) -> Result<UserId, ApiError> {
    Ok(state.app.redeem_link_token(purpose, token).await?)
}

/// How long preparing one link mail may take before it is given up.
const LINK_MAIL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Answer now; look the address up, store its token and mail it after the
/// response, so that how long the answer takes does not say whether the
/// address has an account. Failures are logged: the caller has its answer.
pub(crate) fn mail_after_response<F>(
    state: &AppState,
    what: &'static str,
    job: impl FnOnce(AppState) -> F,
) where
    F: std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
{
    use tracing::Instrument;
    let Ok(permit) = state.link_mails.clone().try_acquire_owned() else {
        tracing::warn!(what, "too many link mails in flight; this one is not sent");
        return;
    };
    let job = job(state.clone());
    tokio::spawn(
        async move {
            // Bounded, so a stalled database cannot hold a permit for ever
            // and starve everyone else's mail.
            match tokio::time::timeout(LINK_MAIL_TIMEOUT, job).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(what, ?error, "link mail not sent"),
                Err(_) => tracing::warn!(what, "link mail not sent: timed out"),
            }
            drop(permit);
        }
        .in_current_span(),
    );
}

/// The body of `POST /api/auth/request-password-reset`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequest {
    email: String,
    /// Where the link in the email should lead: a path on this server or a
    /// URL on a trusted origin. The token is added to its query.
    #[schema(max_length = 2048)]
    redirect_to: Option<String>,
}

/// Email a single-use password-reset link. Answers the same, at once,
/// whether or not the email has an account; the mail follows.
#[utoipa::path(post, path = "/api/auth/request-password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn request_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let email = Email::parse(&body.email)?;
    let target = match &body.redirect_to {
        Some(target) => LinkTarget::parse(target, &state.auth.trusted_origins)?,
        None => LinkTarget::path("/reset-password"),
    };
    mail_after_response(&state, "password reset", |state| async move {
        let Some(user) = state.app.find_user_by_email(&email).await? else {
            return Ok(());
        };
        let token = issue_link_token(&state, LinkPurpose::ResetPassword, &user).await?;
        let link = target.with_query("token", &token);
        state.mailer.send(Message::new(
            &user.email,
            "Reset your password",
            &format!("Reset your password: {link} (valid for one hour, once)"),
        ));
        Ok(())
    });
    Ok(Json(json!({ "status": true })))
}

/// The body of `POST /api/auth/reset-password`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordBody {
    /// 8 to 128 characters.
    #[schema(format = Password, min_length = 8, max_length = 128)]
    new_password: String,
    /// The token from the emailed link.
    #[schema(pattern = "^[A-Za-z0-9]{1,128}$")]
    token: String,
}

/// Set a new password with a reset token; every session of the user ends.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth", request_body = ResetPasswordBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetPasswordBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .auth
        .password_hashing
        .validate_new(&body.new_password)?;
    let user_id = redeem_link_token(&state, LinkPurpose::ResetPassword, &body.token).await?;
    let hash = hash_blocking(&state, body.new_password).await?;
    state.app.reset_password(user_id, &hash).await?;
    Ok(Json(json!({ "status": true })))
}

/// The body of `POST /api/auth/send-verification-email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRequest {
    email: String,
    /// Where to go once verified: a path on this server or a URL on a
    /// trusted origin.
    #[serde(rename = "callbackURL")]
    #[schema(max_length = 2048)]
    callback_url: Option<String>,
}

/// Email a single-use link that verifies the address. Answers the same, at
/// once, whether or not the email has an account; the mail follows.
#[utoipa::path(post, path = "/api/auth/send-verification-email", tag = "auth", request_body = VerificationRequest,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn send_verification_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerificationRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let email = Email::parse(&body.email)?;
    let callback = body
        .callback_url
        .as_deref()
        .map(|target| LinkTarget::parse(target, &state.auth.trusted_origins))
        .transpose()?;
    mail_after_response(&state, "email verification", |state| async move {
        let Some(user) = state.app.find_user_by_email(&email).await? else {
            return Ok(());
        };
        if user.email_verified {
            return Ok(());
        }
        let token = issue_link_token(&state, LinkPurpose::VerifyEmail, &user).await?;
        let mut link = LinkTarget::path("/api/auth/verify-email").with_query("token", &token);
        if let Some(callback) = callback {
            link = link.with_query("callbackURL", &callback.to_string());
        }
        state.mailer.send(Message::new(
            &user.email,
            "Verify your email",
            &format!("Verify your email: {link}"),
        ));
        Ok(())
    });
    Ok(Json(json!({ "status": true })))
}

/// The query of `GET /api/auth/verify-email`, the link a verification email carries.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct VerifyEmailQuery {
    /// The token from the emailed link.
    #[param(pattern = "^[A-Za-z0-9]{1,128}$")]
    token: String,
}

/// Verify an email address with the token from the link, or switch to the
/// new address with the token of a change-email link.
#[utoipa::path(get, path = "/api/auth/verify-email", tag = "auth", params(VerifyEmailQuery),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn verify_email(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<VerifyEmailQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // A change-email link lands here too, as in Better Auth; it answers
    // with the user under their new address.
    match state.app.verify_email_link(&query.token).await? {
        EmailLink::Verified(_) => Ok(Json(json!({ "status": true }))),
        EmailLink::Changed(user) => Ok(Json(json!({ "status": true, "user": user }))),
    }
}
