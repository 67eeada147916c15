//! Accounts: users with a password, their sessions, and the single-use
//! tokens of emailed links (password reset, email verification).
//!
//! Hashing itself is the caller's (it is slow and belongs on a bounded
//! blocking pool); what is stored, and what a reset takes away, is here.

use chrono::{DateTime, Utc};
use tenantry_auth::Email;
use tenantry_db::users::{self, NewSession, Session, User};
use tenantry_domain::{BoundedName, UserId};

use crate::{Actor, App, AppError};

/// What an emailed link is for; part of the stored identifier, so a token
/// issued for one purpose cannot be redeemed for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set a new password.
    ResetPassword,
    /// Prove the address is the user's.
    VerifyEmail,
}

impl LinkPurpose {
    fn identifier(self, token: &str) -> String {
        match self {
            LinkPurpose::ResetPassword => format!("{}{token}", users::PASSWORD_RESET_PREFIX),
            LinkPurpose::VerifyEmail => format!("verify-email:{token}"),
        }
    }
}

/// Where a session was started from, as the client said (already truncated).
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionOrigin<'a> {
    /// The client's address.
    pub ip_address: Option<&'a str>,
    /// The client's user agent.
    pub user_agent: Option<&'a str>,
}

/// The refusal of a link token that is malformed, used or expired.
const INVALID_LINK: AppError = AppError::Refused {
    code: "INVALID_TOKEN",
    message: "the link is invalid, used or expired",
};

impl App {
    /// Create a user with an email/password credential; a taken email is a conflict.
    pub async fn create_user(
        &self,
        name: &BoundedName,
        email: &Email,
        password_hash: &str,
    ) -> Result<User, AppError> {
        Ok(users::create_user_with_password(&self.db, name, email.as_str(), password_hash).await?)
    }

    /// The user with this email and their stored password hash, if they have one.
    pub async fn credentials(&self, email: &Email) -> Result<Option<(User, String)>, AppError> {
        Ok(users::find_credentials(&self.db, email.as_str()).await?)
    }

    /// Replace a hash that verified but is due an upgrade (scrypt to argon2id).
    pub async fn upgrade_password_hash(
        &self,
        user: UserId,
        password_hash: &str,
    ) -> Result<(), AppError> {
        Ok(users::update_password_hash(&self.db, user, password_hash).await?)
    }

    /// The user with this email.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, AppError> {
        Ok(users::find_user_by_email(&self.db, email.as_str()).await?)
    }

    /// Start a session for `user` with a fresh random token, for the configured lifetime.
    pub async fn start_session(
        &self,
        user: &User,
        origin: SessionOrigin<'_>,
    ) -> Result<Session, AppError> {
        let token = tenantry_auth::token::random_token(tenantry_auth::token::SESSION_TOKEN_LEN);
        Ok(users::create_session(
            &self.db,
            NewSession {
                user_id: user.id,
                token: &token,
                expires_at: Utc::now() + self.settings.session_ttl,
                ip_address: origin.ip_address,
                user_agent: origin.user_agent,
                active_organization_id: None,
            },
        )
        .await?)
    }

    /// End the actor's session (a token caller has none to end).
    pub async fn end_session(&self, actor: &Actor) -> Result<(), AppError> {
        if let Some(session) = actor.session() {
            users::delete_session(&self.db, &session.token).await?;
        }
        Ok(())
    }

    /// Store a single-use token for `user` and `purpose`, valid until `expires_at`.
    pub async fn issue_link_token(
        &self,
        purpose: LinkPurpose,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let token = tenantry_auth::token::random_token(32);
        users::create_verification(
            &self.db,
            &purpose.identifier(&token),
            &user.id.to_string(),
            expires_at,
        )
        .await?;
        Ok(token)
    }

    /// Take back a token issued for `purpose`: once, before it expires.
    pub async fn redeem_link_token(
        &self,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<UserId, AppError> {
        // Link tokens are ours (`random_token`: ASCII letters and digits);
        // check the shape before the bare lookup, so nothing else reaches it.
        if token.is_empty()
            || token.len() > 128
            || !token.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(INVALID_LINK);
        }
        users::consume_verification(&self.db, &purpose.identifier(token))
            .await?
            .and_then(|id| UserId::parse(&id).ok())
            .ok_or(INVALID_LINK)
    }

    /// Set a new password. Every session ends, and every token goes too:
    /// whoever had the account may have minted some.
    pub async fn reset_password(&self, user: UserId, password_hash: &str) -> Result<(), AppError> {
        users::change_password(&self.db, user, password_hash).await?;
        users::delete_user_sessions(&self.db, user).await?;
        tenantry_db::pats::revoke_all_user_pats(&self.db, user).await?;
        Ok(())
    }

    /// Mark the user's email verified.
    pub async fn mark_email_verified(&self, user: UserId) -> Result<(), AppError> {
        Ok(users::mark_email_verified(&self.db, user).await?)
    }

    /// The round trip of `SELECT 1`, within the health check's timeout.
    pub async fn check_database(&self) -> Result<std::time::Duration, AppError> {
        Ok(tenantry_db::check_database(&self.db).await?)
    }
}
