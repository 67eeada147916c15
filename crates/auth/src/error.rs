//! The one error type of `tenantry_auth`.

/// Everything that can go wrong in `tenantry_auth`.
///
/// Most variants are the caller's fault and map to a 4xx naming
/// [`field`](AuthError::field); [`is_internal`](AuthError::is_internal) picks
/// out the ones that are ours (a stored hash we cannot read, a hasher failure).
/// No variant carries a secret: messages are safe to log and to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The email address is not acceptable; the string says why.
    #[error("invalid email: {0}")]
    InvalidEmail(String),
    /// The password breaks the length policy; the string says how.
    #[error("weak password: {0}")]
    WeakPassword(String),
    /// The token does not have the shape of a token (prefix, length, alphabet).
    #[error("malformed token")]
    MalformedToken,
    /// The token has the right shape but its checksum does not match: a typo
    /// or a truncated copy, caught before any lookup.
    #[error("token checksum does not match")]
    BadChecksum,
    /// The stored password hash is in no format this crate can verify.
    #[error("unsupported password hash format")]
    UnsupportedHash,
    /// The password hasher itself failed (it should not).
    #[error("password hashing failed: {0}")]
    HashFailed(String),
}

impl AuthError {
    /// The input field the error is about: `"email"`, `"password"` or `"token"`.
    pub fn field(&self) -> &'static str {
        match self {
            AuthError::InvalidEmail(_) => "email",
            AuthError::WeakPassword(_) | AuthError::UnsupportedHash | AuthError::HashFailed(_) => {
                "password"
            }
            AuthError::MalformedToken | AuthError::BadChecksum => "token",
        }
    }

    /// True when the fault is on our side (stored data or the hasher), not in
    /// what the client sent: answer 500 and log, rather than 4xx.
    pub fn is_internal(&self) -> bool {
        matches!(self, AuthError::UnsupportedHash | AuthError::HashFailed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_names_its_field() {
        assert_eq!(AuthError::InvalidEmail("x".into()).field(), "email");
        assert_eq!(AuthError::WeakPassword("x".into()).field(), "password");
        assert_eq!(AuthError::UnsupportedHash.field(), "password");
        assert_eq!(AuthError::HashFailed("x".into()).field(), "password");
        assert_eq!(AuthError::MalformedToken.field(), "token");
        assert_eq!(AuthError::BadChecksum.field(), "token");
    }

    #[test]
    fn only_stored_data_and_hasher_failures_are_internal() {
        assert!(AuthError::UnsupportedHash.is_internal());
        assert!(AuthError::HashFailed("x".into()).is_internal());
        assert!(!AuthError::BadChecksum.is_internal());
        assert!(!AuthError::InvalidEmail("x".into()).is_internal());
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            AuthError::InvalidEmail("missing @".into()).to_string(),
            "invalid email: missing @"
        );
        assert_eq!(
            AuthError::BadChecksum.to_string(),
            "token checksum does not match"
        );
    }
}
