//! Users, credentials, sessions and verification tokens: the seed's "auth
//! bootstrap", global by nature, so on the bare client (reason `AuthBootstrap`).
//!
//! Column names follow Better Auth's schema; an email/password user has an
//! `account` row with `provider_id = 'credential'`, `account_id` = the user's id
//! and the password hash in `password`, as Better Auth writes it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{OrganizationId, UserId};
use crate::statements::Query;
use tenantry_domain::BoundedName;
use tenantry_domain::name::MAX_EMAIL_CHARS;

/// A user as Better Auth returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Normalised (lower-case) email.
    pub email: String,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Avatar URL.
    pub image: Option<String>,
    /// When the user signed up.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.name, u.email, u.email_verified, u.image, u.created_at, u.updated_at";

pub(crate) fn user_from(row: &tokio_postgres::Row) -> User {
    User {
        id: row.get("id"),
        name: row.get("name"),
        email: row.get("email"),
        email_verified: row.get("email_verified"),
        image: row.get("image"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Create a user with an email/password credential, in one transaction.
/// The email must already be normalised; a taken email is a
/// [`DbError::Conflict`] on `user_email_key`.
pub async fn create_user_with_password(
    db: &Database,
    name: &BoundedName,
    email: &str,
    password_hash: &str,
) -> Result<User> {
    let name = name.as_str();
    validate_email_length(email)?;
    let mut conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let tx = conn.connection_mut().transaction().await?;
    let row = tx
        .query_one(
            &format!(
                "insert into \"user\" as u (name, email) values ($1, $2) returning {USER_COLUMNS}"
            ),
            &[&name, &email],
        )
        .await?;
    let user = user_from(&row);
    tx.execute(
        "insert into account (user_id, account_id, provider_id, password) values ($1, $2, 'credential', $3)",
        &[&user.id, &user.id.to_string(), &password_hash],
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// The user with this id.
pub async fn find_user(db: &Database, user_id: UserId) -> Result<Option<User>> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            &format!("select {USER_COLUMNS} from \"user\" u where u.id = $1"),
            &[&user_id],
        )
        .await?;
    Ok(row.as_ref().map(user_from))
}

/// The user with this (normalised) email.
pub async fn find_user_by_email(db: &Database, email: &str) -> Result<Option<User>> {
    validate_email_length(email)?;
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            &format!("select {USER_COLUMNS} from \"user\" u where u.email = $1"),
            &[&email],
        )
        .await?;
    Ok(row.as_ref().map(user_from))
}

/// A user and their stored password hash, for signing in.
pub async fn find_credentials(db: &Database, email: &str) -> Result<Option<(User, String)>> {
    validate_email_length(email)?;
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            &format!(
                "select {USER_COLUMNS}, a.password from \"user\" u
                 join account a on a.user_id = u.id and a.provider_id = 'credential'
                 where u.email = $1 and a.password is not null"
            ),
            &[&email],
        )
        .await?;
    Ok(row.map(|row| (user_from(&row), row.get("password"))))
}

/// Replace a user's password hash with one of the same password (a rehash
/// into the configured format), only while the stored hash is still
/// `verified`, the one the password was checked against: a password change
/// or reset that committed meanwhile must not be undone by a hash of the
/// old password. A new password goes through [`change_password`].
pub async fn update_password_hash(
    db: &Database,
    user_id: UserId,
    verified: &str,
    password_hash: &str,
) -> Result<()> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "update account set password = $3, updated_at = now() \
         where user_id = $1 and provider_id = 'credential' and password = $2",
        &[&user_id, &verified, &password_hash],
    )
    .await?;
    Ok(())
}

/// The statement that writes a new password's hash (a change or a reset:
/// which account row, what else is touched, kept in one place).
const SET_PASSWORD: &str = "update account set password = $2, updated_at = now() \
     where user_id = $1 and provider_id = 'credential'";

/// The one statement that ends a user's password-reset links.
const END_RESET_LINKS: &str =
    "delete from verification where value = $1 and starts_with(identifier, $2)";

/// The stored password hash of a user, if they have a password.
pub async fn find_password_hash(db: &Database, user_id: UserId) -> Result<Option<String>> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            "select password from account
             where user_id = $1 and provider_id = 'credential' and password is not null",
            &[&user_id],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Where a password-reset link's token is stored: the `verification` row
/// whose `identifier` is this prefix and the token, and whose `value` is
/// the user's id.
pub const PASSWORD_RESET_PREFIX: &str = "reset-password:";

/// Where a change-email link's token is stored: the `verification` row
/// whose `identifier` is this prefix and the token, and whose `value` is a
/// JSON object naming the user's id as `userId` (and the addresses).
pub const EMAIL_CHANGE_PREFIX: &str = "change-email:";

