//! # tenantry-api: the HTTP API
//!
//! axum routes for Better Auth-compatible sign-up/sign-in and organizations,
//! personal access tokens, the tenant resources (projects, usage, members,
//! audit log), `/health` and `/openapi.json`. Handlers are translations:
//! parse the request, call `tenantry_app`, map the answer; every rule and
//! every tenant transaction lives there ([`extract::Scoped`] resolves the
//! caller's organization through it). No SQL lives here.
//!
//! ```no_run
//! # async fn example(db: tenantry_app::Database) -> std::io::Result<()> {
//! use tenantry_api::{Application, AuthSettings};
//! let app = Application::bind("127.0.0.1:0".parse().unwrap(), db, AuthSettings::new(b"secret".to_vec())).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until(std::future::pending()).await
//! # }
//! ```

pub mod error;
pub mod extract;
pub mod identity;
pub mod links;
pub mod mailer;
pub mod openapi;
pub mod origin;
pub mod params;
pub mod routes;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use tenantry_app::Database;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use mailer::{LogMailer, Mailer};
pub use state::{AppState, AuthSettings};

/// Every route, with shared state, limits and error fallbacks.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::auth::router())
        .merge(routes::organization::router())
        .merge(routes::tokens::router())
        .merge(routes::projects::router())
        .merge(routes::usage::router())
        .merge(routes::members::router())
        .merge(routes::health::router())
        .route(
            "/openapi.json",
            axum::routing::get(|| async { axum::Json(openapi::document()) }),
        )
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::guard_cookie_writes,
        ))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, ready-to-run server. Binding is separate from running so tests
/// (and `tenantry serve`) can learn the port first.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Bind `addr` (port 0 picks a free one) with the log mailer.
    pub async fn bind(addr: SocketAddr, db: Database, auth: AuthSettings) -> std::io::Result<Self> {
        Self::bind_with_mailer(addr, db, auth, Arc::new(LogMailer)).await
    }

    /// Bind with a mailer of the caller's choice.
    pub async fn bind_with_mailer(
        addr: SocketAddr,
        db: Database,
        auth: AuthSettings,
        mailer: Arc<dyn Mailer>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Application {
            listener,
            router: router(AppState::new(db, auth, mailer)),
        })
    }

    /// Serve `other` beside the API (the MCP server's `/mcp`).
    pub fn merge(mut self, other: Router) -> Self {
        self.router = self.router.merge(other);
        self
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serve until `shutdown` completes, then finish in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Small JSON responses must not wait for Nagle's algorithm: without
        // TCP_NODELAY a request/response pair can stall ~40 ms on delayed ACKs.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
