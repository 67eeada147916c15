//! Accounts: users with a password, their sessions, the signed-in user's
//! own profile, password and email, and the single-use tokens of emailed
//! links (password reset, email verification, email change).
//!
//! Hashing itself is the caller's (it is slow and belongs on a bounded
//! blocking pool); what is stored, and what a reset takes away, is here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenantry_auth::Email;
use tenantry_db::users::{self, NewSession, ProfileChange, Session, User};
use tenantry_domain::name::MAX_USER_NAME_CHARS;
use tenantry_domain::{BoundedName, UserId};

use crate::sessions::{require_fresh_session, require_session};
use crate::{Actor, App, AppError, Scope};

/// The longest accepted avatar URL.
pub const MAX_IMAGE_CHARS: usize = 2048;

/// What an emailed link is for; part of the stored identifier, so a token
/// issued for one purpose cannot be redeemed for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set a new password.
    ResetPassword,
    /// Prove the address is the user's.
    VerifyEmail,
    /// Move the account to a new address, proven by this link mailed there.
    ChangeEmail,
}

impl LinkPurpose {
    fn identifier(self, token: &str) -> String {
        match self {
            LinkPurpose::ResetPassword => format!("{}{token}", users::PASSWORD_RESET_PREFIX),
            LinkPurpose::VerifyEmail => format!("verify-email:{token}"),
            LinkPurpose::ChangeEmail => format!("{}{token}", users::EMAIL_CHANGE_PREFIX),
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

/// Link tokens are ours (`random_token`: ASCII letters and digits); the
/// shape is checked before the bare lookup, so nothing else reaches it.
fn check_link_shape(token: &str) -> Result<(), AppError> {
    if token.is_empty() || token.len() > 128 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(INVALID_LINK);
    }
    Ok(())
}

/// Better Auth's answer to a wrong current password.
pub const INVALID_PASSWORD: AppError = AppError::Refused {
    code: "INVALID_PASSWORD",
    message: "Invalid password",
};

/// What a change-email link carries in its `verification` row: whose
/// account, the address it had when the link was issued, and the new one
/// (`userId` is how a password change finds and ends it).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailChange {
    user_id: UserId,
    email: String,
    new_email: String,
}

/// What redeeming a `verify-email` link did.
#[derive(Clone, Debug)]
pub enum EmailLink {
    /// The user's current address is now verified.
    Verified(UserId),
    /// The user's address is now the new one, verified.
    Changed(User),
}

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
    /// Only while `verified` (the hash the password was checked against)
    /// is still the stored one, so a concurrent change or reset stands.
    pub async fn upgrade_password_hash(
        &self,
        user: UserId,
        verified: &str,
        password_hash: &str,
    ) -> Result<(), AppError> {
        Ok(users::update_password_hash(&self.db, user, verified, password_hash).await?)
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
        check_link_shape(token)?;
        users::consume_verification(&self.db, &purpose.identifier(token))
            .await?
            .and_then(|id| UserId::parse(&id).ok())
            .ok_or(INVALID_LINK)
    }

    /// Set a new password, ending every reset and change-email link. Every
    /// session ends, and every token goes too:
    /// whoever had the account may have minted some.
    pub async fn reset_password(&self, user: UserId, password_hash: &str) -> Result<(), AppError> {
        users::change_password(&self.db, user, password_hash).await?;
        users::delete_user_sessions(&self.db, user).await?;
        tenantry_db::pats::revoke_all_user_pats(&self.db, user).await?;
        Ok(())
    }

    /// Redeem a `verify-email` link, once: a verification link marks the
    /// address verified; a change-email link switches the account to the
    /// address it was mailed to. A change-email link issued before the
    /// address changed another way no longer applies.
    pub async fn verify_email_link(&self, token: &str) -> Result<EmailLink, AppError> {
        check_link_shape(token)?;
        match self
            .redeem_link_token(LinkPurpose::VerifyEmail, token)
            .await
        {
            Ok(user) => {
                users::mark_email_verified(&self.db, user).await?;
                return Ok(EmailLink::Verified(user));
            }
            Err(AppError::Refused { .. }) => {}
            Err(other) => return Err(other),
        }
        let value =
            users::consume_verification(&self.db, &LinkPurpose::ChangeEmail.identifier(token))
                .await?
                .ok_or(INVALID_LINK)?;
        let change: EmailChange = serde_json::from_str(&value)
            .map_err(|e| AppError::Internal(format!("stored email change not understood: {e}")))?;
        users::change_email(&self.db, change.user_id, &change.email, &change.new_email)
            .await?
            .map(EmailLink::Changed)
            .ok_or(INVALID_LINK)
    }

