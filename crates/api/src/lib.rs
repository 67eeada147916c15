//! # tenantry-api: the HTTP API
//!
//! axum routes for Better Auth-compatible sign-up/sign-in and organizations,
//! personal access tokens, the tenant resources (projects, usage, members,
//! audit log), `/health` and `/openapi.json`. Handlers are translations:
//! parse the request, call `tenantry_app`, map the answer; every rule and
//! every tenant transaction lives there ([`extract::Scoped`] resolves the
//! caller's organization through it). No SQL lives here. [`limits`] applies
//! Better Auth's rate limits per client address and route.
//!
//! Binding and serving belong to `tenantry-server`, which composes
//! [`router`] with the MCP server; this crate offers the routes and their
//! state.
//!
//! An application's own route gets the caller and their organization from
//! the same extractors tenantry's routes use, and answers errors in the same
//! format ([`ApiError`]):
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Json, Router, routing::get};
//! use tenantry_api::extract::Scoped;
//! use tenantry_api::{ApiError, AppState, AuthSettings, LogMailer};
//!
//! /// Which organization the request acts in (a 401 or 403 before this runs
//! /// when the credential or the organization is wrong).
//! async fn current_organization(Scoped(actor): Scoped) -> Result<Json<String>, ApiError> {
//!     Ok(Json(actor.tenant().organization_id().to_string()))
//! }
//!
//! fn app(db: tenantry_app::Database) -> Router {
//!     let auth = AuthSettings::new(b"a secret of at least 32 characters".to_vec());
//!     let state = AppState::new(db, auth, Arc::new(LogMailer));
//!     let own: Router<AppState> = Router::new().route("/api/current-organization", get(current_organization));
//!     tenantry_api::router(state.clone()).merge(own.with_state(state))
//! }
//! ```

#![deny(missing_docs)]

pub mod error;
pub mod extract;
pub mod identity;
pub mod limits;
pub mod links;
pub mod mailer;
pub mod openapi;
pub mod origin;
pub mod pacing;
pub mod params;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use error::ApiError;
pub use limits::{RateLimits, TrustedProxies};
pub use mailer::{LogMailer, Mailer};
pub use state::{AppState, AuthSettings};
pub use tenantry_auth::password::PasswordHashing;

/// What an application built on tenantry adds to the HTTP API: its routes,
/// whose handlers take the same extractors ([`extract::Scoped`] for the
/// caller in their organization, [`extract::ApiJson`] for bodies) and
/// answer with the same [`ApiError`], and their OpenAPI paths, merged into
/// `/openapi.json`. The routes get every layer tenantry's own have: the
/// body limit, the abuse limits, the cookie-write origin check and tracing.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use tenantry_api::extract::Scoped;
/// use tenantry_api::{ApiError, ApiExtension, AppState};
///
/// async fn whoami(Scoped(actor): Scoped) -> Result<Json<String>, ApiError> {
///     Ok(Json(actor.membership().organization_id().to_string()))
/// }
///
/// let extension = ApiExtension {
///     routes: Router::<AppState>::new().route("/api/whoami", get(whoami)),
///     openapi: utoipa::openapi::OpenApi::default(),
/// };
/// ```
#[derive(Default)]
pub struct ApiExtension {
    /// The application's routes, over tenantry's state.
    pub routes: Router<AppState>,
    /// Their paths, e.g. `MyApiDoc::openapi()` from `#[derive(utoipa::OpenApi)]`.
    pub openapi: utoipa::openapi::OpenApi,
}

/// Every route, with shared state, limits and error fallbacks.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use tenantry_api::{AppState, AuthSettings, LogMailer};
/// # fn example(db: tenantry_app::Database) -> axum::Router {
/// let state = AppState::new(db, AuthSettings::new(b"a secret of at least 32 characters".to_vec()), Arc::new(LogMailer));
/// tenantry_api::router(state) // serve with axum::serve, or through tenantry-server
/// # }
/// ```
pub fn router(state: AppState) -> Router {
    router_with(state, ApiExtension::default())
}

/// [`router`] with an application's routes and OpenAPI paths merged in.
pub fn router_with(state: AppState, extension: ApiExtension) -> Router {
    let ApiExtension { routes, openapi } = extension;
    let document = Arc::new(openapi::document_with(openapi));
    Router::new()
        .merge(routes::auth::router())
        .merge(routes::account::router())
        .merge(routes::organization::router())
        .merge(routes::delete_user::router())
        .merge(routes::tokens::router())
        .merge(routes::projects::router())
        .merge(routes::usage::router())
        .merge(routes::members::router())
        .merge(routes::health::router())
        .merge(routes)
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { axum::Json(document.as_ref().clone()) }),
        )
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::guard_cookie_writes,
        ))
        // After routing (so it sees the route's pattern), before anything else.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.limits.trusted_proxies.clone()),
            limits::identify_client,
        ))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
