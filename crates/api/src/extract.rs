//! Extractors: JSON bodies in our error format, the caller, and the
//! organization a request acts in.
//!
//! Data flows one way: credential -> [`Authenticated`] (a
//! [`tenantry_app::Actor`]) -> [`Scoped`] (the actor with a checked
//! membership) -> the service call in the handler.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tenantry_app::{Actor, Membership, OrganizationId};

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

/// The authenticated caller. Rejects with 401 when absent or invalid.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        MaybeAuthenticated::from_request_parts(parts, state)
            .await?
            .0
            .map(Authenticated)
            .ok_or(ApiError::Unauthorized("sign in or send a bearer token"))
    }
}

/// The caller if they sent a credential; a bad credential is still a 401.
#[derive(Clone, Debug)]
pub struct MaybeAuthenticated(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<MaybeAuthenticated>() {
            return Ok(cached.clone());
        }
        let client = crate::limits::Client::of(parts);
        let actor =
            MaybeAuthenticated(identity::authenticate(state, &parts.headers, client).await?);
        parts.extensions.insert(actor.clone());
        Ok(actor)
    }
}

/// The header a PAT (or session) caller uses to pick an organization.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";

/// The caller in the organization the request acts in, checked against
/// membership ([`tenantry_app::App::resolve`]): the one named by
/// `X-Organization-Id`, else the session's active one, else their default.
/// A caller who is not a member gets 404: the organization's existence is
/// not confirmed to outsiders.
#[derive(Clone, Debug)]
pub struct Scoped(pub Actor<Membership>);

impl FromRequestParts<AppState> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
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
        Ok(Scoped(state.app.resolve(actor, requested).await?))
    }
}
