//! Personal access token queries: the seed's `pat-queries.ts`.
//!
//! Tokens belong to a user, not a tenant, so these run on the bare client
//! (reason `UserScoped`). Minting and verifying the secret is `tenantry-auth`'s
//! job; this module stores and finds what it hands over: a display prefix and
//! a SHA-256 hash, never the token.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{PatId, UserId};
use crate::statements::Query;
use crate::users::{USER_COLUMNS, User, user_from};
use tenantry_domain::{BoundedName, OrganizationId, Scopes};

/// Longest accepted token prefix.
pub const MAX_PAT_PREFIX_CHARS: usize = 64;
/// `last_used_at` is refreshed at most this often, so verifying a token on
/// every request does not write on every request.
pub const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// A token as listed to its owner: the seed's `listUserPATs` columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PatSummary {
    /// The token's id.
    pub id: Uuid,
    /// The owner's label for it.
    pub name: String,
    /// The non-secret start of the token, to recognise it by.
    pub token_prefix: String,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// What it may do: `["read"]` or `["read","write"]`.
    pub scopes: Scopes,
    /// The one organization it acts in, when bound to one.
    pub organization_id: Option<Uuid>,
}

/// What verifying a presented token needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatRecord {
    /// The token's id.
    pub id: Uuid,
    /// Whose token it is.
    pub user_id: UserId,
    /// SHA-256 of the whole token.
    pub token_hash: Vec<u8>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// What it may do.
    pub scopes: Scopes,
    /// The one organization it acts in, when bound to one.
    pub organization_id: Option<OrganizationId>,
}

impl PatRecord {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A token to store.
#[derive(Clone, Debug)]
pub struct NewPat<'a> {
    /// Whose token it is.
    pub user_id: UserId,
    /// The owner's label.
    pub name: &'a BoundedName,
    /// The non-secret start of the token.
    pub token_prefix: &'a str,
    /// SHA-256 of the whole token (32 bytes).
    pub token_hash: &'a [u8],
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do ([`Scopes::ALL`] is what every token could do before scopes).
    pub scopes: Scopes,
    /// The one organization it acts in, if bound. Whether the user belongs
    /// there is checked on every request, not here.
    pub organization_id: Option<OrganizationId>,
}

const PAT_SUMMARY_COLUMNS: &str =
    "id, name, token_prefix, last_used_at, expires_at, created_at, scopes, bound_organization_id";

/// The stored `scopes` column. The table's check constraint admits only
/// `{read}` and `{read,write}`; anything else would be a corrupted row, read
/// as the narrower set so that it fails closed.
fn scopes_from(row: &tokio_postgres::Row) -> Scopes {
    let names: Vec<String> = row.get("scopes");
    Scopes::parse(&names).unwrap_or(Scopes::READ_ONLY)
}

fn summary(row: &tokio_postgres::Row) -> PatSummary {
    PatSummary {
        id: row.get("id"),
        name: row.get("name"),
        token_prefix: row.get("token_prefix"),
        last_used_at: row.get("last_used_at"),
        expires_at: row.get("expires_at"),
        created_at: row.get("created_at"),
        scopes: scopes_from(row),
        organization_id: row.get("bound_organization_id"),
    }
}

/// The user's tokens that are not revoked, oldest first (the seed's `listUserPATs`).
pub async fn list_user_pats(db: &Database, user_id: UserId) -> Result<Vec<PatSummary>> {
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    let rows = conn
        .query(
            &format!(
                "select {PAT_SUMMARY_COLUMNS} from personal_access_token \
                 where user_id = $1 and revoked_at is null order by created_at, id"
            ),
            &[&user_id],
        )
        .await?;
    Ok(rows.iter().map(summary).collect())
}

/// Store a new token.
pub async fn create_pat(db: &Database, new: NewPat<'_>) -> Result<PatSummary> {
    let name = new.name.as_str();
    validate_pat_prefix(new.token_prefix)?;
    if new.token_hash.len() != 32 {
        return Err(DbError::invalid(
            "tokenHash",
            "must be a 32-byte SHA-256 digest",
        ));
    }
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    let row = conn
        .query_one(
            &format!(
                "insert into personal_access_token \
                 (user_id, name, token_prefix, token_hash, expires_at, scopes, bound_organization_id) \
                 values ($1, $2, $3, $4, $5, $6, $7) returning {PAT_SUMMARY_COLUMNS}"
            ),
            &[
                &new.user_id,
                &name,
                &new.token_prefix,
                &new.token_hash,
                &new.expires_at,
                &new.scopes.names(),
                &new.organization_id,
            ],
        )
        .await?;
    Ok(summary(&row))
}

