//! Each MCP session belongs to the personal access token that opened it.
//!
//! rmcp's session id is a bearer secret to rmcp: whoever sends it acts in the
//! session. A session holds state (the `switch_organization` choice) and can
//! be ended with `DELETE /mcp`, so another credential that learned the id
//! must not reach it. [`OwnedSessions`] wraps rmcp's in-memory session
//! manager and records the id of the token whose `initialize` opened each
//! session; [`require_owner`] answers any request that names a session owned
//! by another token (another user's, or another of the same user's) exactly
//! as it answers an unknown session: `404`.
//!
//! A session ended with `DELETE` is answered `204 No Content`: rmcp says
//! `202 Accepted`, which the MCP Python SDK reports as "Session termination
//! failed" (it takes 200 and 204), while rmcp's own client takes any 2xx.
//!
//! Bound to the token rather than the user: a user's two tokens are usually
//! two agents, and neither may steer or end the other's sessions.
//!
//! Memory stays bounded by the live sessions: an owner is forgotten when
//! rmcp closes the session, on `DELETE`, after `keep_alive` without a request
//! (rmcp's default, five minutes), when `initialize` never comes, or when the
//! session's handler stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::WorkerTransport;
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};
use rmcp::transport::streamable_http_server::{SessionId, SessionManager};
use uuid::Uuid;

use tenantry_app::Actor;

/// The header that names a session.
const SESSION_HEADER: &str = "mcp-session-id";

/// rmcp's answer to a request naming a session it does not hold; the
/// JSON-RPC guard turns it into a JSON-RPC error like any of rmcp's.
const SESSION_NOT_FOUND: &str = "Not Found: Session not found";

/// rmcp's in-memory sessions, each with the id of the token that opened it.
#[derive(Debug, Default)]
pub struct OwnedSessions {
    sessions: LocalSessionManager,
    owners: Mutex<HashMap<SessionId, Uuid>>,
}

impl OwnedSessions {
    /// Sessions that end after `idle` without a request (rmcp's default is
    /// five minutes).
    pub fn with_keep_alive(idle: Duration) -> Self {
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(idle);
        OwnedSessions {
            sessions,
            owners: Mutex::default(),
        }
    }

    /// How many sessions have an owner on record: the open ones.
    pub fn open(&self) -> usize {
        self.owners().len()
    }

    /// The id of the token that opened `session`.
    fn owner(&self, session: &str) -> Option<Uuid> {
        self.owners().get(session).copied()
    }

    fn owners(&self) -> MutexGuard<'_, HashMap<SessionId, Uuid>> {
        // The map stays consistent whatever panicked while holding it: every
        // change is a single insert or remove.
        self.owners.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a session could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// From rmcp's session manager.
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
    /// An `initialize` that did not pass [`crate::caller::require_pat`].
    #[error("a session is opened only with a personal access token")]
    NoCaller,
}

impl SessionManager for OwnedSessions {
    type Error = SessionError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        Ok(self.sessions.create_session().await?)
    }

    /// Records the owner before the client can learn the id (it travels in
    /// the answer to this request).
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let owner = match &message {
            JsonRpcMessage::Request(request) => request
                .request
                .extensions()
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Actor>())
                .and_then(Actor::pat_id)
                .map(|id| id.as_uuid()),
            _ => None,
        };
        let Some(owner) = owner else {
            // No one would ever be let into it: end it now rather than
            // when rmcp gives up waiting for its `initialize`.
            self.close_session(id).await?;
            return Err(SessionError::NoCaller);
        };
        self.owners().insert(id.clone(), owner);
        let initialized = self.sessions.initialize_session(id, message).await;
        // The session may have closed before its owner was recorded.
        if initialized.is_err() || !self.sessions.has_session(id).await? {
            self.owners().remove(id);
        }
        Ok(initialized?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.sessions.has_session(id).await?)
    }

    /// Called on `DELETE` and by rmcp whenever a session's handler stops
    /// (idle timeout included).
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.sessions.close_session(id).await;
        self.owners().remove(id);
        Ok(closed?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.sessions.create_stream(id, message).await?)
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.sessions.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.sessions.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.sessions.resume(id, last_event_id).await?)
    }

    // `restore_session` keeps its default, `NotSupported`: a session
    // re-created from outside would have no owner.
}

/// The axum middleware in front of rmcp's service: a request that names a
/// session must come with the token that opened it. Runs after
/// [`crate::caller::require_pat`], which put the [`Actor`] in the request.
pub async fn require_owner(
    State(sessions): State<Arc<OwnedSessions>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(session) = request.headers().get(SESSION_HEADER) else {
        return next.run(request).await;
    };
    let caller = request
        .extensions()
        .get::<Actor>()
        .and_then(Actor::pat_id)
        .map(|id| id.as_uuid());
    let owner = session.to_str().ok().and_then(|id| sessions.owner(id));
    match (owner, caller) {
        (Some(owner), Some(caller)) if owner == caller => {
            let delete = request.method() == Method::DELETE;
            let response = next.run(request).await;
            if delete && response.status() == StatusCode::ACCEPTED {
                // The session is closed: nothing is left to accept.
                let (mut parts, _) = response.into_parts();
                parts.status = StatusCode::NO_CONTENT;
                parts.headers.remove(axum::http::header::CONTENT_LENGTH);
                return Response::from_parts(parts, axum::body::Body::empty());
            }
            response
        }
        (Some(_), _) => {
            tracing::warn!(
                session = %short(session.as_bytes()),
                pat_id = ?caller,
                "refused a request in a session another token opened"
            );
            not_found()
        }
        (None, _) => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, SESSION_NOT_FOUND).into_response()
}

/// Enough of a session id to tell sessions apart in a log, too little to use.
fn short(id: &[u8]) -> String {
    String::from_utf8_lossy(&id[..id.len().min(8)]).into_owned()
}
