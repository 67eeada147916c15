//! The one error type of the service layer.

use tenantry_auth::AuthError;
use tenantry_db::DbError;
use tenantry_domain::{InvalidInput, Scope};

/// What went wrong, in terms every surface can translate.
///
/// [`AppError::Db`] keeps the data layer's error whole (its conflicts,
/// refusals and outages each have their own answer); everything our own
/// fault is [`AppError::Internal`], whose text is for the log only.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that does not parse, naming the field.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as the client named it.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A rule refuses this caller.
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Why, for people.
        message: &'static str,
    },
    /// A rule refuses the request itself (a used link, say).
    #[error("{message}")]
    Refused {
        /// Stable code.
        code: &'static str,
        /// Why, for people.
        message: &'static str,
    },
    /// The caller's personal access token lacks this scope (a write with a
    /// read-only token): 403 naming the scope, a tool error over MCP.
    #[error("this token lacks the {0} scope")]
    MissingScope(Scope),
    /// It does not exist, or not for this caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Too many attempts from this client; try again once the window
    /// closes ([`crate::limits::Limited::retry_after_secs`] for `Retry-After`).
    #[error("too many requests; try again later")]
    TooManyRequests(crate::limits::Limited),
    /// The data layer's answer.
    #[error(transparent)]
    Db(DbError),
    /// Our fault; the cause is logged by the surface, never shown.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A refusal with the generic `FORBIDDEN` code.
    pub const fn forbidden(message: &'static str) -> Self {
        AppError::Forbidden {
            code: "FORBIDDEN",
            message,
        }
    }

    /// An [`AppError::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        AppError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// True when the caller can fix it (a 4xx, a tool error the agent can read).
    pub fn is_client_error(&self) -> bool {
        match self {
            AppError::InvalidInput { .. }
            | AppError::Forbidden { .. }
            | AppError::MissingScope(_)
            | AppError::Refused { .. }
            | AppError::NotFound(_)
            | AppError::TooManyRequests(_) => true,
            AppError::Db(e) => e.is_client_error(),
            AppError::Internal(_) => false,
        }
    }

    /// True when the database could not be reached in time: try again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Db(e) if e.is_unavailable())
    }
}

impl From<InvalidInput> for AppError {
    fn from(e: InvalidInput) -> Self {
        AppError::InvalidInput {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::InvalidInput { field, reason } => AppError::InvalidInput { field, reason },
            DbError::NotFound(what) => AppError::NotFound(what),
            DbError::Forbidden { code, message } => AppError::Forbidden { code, message },
            // Only a read-only tenant's transactions are read-only, and only a
            // token without `write` gets one: PostgreSQL refused what a
            // service function should have refused first.
            DbError::ReadOnly => AppError::MissingScope(Scope::Write),
            other => AppError::Db(other),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        if e.is_internal() {
            AppError::Internal(format!("{e:?}"))
        } else {
            AppError::InvalidInput {
                field: e.field(),
                reason: e.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hasher_failure_is_internal_and_a_bad_email_is_the_callers() {
        let hasher = AppError::from(AuthError::HashFailed("out of memory".into()));
        assert!(matches!(hasher, AppError::Internal(_)), "{hasher:?}");
        assert!(!hasher.is_client_error());
        assert_eq!(hasher.to_string(), "internal error");
        let stored = AppError::from(AuthError::UnsupportedHash);
        assert!(matches!(stored, AppError::Internal(_)), "{stored:?}");
        let email = AppError::from(AuthError::InvalidEmail("missing @".into()));
        assert!(
            matches!(email, AppError::InvalidInput { field: "email", .. }),
            "{email:?}"
        );
        assert!(email.is_client_error());
    }
}
