//! The signed-in user's own sessions: list them, end one, end all, end the
//! others (Better Auth's `list-sessions` and `revoke-*` routes).
//!
//! Every function here needs a session credential. A personal access token
//! is refused with [`SESSION_REQUIRED`]: the listing carries session tokens,
//! and a leaked PAT must not become the account's sessions, nor end the
//! owner's own sign-ins.

use chrono::Utc;
use tenantry_db::users::{self, Session};

use crate::{Actor, App, AppError};

/// How recent a sign-in must be to list sessions (Better Auth's
/// `session.freshAge`, 1 day): the listing hands out every session's token,
/// so a session stolen long after its sign-in cannot collect the others.
pub const FRESH_AGE: chrono::Duration = chrono::Duration::days(1);

/// The refusal of a personal access token where only a signed-in session
/// will do: the session routes, password and email changes, account and
/// organization deletion.
pub const SESSION_REQUIRED: AppError = AppError::Forbidden {
    code: "SESSION_REQUIRED",
    message: "sign in to do this: a personal access token cannot",
};

const SESSION_NOT_FRESH: AppError = AppError::Forbidden {
    code: "SESSION_NOT_FRESH",
    message: "Session is not fresh: sign in again",
};

/// The actor's session, or [`SESSION_REQUIRED`].
pub(crate) fn require_session<S>(actor: &Actor<S>) -> Result<&Session, AppError> {
    actor.session().ok_or(SESSION_REQUIRED)
}

/// The actor's session, or [`SESSION_REQUIRED`]; signed in within
/// [`FRESH_AGE`], or `SESSION_NOT_FRESH`.
pub(crate) fn require_fresh_session<S>(actor: &Actor<S>) -> Result<&Session, AppError> {
    let session = require_session(actor)?;
    if Utc::now() - session.created_at >= FRESH_AGE {
        return Err(SESSION_NOT_FRESH);
    }
    Ok(session)
}

/// Whether a string could be a session token we issued (ASCII letters and
/// digits, bounded), checked before the bare query.
fn check_session_token(token: &str) -> Result<(), AppError> {
    if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::invalid(
            "token",
            "must be a session token (1 to 256 ASCII letters and digits)",
        ));
    }
    Ok(())
}

impl App {
    /// The actor's live sessions, tokens included, most recently active
    /// first. The tokens are what [`App::revoke_session`] takes, as in
    /// Better Auth; only a fresh session may see them ([`FRESH_AGE`]).
    pub async fn list_sessions(&self, actor: &Actor) -> Result<Vec<Session>, AppError> {
        require_fresh_session(actor)?;
        Ok(users::list_live_sessions(&self.db, actor.user().id).await?)
    }

    /// End one of the actor's sessions by its token; `true` when it was the
    /// actor's current one. A token of someone else's session, or of none,
    /// changes nothing and answers the same as one that never existed.
    pub async fn revoke_session(&self, actor: &Actor, token: &str) -> Result<bool, AppError> {
        let current = require_session(actor)?;
        check_session_token(token)?;
        users::delete_own_session(&self.db, actor.user().id, token).await?;
        Ok(token == current.token)
    }

    /// End every session of the actor, the current one included.
    pub async fn revoke_sessions(&self, actor: &Actor) -> Result<(), AppError> {
        require_session(actor)?;
        users::delete_user_sessions(&self.db, actor.user().id).await?;
        Ok(())
    }

    /// End every session of the actor except the current one.
    pub async fn revoke_other_sessions(&self, actor: &Actor) -> Result<(), AppError> {
        let current = require_session(actor)?;
        users::delete_other_sessions(&self.db, actor.user().id, current.id).await?;
        Ok(())
    }
}