    /// Change the actor's display name and avatar (`image: Some(None)`
    /// removes it). Nothing to change is a refusal, as in Better Auth. A
    /// personal access token may do this: it is the profile, not a credential.
    pub async fn update_user(
        &self,
        actor: &Actor,
        name: Option<&str>,
        image: Option<Option<&str>>,
    ) -> Result<User, AppError> {
        actor.require_account(Scope::Write)?;
        if name.is_none() && image.is_none() {
            return Err(AppError::Refused {
                code: "NO_FIELDS_TO_UPDATE",
                message: "No fields to update: send name or image",
            });
        }
        let name = name
            .map(|name| BoundedName::parse("name", name, MAX_USER_NAME_CHARS))
            .transpose()?;
        if let Some(Some(image)) = image {
            if image.chars().count() > MAX_IMAGE_CHARS {
                return Err(AppError::invalid(
                    "image",
                    format!("must be at most {MAX_IMAGE_CHARS} characters"),
                ));
            }
            // PostgreSQL refuses NUL, and then the answer would name no field.
            if image.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "image",
                    "must not contain control characters",
                ));
            }
        }
        let change = ProfileChange {
            name: name.as_ref().map(BoundedName::as_str),
            image,
        };
        users::update_profile(&self.db, actor.user().id, change)
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    /// The actor's stored password hash, for the surface to check a typed
    /// password against before [`App::change_password`] or
    /// [`App::delete_account`] (hashing belongs on the surface's bounded
    /// pool). Needs a session, asked first: both take the account over or
    /// away, which a PAT must not, and a PAT must not learn whether a
    /// guessed password is right either.
    pub async fn password_hash_to_confirm(&self, actor: &Actor) -> Result<String, AppError> {
        require_session(actor)?;
        users::find_password_hash(&self.db, actor.user().id)
            .await?
            .ok_or(AppError::Refused {
                code: "CREDENTIAL_ACCOUNT_NOT_FOUND",
                message: "Credential account not found: this account has no password",
            })
    }

    /// Give the actor a new password (its current one was checked), ending
    /// every password-reset and change-email link. With `revoke_other_sessions`, every
    /// session ends, the current one too (the surface hands out a fresh
    /// one, as Better Auth does), and so does every personal access token:
    /// whoever asks to sign everyone else out suspects someone is in, and a
    /// token minted from an intruder's session outlives that session.
    /// Without it, sessions and tokens stay: a routine password rotation
    /// should not break the user's automation. (A reset always revokes
    /// both: there, the account may not have been in its owner's hands.)
    pub async fn change_password(
        &self,
        actor: &Actor,
        password_hash: &str,
        revoke_other_sessions: bool,
    ) -> Result<(), AppError> {
        require_session(actor)?;
        let user = actor.user().id;
        users::change_password(&self.db, user, password_hash).await?;
        if revoke_other_sessions {
            users::delete_user_sessions(&self.db, user).await?;
            tenantry_db::pats::revoke_all_user_pats(&self.db, user).await?;
        }
        Ok(())
    }

    /// Check that the actor may ask to move to `new_email`: a session signed
    /// in within [`crate::sessions::FRESH_AGE`] (the new address becomes the
    /// one password resets go to, so an old stolen cookie must not be
    /// enough to move the account away), and an address other than the
    /// current one. Whether the address is taken is not answered here: see
    /// [`App::issue_email_change_token`].
    pub fn check_email_change(&self, actor: &Actor, new_email: &Email) -> Result<(), AppError> {
        require_fresh_session(actor)?;
        if new_email.as_str() == actor.user().email {
            return Err(AppError::Refused {
                code: "EMAIL_IS_THE_SAME",
                message: "Email is the same",
            });
        }
        Ok(())
    }

    /// Store a single-use change-email token for `user`, to be mailed to
    /// `new_email`; nothing until it is redeemed. `None` when another
    /// account has that address: no link goes out, and the caller answers
    /// as if one did, so the request does not tell which addresses have
    /// accounts (as Better Auth does).
    pub async fn issue_email_change_token(
        &self,
        user: &User,
        new_email: &Email,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<String>, AppError> {
        if users::find_user_by_email(&self.db, new_email.as_str())
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let token = tenantry_auth::token::random_token(32);
        let value = serde_json::to_string(&EmailChange {
            user_id: user.id,
            email: user.email.clone(),
            new_email: new_email.as_str().to_owned(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        users::create_verification(
            &self.db,
            &LinkPurpose::ChangeEmail.identifier(&token),
            &value,
            expires_at,
        )
        .await?;
        Ok(Some(token))
    }

    /// The round trip of `SELECT 1`, within the health check's timeout.
    pub async fn check_database(&self) -> Result<std::time::Duration, AppError> {
        Ok(tenantry_db::check_database(&self.db).await?)
    }
}
