//! Reading a request's credential (the checks are `tenantry_app`'s), and
//! issuing sessions and their cookies.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::Cookie;
use tenantry_app::accounts::SessionOrigin;
use tenantry_app::credentials::{self, MalformedBearer, parse_bearer};
use tenantry_app::limits::{ClientAddress, ClientKey};
use tenantry_app::{Actor, Session, User};

use crate::error::ApiError;
use crate::state::AppState;

/// Better Auth's session cookie name.
pub const SESSION_COOKIE: &str = "better-auth.session_token";
/// The response header Better Auth's bearer plugin hands the token in.
pub const SET_AUTH_TOKEN: &str = "set-auth-token";

/// The caller of a request, if it presents a credential: a bearer token (a
/// personal access token or a session token), else the session cookie. A
/// credential that does not check out is a 401, never "no caller"; from an
/// address that has presented too many of those lately, any credential is a
/// 429 before it is looked up.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client: ClientAddress,
) -> Result<Option<Actor>, ApiError> {
    let bearer = parse_bearer(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes())).map_err(
        |malformed| match malformed {
            MalformedBearer::Unreadable => ApiError::Unauthorized("malformed Authorization header"),
            MalformedBearer::NotBearer => {
                ApiError::Unauthorized("expected Authorization: Bearer <token>")
            }
        },
    )?;
    match bearer {
        Some(token) if credentials::is_pat(token) => state
            .app
            .verify_pat_from(ClientKey::from(client), token)
            .await?
            .ok_or(ApiError::Unauthorized("invalid, expired or revoked token"))
            .map(Some),
        Some(token) => verify_session(state, token, true, client).await.map(Some),
        None => match session_cookie(headers) {
            Some(cookie) => verify_session(state, &cookie, false, client)
                .await
                .map(Some),
            None => Ok(None),
        },
    }
}

/// A session token, as a cookie value (signed) or a bearer token (signed or plain).
pub async fn verify_session(
    state: &AppState,
    presented: &str,
    bearer: bool,
    client: ClientAddress,
) -> Result<Actor, ApiError> {
    state
        .app
        .verify_session_from(ClientKey::from(client), presented, bearer)
        .await?
        .ok_or(ApiError::Unauthorized("invalid or expired session"))
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
/// The session records `client` ([`crate::limits::client_address`]), so a
/// forwarded address is believed only from a trusted proxy.
pub async fn start_session(
    state: &AppState,
    user: &User,
    request: &HeaderMap,
    client: ClientAddress,
) -> Result<(Session, HeaderMap), ApiError> {
    let user_agent = request
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let ip = client.0.map(|address| address.to_string());
    let origin = SessionOrigin {
        ip_address: ip.as_deref(),
        user_agent: user_agent.as_deref(),
    };
    let session = state.app.start_session(user, origin).await?;
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
