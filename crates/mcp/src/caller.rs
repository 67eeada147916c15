//! Who is calling, established before any MCP session exists.
//!
//! Over HTTP an axum middleware authenticates the personal access token on
//! every request (sessions never carry identity: a session id alone proves
//! nothing, and [`crate::sessions`] lets only the token that opened a session
//! into it) and checks an `X-Organization-Id` header against membership.
//! Over stdio the token comes from `TENANTRY_TOKEN`, checked once at start.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tenantry_db::users::User;
use tenantry_db::{Database, OrganizationId};
use uuid::Uuid;

/// The authenticated user, and the organization their request names, if any.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Whose token it is.
    pub user: User,
    /// The token's id: an MCP session is bound to it.
    pub pat_id: Uuid,
    /// From `X-Organization-Id`, already checked against membership.
    pub organization: Option<OrganizationId>,
}

/// Why a request was refused before reaching the MCP service.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No usable bearer token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A malformed header.
    #[error("{0}")]
    BadRequest(&'static str),
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
            Refusal::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        };
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Authenticate `token` (a PAT; session tokens are not accepted here) and
/// check the requested organization.
pub async fn authenticate(
    db: &Database,
    token: &str,
    organization: Option<&str>,
) -> Result<Caller, Refusal> {
    const REFUSED: Refusal =
        Refusal::Unauthorized("invalid, expired or revoked personal access token");
    let verified = tenantry_auth::verify::verify_pat(db, token)
        .await
        .map_err(|e| {
            tracing::warn!(error = ?e, "token check failed");
            Refusal::Unavailable
        })?
        .ok_or(REFUSED)?;
    let organization = match organization {
        None => None,
        Some(text) => {
            let id = OrganizationId::parse(text)
                .map_err(|_| Refusal::BadRequest("X-Organization-Id must be a UUID"))?;
            tenantry_db::find_membership(db, verified.user.id, id)
                .await
                .map_err(|_| Refusal::Unavailable)?
                .ok_or(Refusal::NotFound)?;
            Some(id)
        }
    };
    Ok(Caller {
        pat_id: verified.record.id,
        user: verified.user,
        organization,
    })
}

/// The axum middleware in front of `/mcp`.
pub async fn require_pat(State(db): State<Database>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return Refusal::Unauthorized("send Authorization: Bearer <personal access token>")
            .into_response();
    };
    let token = match authorization.to_str().ok().and_then(|v| v.split_once(' ')) {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim().to_owned()
        }
        _ => {
            return Refusal::Unauthorized("expected Authorization: Bearer <personal access token>")
                .into_response();
        }
    };
    let organization = match headers.get("x-organization-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => Some(text.to_owned()),
        Some(Err(_)) => {
            return Refusal::BadRequest("X-Organization-Id must be a UUID").into_response();
        }
    };
    match authenticate(&db, &token, organization.as_deref()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
    }
}