/// Revoke one of the user's tokens. `false` when the user has no live token
/// with that id (someone else's token counts as none).
pub async fn revoke_pat(db: &Database, user_id: UserId, pat_id: PatId) -> Result<bool> {
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    let revoked = conn
        .execute(
            "update personal_access_token set revoked_at = now() \
             where id = $1 and user_id = $2 and revoked_at is null",
            &[&pat_id, &user_id],
        )
        .await?;
    Ok(revoked == 1)
}

/// Revoke every live token of a user (after a password reset: whoever took
/// over the account may have minted some). Returns how many.
pub async fn revoke_all_user_pats(db: &Database, user_id: UserId) -> Result<u64> {
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    conn
        .execute(
            "update personal_access_token set revoked_at = now() where user_id = $1 and revoked_at is null",
            &[&user_id],
        )
        .await
}

/// Find a token by its prefix, for verification. The caller compares the hash
/// in constant time and checks [`PatRecord::is_live`].
pub async fn find_pat_by_prefix(db: &Database, token_prefix: &str) -> Result<Option<PatRecord>> {
    validate_pat_prefix(token_prefix)?;
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    let row = conn
        .query_opt(
            &format!(
                "select {PAT_RECORD_COLUMNS} from personal_access_token p where p.token_prefix = $1"
            ),
            &[&token_prefix],
        )
        .await?;
    Ok(row.as_ref().map(pat_record_from))
}

/// [`find_pat_by_prefix`] and the token's owner in one query: what every
/// PAT-authenticated request needs, so it costs what a session lookup does.
pub async fn find_pat_with_owner(
    db: &Database,
    token_prefix: &str,
) -> Result<Option<(PatRecord, User)>> {
    validate_pat_prefix(token_prefix)?;
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    let row = conn
        .query_opt(
            &format!(
                "select {PAT_RECORD_COLUMNS}, {USER_COLUMNS} from personal_access_token p \
                 join \"user\" u on u.id = p.user_id where p.token_prefix = $1"
            ),
            &[&token_prefix],
        )
        .await?;
    Ok(row.map(|row| (pat_record_from(&row), user_from(&row))))
}

/// The token's own id is renamed so that it cannot clash with joined columns.
const PAT_RECORD_COLUMNS: &str = "p.id as pat_id, p.user_id, p.token_hash, p.last_used_at, \
     p.expires_at, p.revoked_at, p.scopes, p.bound_organization_id";

fn pat_record_from(row: &tokio_postgres::Row) -> PatRecord {
    PatRecord {
        id: row.get("pat_id"),
        user_id: row.get("user_id"),
        token_hash: row.get("token_hash"),
        last_used_at: row.get("last_used_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
        scopes: scopes_from(row),
        organization_id: row.get("bound_organization_id"),
    }
}

/// Note that a token was used at `now`. Skips the database entirely when the
/// recorded time is recent enough ([`LAST_USED_RESOLUTION`]); returns whether
/// it wrote.
pub async fn record_pat_use(db: &Database, pat: &PatRecord, now: DateTime<Utc>) -> Result<bool> {
    if pat
        .last_used_at
        .is_some_and(|at| now - at < LAST_USED_RESOLUTION)
    {
        return Ok(false);
    }
    let conn = client::bare(db, BypassReason::UserScoped).await?;
    // The condition repeats the check so concurrent requests write once.
    let written = conn
        .execute(
            "update personal_access_token set last_used_at = $2::timestamptz \
             where id = $1 and (last_used_at is null or last_used_at < $2::timestamptz - interval '1 minute')",
            &[&pat.id, &now],
        )
        .await?;
    Ok(written == 1)
}

fn validate_pat_prefix(prefix: &str) -> Result<()> {
    let well_formed = !prefix.is_empty()
        && prefix.len() <= MAX_PAT_PREFIX_CHARS
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(DbError::invalid("token", "malformed token prefix"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_short_ascii_words() {
        assert!(validate_pat_prefix("tnty_abc123").is_ok());
        assert!(validate_pat_prefix("").is_err());
        assert!(validate_pat_prefix("tnty_abc'--").is_err());
        assert!(validate_pat_prefix(&"a".repeat(65)).is_err());
    }

    #[test]
    fn liveness_respects_revocation_and_expiry() {
        let now = Utc::now();
        let mut pat = PatRecord {
            id: Uuid::nil(),
            user_id: UserId::from_uuid(Uuid::nil()),
            token_hash: vec![0; 32],
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
            scopes: Scopes::ALL,
            organization_id: None,
        };
        assert!(pat.is_live(now));
        pat.expires_at = Some(now - Duration::seconds(1));
        assert!(!pat.is_live(now));
        pat.expires_at = Some(now + Duration::days(1));
        pat.revoked_at = Some(now);
        assert!(!pat.is_live(now));
    }
}
