//! Turning credentials into an identity: session tokens (cookie or bearer)
//! and personal access tokens. Also issuing sessions and their cookies.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::Utc;
use cookie::Cookie;
use tenantry_db::users::{NewSession, Session, User};

use crate::error::ApiError;
use crate::extract::{Credential, Identity};
use crate::state::AppState;

/// Better Auth's session cookie name.
pub const SESSION_COOKIE: &str = "better-auth.session_token";
/// The response header Better Auth's bearer plugin hands the token in.
pub const SET_AUTH_TOKEN: &str = "set-auth-token";

/// Verify a personal access token (see `tenantry_auth::verify`); every
/// refusal is the same 401.
pub async fn verify_pat(state: &AppState, token: &str) -> Result<Identity, ApiError> {
    let verified = tenantry_auth::verify::verify_pat(&state.db, token)
        .await?
        .ok_or(ApiError::Unauthorized("invalid, expired or revoked token"))?;
    Ok(Identity {
        user: verified.user,
        credential: Credential::Pat {
            id: verified.record.id,
        },
    })
}

/// Verify a session token. A cookie value must carry a valid signature; a
/// bearer token may be signed (what Better Auth's bearer plugin hands out)
/// or plain. Sessions past the refresh age are extended.
pub async fn verify_session_token(
    state: &AppState,
    presented: &str,
    bearer: bool,
) -> Result<Identity, ApiError> {
    const REFUSED: ApiError = ApiError::Unauthorized("invalid or expired session");
    // Better Auth's bearer plugin accepts the signed value (encoded or not)
    // and the raw token; a cookie must be signed.
    let token =
        match tenantry_auth::token::verify_signed_cookie_value(presented, &state.auth.secret) {
            Some(token) => token,
            None if bearer && presented.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                presented.to_owned()
            }
            None => return Err(REFUSED),
        };
    let (session, user) = tenantry_db::users::find_live_session(&state.db, &token)
        .await?
        .ok_or(REFUSED)?;
    let session = refresh_if_due(state, session).await?;
    Ok(Identity {
        user,
        credential: Credential::Session(session),
    })
}

async fn refresh_if_due(state: &AppState, mut session: Session) -> Result<Session, ApiError> {
    let now = Utc::now();
    let due_at = session.expires_at - state.auth.session_ttl + state.auth.session_refresh_after;
    if now >= due_at {
        let expires_at = now + state.auth.session_ttl;
        tenantry_db::users::refresh_session(&state.db, session.id, expires_at).await?;
        session.expires_at = expires_at;
        session.updated_at = now;
    }
    Ok(session)
}

/// The session cookie's (signed) value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// Start a session for `user` and return it with the headers that hand it to
/// the client: the signed cookie, and `set-auth-token` for bearer clients.
pub async fn start_session(
    state: &AppState,
    user: &User,
    request: &HeaderMap,
) -> Result<(Session, HeaderMap), ApiError> {
    let token = tenantry_auth::token::random_token(tenantry_auth::token::SESSION_TOKEN_LEN);
    let user_agent = request
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let ip = request
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|ip| ip.trim().chars().take(64).collect::<String>());
    let session = tenantry_db::users::create_session(
        &state.db,
        NewSession {
            user_id: user.id,
            token: &token,
            expires_at: Utc::now() + state.auth.session_ttl,
            ip_address: ip.as_deref(),
            user_agent: user_agent.as_deref(),
            active_organization_id: None,
        },
    )
    .await?;
    let headers = session_headers(state, &session.token)?;
    Ok((session, headers))
}

/// `Set-Cookie` and `set-auth-token` for a session token.
pub fn session_headers(state: &AppState, token: &str) -> Result<HeaderMap, ApiError> {
    // The cookie carries Better Auth's URL-encoded signed value; the header
    // carries it unencoded, as Better Auth's bearer plugin does.
    let signature = tenantry_auth::token::cookie_signature(token, &state.auth.secret);
    let signed = format!("{token}.{signature}");
    let cookie = Cookie::build((
        SESSION_COOKIE,
        tenantry_auth::token::sign_cookie_value(token, &state.auth.secret),
    ))
    .path("/")
    .http_only(true)
    .same_site(cookie::SameSite::Lax)
    .secure(state.auth.secure_cookies)
    .max_age(cookie::time::Duration::seconds(
        state.auth.session_ttl.num_seconds(),
    ))
    .build();
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, header_value(&cookie.to_string())?);
    headers.insert(SET_AUTH_TOKEN, header_value(&signed)?);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(SET_AUTH_TOKEN),
    );
    Ok(headers)
}

/// A `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> Result<HeaderMap, ApiError> {
    let cookie = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(state.auth.secure_cookies)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, header_value(&cookie.to_string())?);
    Ok(headers)
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(|e| ApiError::Internal(format!("header value: {e}")))
}
