//! Extractors: JSON bodies in our error format, the caller's identity, and
//! the organization a request acts in.
//!
//! Data flows one way: credential -> [`Identity`] -> [`TenantScope`] (a
//! checked membership) -> `with_tenant_context` in the handler.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use tenantry_db::users::{Session, User};
use tenantry_db::{Membership, OrganizationId};

use crate::error::ApiError;
use crate::identity;
use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// `axum::Json`, with malformed bodies reported in our error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest {
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "expected a JSON body with content-type: application/json".into(),
        },
        JsonRejection::JsonDataError(e) => ApiError::BadRequest {
            code: "INVALID_INPUT",
            message: e.body_text(),
        },
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest {
            code: "MALFORMED_JSON",
            message: e.body_text(),
        },
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge(BODY_LIMIT)
        }
        other => ApiError::BadRequest {
            code: "BAD_REQUEST",
            message: other.body_text(),
        },
    }
}

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A browser cookie or a session token as bearer.
    Session(Session),
    /// A personal access token.
    Pat {
        /// The token's id.
        id: uuid::Uuid,
    },
}

/// The authenticated caller. Rejects with 401 when absent or invalid.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Who.
    pub user: User,
    /// How.
    pub credential: Credential,
}

impl Identity {
    /// The session, when the caller used one.
    pub fn session(&self) -> Option<&Session> {
        match &self.credential {
            Credential::Session(session) => Some(session),
            Credential::Pat { .. } => None,
        }
    }
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        MaybeIdentity::from_request_parts(parts, state)
            .await?
            .0
            .ok_or(ApiError::Unauthorized("sign in or send a bearer token"))
    }
}

/// The caller if they sent a credential; a bad credential is still a 401.
#[derive(Clone, Debug)]
pub struct MaybeIdentity(pub Option<Identity>);

impl FromRequestParts<AppState> for MaybeIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<MaybeIdentity>() {
            return Ok(cached.clone());
        }
        let identity = match bearer_token(&parts.headers)? {
            Some(token) if token.starts_with(tenantry_auth::pat::PAT_PREFIX) => {
                Some(identity::verify_pat(state, token).await?)
            }
            Some(token) => Some(identity::verify_session_token(state, token, true).await?),
            None => match identity::session_cookie(&parts.headers) {
                Some(cookie) => identity::verify_session_token(state, &cookie, false)
                    .await?
                    .into(),
                None => None,
            },
        };
        let identity = MaybeIdentity(identity);
        parts.extensions.insert(identity.clone());
        Ok(identity)
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(ApiError::Unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(Some(token.trim()))
}

/// The header a PAT (or session) caller uses to pick an organization.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";

/// The organization a request acts in, checked against membership.
///
/// Sessions act in their active organization; a personal access token in the
/// one named by `X-Organization-Id`, else [`tenantry_db::resolve_organization_id`]'s
/// choice. A caller who is not a member gets 404: the organization's
/// existence is not confirmed to outsiders.
#[derive(Clone, Debug)]
pub struct TenantScope {
    /// Who.
    pub identity: Identity,
    /// Where, and with which role.
    pub membership: Membership,
}

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = Identity::from_request_parts(parts, state).await?;
        let requested = parts
            .headers
            .get(ORGANIZATION_HEADER)
            .map(|value| {
                value
                    .to_str()
                    .ok()
                    .and_then(|v| OrganizationId::parse(v).ok())
                    .ok_or_else(|| ApiError::invalid("X-Organization-Id", "must be a UUID"))
            })
            .transpose()?;
        let membership = membership_for(state, &identity, requested).await?;
        Ok(TenantScope {
            identity,
            membership,
        })
    }
}

/// The caller's membership of the requested organization, else of the
/// session's active one, else of their default (oldest). Non-members get
/// 404: an organization's existence is not confirmed to outsiders. The one
/// rule for tenant routes and the organization plugin's routes alike.
pub async fn membership_for(
    state: &AppState,
    identity: &Identity,
    requested: Option<OrganizationId>,
) -> Result<Membership, ApiError> {
    let requested = requested.or_else(|| identity.session().and_then(|s| s.active_organization_id));
    tenantry_db::resolve_tenant(&state.db, identity.user.id, requested)
        .await?
        .ok_or(ApiError::NotFound("organization"))
}