/// Give a user a new password and end every password-reset and change-email
/// link they have been sent, in one transaction: a link mailed before the
/// change (to an inbox that may be the reason for it) must not undo it, and
/// an email change asked for from a session the owner is now locking out
/// must not hand the account to the intruder's address. Every password
/// change goes through here, a reset as much as a change by the signed-in
/// user; ending sessions is the caller's choice.
pub async fn change_password(db: &Database, user_id: UserId, password_hash: &str) -> Result<()> {
    let mut conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let tx = conn.connection_mut().transaction().await?;
    tx.execute(SET_PASSWORD, &[&user_id, &password_hash])
        .await?;
    tx.execute(
        END_RESET_LINKS,
        &[&user_id.to_string(), &PASSWORD_RESET_PREFIX],
    )
    .await?;
    tx.execute(
        "delete from verification
         where starts_with(identifier, $2) and (value::jsonb ->> 'userId') = $1",
        &[&user_id.to_string(), &EMAIL_CHANGE_PREFIX],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a profile update changes; `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProfileChange<'a> {
    /// A new display name (validated by the caller).
    pub name: Option<&'a str>,
    /// A new avatar URL, or `Some(None)` to remove it.
    pub image: Option<Option<&'a str>>,
}

/// Change a user's display name and avatar; the user as it now is.
pub async fn update_profile(
    db: &Database,
    user_id: UserId,
    change: ProfileChange<'_>,
) -> Result<Option<User>> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            &format!(
                "update \"user\" as u set name = coalesce($2, u.name),
                   image = case when $3 then $4 else u.image end, updated_at = now()
                 where u.id = $1 returning {USER_COLUMNS}"
            ),
            &[
                &user_id,
                &change.name,
                &change.image.is_some(),
                &change.image.flatten(),
            ],
        )
        .await?;
    Ok(row.as_ref().map(user_from))
}

/// Switch a user's email to `new_email`, verified (whoever redeemed the link
/// mailed there reads that inbox), provided it is still `old_email`: a link
/// issued before another change must not apply on top of it. Password-reset
/// links mailed to the old address end in the same transaction, so the old
/// inbox cannot take the account back. `None` when the user or the old
/// email is gone; a taken new email is a [`DbError::Conflict`] on
/// `user_email_key`.
pub async fn change_email(
    db: &Database,
    user_id: UserId,
    old_email: &str,
    new_email: &str,
) -> Result<Option<User>> {
    validate_email_length(old_email)?;
    validate_email_length(new_email)?;
    let mut conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let tx = conn.connection_mut().transaction().await?;
    let row = tx
        .query_opt(
            &format!(
                "update \"user\" as u set email = $3, email_verified = true, updated_at = now()
                 where u.id = $1 and u.email = $2 returning {USER_COLUMNS}"
            ),
            &[&user_id, &old_email, &new_email],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    tx.execute(
        END_RESET_LINKS,
        &[&user_id.to_string(), &PASSWORD_RESET_PREFIX],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(user_from(&row)))
}

/// Mark a user's email as verified.
pub async fn mark_email_verified(db: &Database, user_id: UserId) -> Result<()> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "update \"user\" set email_verified = true, updated_at = now() where id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// A sign-in session, as Better Auth stores and returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The session's id.
    pub id: Uuid,
    /// The bearer secret. Never logged.
    pub token: String,
    /// Whose session it is.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    /// When it stops working unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    pub updated_at: DateTime<Utc>,
    /// Client address at sign-in.
    pub ip_address: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// The organization requests act in (Better Auth's organization plugin).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub active_organization_id: Option<OrganizationId>,
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session {} of user {}", self.id, self.user_id)
    }
}

const SESSION_COLUMNS: &str = "s.id, s.token, s.user_id, s.expires_at, s.created_at, s.updated_at, \
     s.ip_address, s.user_agent, s.active_organization_id";

fn session_from(row: &tokio_postgres::Row) -> Session {
    Session {
        id: row.get("id"),
        token: row.get("token"),
        user_id: row.get("user_id"),
        expires_at: row.get("expires_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        ip_address: row.get("ip_address"),
        user_agent: row.get("user_agent"),
        active_organization_id: row.get("active_organization_id"),
    }
}

/// What a new session needs.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// Whose session.
    pub user_id: UserId,
    /// The random bearer secret.
    pub token: &'a str,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Client address.
    pub ip_address: Option<&'a str>,
    /// Client user agent (truncated by the caller).
    pub user_agent: Option<&'a str>,
    /// Initial active organization.
    pub active_organization_id: Option<OrganizationId>,
}

/// Store a new session.
pub async fn create_session(db: &Database, new: NewSession<'_>) -> Result<Session> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_one(
            &format!(
                "insert into session as s (user_id, token, expires_at, ip_address, user_agent, active_organization_id)
                 values ($1, $2, $3, $4, $5, $6) returning {SESSION_COLUMNS}"
            ),
            &[
                &new.user_id,
                &new.token,
                &new.expires_at,
                &new.ip_address,
                &new.user_agent,
                &new.active_organization_id,
            ],
        )
        .await?;
    Ok(session_from(&row))
}

/// The live (unexpired) session with this token, and its user.
pub async fn find_live_session(db: &Database, token: &str) -> Result<Option<(Session, User)>> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            &format!(
                "select {SESSION_COLUMNS}, {USER_COLUMNS} from session s join \"user\" u on u.id = s.user_id
                 where s.token = $1 and s.expires_at > now()"
            ),
            &[&token],
        )
        .await?;
    Ok(row.map(|row| {
        let session = session_from(&row);
        // The join repeats column names; the user's come after the session's.
        let user = User {
            id: row.get(9),
            name: row.get(10),
            email: row.get(11),
            email_verified: row.get(12),
            image: row.get(13),
            created_at: row.get(14),
            updated_at: row.get(15),
        };
        (session, user)
    }))
}

/// Push a session's expiry forward.
pub async fn refresh_session(
    db: &Database,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "update session set expires_at = $2, updated_at = now() where id = $1",
        &[&session_id, &expires_at],
    )
    .await?;
    Ok(())
}

/// Set (or clear) the organization a session acts in. The caller has
/// checked membership.
pub async fn set_active_organization(
    db: &Database,
    session_id: Uuid,
    organization_id: Option<OrganizationId>,
) -> Result<()> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "update session set active_organization_id = $2, updated_at = now() where id = $1",
        &[&session_id, &organization_id],
    )
    .await?;
    Ok(())
}

/// End a session. `false` when there was none.
pub async fn delete_session(db: &Database, token: &str) -> Result<bool> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    Ok(conn
        .execute("delete from session where token = $1", &[&token])
        .await?
        == 1)
}

/// End every session of a user (after a password reset, or when they ask).
pub async fn delete_user_sessions(db: &Database, user_id: UserId) -> Result<u64> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute("delete from session where user_id = $1", &[&user_id])
        .await
}

/// The most sessions one listing returns, so the answer stays bounded for a
/// user whose client signs in on every run; the rest still end with
/// [`delete_user_sessions`].
pub const MAX_LISTED_SESSIONS: i64 = 1000;

/// A user's live (unexpired) sessions, most recently active first.
pub async fn list_live_sessions(db: &Database, user_id: UserId) -> Result<Vec<Session>> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let rows = conn
        .query(
            &format!(
                "select {SESSION_COLUMNS} from session s
                 where s.user_id = $1 and s.expires_at > now()
                 order by s.updated_at desc limit $2"
            ),
            &[&user_id, &MAX_LISTED_SESSIONS],
        )
        .await?;
    Ok(rows.iter().map(session_from).collect())
}

/// End the session with this token if it is `user_id`'s; someone else's
/// token is left alone, and the answer (`false`) is the same as for a
/// token that does not exist.
pub async fn delete_own_session(db: &Database, user_id: UserId, token: &str) -> Result<bool> {
    if token.is_empty() || token.len() > 256 {
        return Ok(false);
    }
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    Ok(conn
        .execute(
            "delete from session where token = $1 and user_id = $2",
            &[&token, &user_id],
        )
        .await?
        == 1)
}

/// End every session of a user but `keep`.
pub async fn delete_other_sessions(db: &Database, user_id: UserId, keep: Uuid) -> Result<u64> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "delete from session where user_id = $1 and id <> $2",
        &[&user_id, &keep],
    )
    .await
}

/// Store a single-use verification value (email verification, password
/// reset) under `identifier` until `expires_at`.
pub async fn create_verification(
    db: &Database,
    identifier: &str,
    value: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    conn.execute(
        "insert into verification (identifier, value, expires_at) values ($1, $2, $3)",
        &[&identifier, &value, &expires_at],
    )
    .await?;
    Ok(())
}

/// Take the value stored under `identifier`, once: it is deleted in the same
/// statement, and an expired one is never returned.
pub async fn consume_verification(db: &Database, identifier: &str) -> Result<Option<String>> {
    if identifier.len() > 512 {
        return Ok(None);
    }
    let conn = client::bare(db, BypassReason::AuthBootstrap).await?;
    let row = conn
        .query_opt(
            "with taken as (delete from verification where identifier = $1 returning value, expires_at)
             select value from taken where expires_at > now() limit 1",
            &[&identifier],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

fn validate_email_length(email: &str) -> Result<()> {
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(DbError::invalid("email", "must be 1 to 254 characters"));
    }
    Ok(())
}
