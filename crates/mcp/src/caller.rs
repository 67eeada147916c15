//! Who is calling, established before any MCP session exists.
//!
//! Over HTTP an axum middleware authenticates the personal access token on
//! every request (sessions never carry identity: a session id alone proves
//! nothing, and [`crate::sessions`] lets only the token that opened a session
//! into it) and resolves an `X-Organization-Id` header against membership.
//! Over stdio the token comes from `TENANTRY_TOKEN`, checked once at start.
//! Both hand the tools a [`tenantry_app::Actor`].

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tenantry_app::limits::{ClientAddress, ClientKey};
use tenantry_app::{Actor, App, AppError, Membership, OrganizationId, parse_bearer};

/// The actor of a request that named its organization (`X-Organization-Id`),
/// resolved by the middleware so the tool does not resolve it again.
#[derive(Clone, Debug)]
pub struct Requested(pub Actor<Membership>);

/// Why a request was refused before reaching the MCP service.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No usable bearer token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A malformed header.
    #[error("{0}")]
    BadRequest(&'static str),
    /// Too many refused credentials from this address lately; retry after
    /// this many seconds.
    #[error("Too many requests. Please try again later.")]
    TooManyRequests(u64),
    /// Not a member of the organization the header names.
    #[error("organization not found")]
    NotFound,
    /// The database failed.
    #[error("service unavailable")]
    Unavailable,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            Refusal::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Refusal::BadRequest(_) => (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
            Refusal::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS"),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        };
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut response = (status, axum::Json(body)).into_response();
        if let Refusal::TooManyRequests(seconds) = self {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            headers.insert("x-retry-after", HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn unavailable(error: AppError) -> Refusal {
    if let AppError::TooManyRequests(limited) = error {
        return Refusal::TooManyRequests(limited.retry_after_secs());
    }
    tracing::warn!(?error, "token or membership check failed");
    Refusal::Unavailable
}

/// Authenticate `token` (a PAT; session tokens are not accepted here).
pub async fn authenticate(app: &App, token: &str) -> Result<Actor, Refusal> {
    answer(app.verify_pat(token).await)
}

/// [`authenticate`] for a request from `client`, under the service layer's
/// failed-credential limit (shared with the HTTP API: both count in one App).
pub async fn authenticate_from(
    app: &App,
    client: ClientAddress,
    token: &str,
) -> Result<Actor, Refusal> {
    answer(app.verify_pat_from(ClientKey::from(client), token).await)
}

fn answer(verified: Result<Option<Actor>, AppError>) -> Result<Actor, Refusal> {
    verified.map_err(unavailable)?.ok_or(Refusal::Unauthorized(
        "invalid, expired or revoked personal access token",
    ))
}

/// The axum middleware in front of `/mcp`.
pub async fn require_pat(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let token = match parse_bearer(authorization) {
        Ok(Some(token)) => token.to_owned(),
        Ok(None) => {
            return Refusal::Unauthorized("send Authorization: Bearer <personal access token>")
                .into_response();
        }
        Err(_) => {
            return Refusal::Unauthorized("expected Authorization: Bearer <personal access token>")
                .into_response();
        }
    };
    let requested = match headers.get("x-organization-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => match OrganizationId::parse(text) {
            Ok(id) => Some(id),
            Err(_) => {
                return Refusal::BadRequest("X-Organization-Id must be a UUID").into_response();
            }
        },
        Some(Err(_)) => {
            return Refusal::BadRequest("X-Organization-Id must be a UUID").into_response();
        }
    };
    // Recorded by tenantry-server's `identify_client` in front of /mcp.
    let client = request
        .extensions()
        .get::<ClientAddress>()
        .copied()
        .unwrap_or(ClientAddress(None));
    let actor = match authenticate_from(&app, client, &token).await {
        Ok(actor) => actor,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(requested) = requested {
        match app.resolve(actor.clone(), Some(requested)).await {
            Ok(scoped) => {
                request.extensions_mut().insert(Requested(scoped));
            }
            Err(AppError::NotFound(_)) => return Refusal::NotFound.into_response(),
            Err(error) => return unavailable(error).into_response(),
        }
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}
