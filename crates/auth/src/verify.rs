//! Checking a presented personal access token against the database.
//!
//! The one module of this crate that does I/O, through `tenantry-db`'s named
//! functions (the bare client, reason `UserScoped`): the HTTP API and the MCP
//! server both authenticate tokens here, so they refuse exactly the same ones.

use chrono::Utc;
use tenantry_db::users::User;
use tenantry_db::{Database, DbError, PatRecord, find_pat_with_owner, record_pat_use};

use crate::pat::{hash_matches, parse_pat};

/// A token that checked out, and whose it is.
#[derive(Clone, Debug)]
pub struct VerifiedPat {
    /// The token's owner.
    pub user: User,
    /// The stored token (id, expiry, last use).
    pub record: PatRecord,
}

/// Verify `token`: format and checksum first (garbage costs no query), then
/// the stored SHA-256 in constant time, then expiry and revocation, then that
/// the user still exists. `Ok(None)` for every kind of refusal, so callers
/// cannot tell them apart either; `Err` only when the database failed.
/// Records the use, at most once a minute.
pub async fn verify_pat(db: &Database, token: &str) -> Result<Option<VerifiedPat>, DbError> {
    let Ok(parsed) = parse_pat(token) else {
        return Ok(None);
    };
    let Some((record, user)) = find_pat_with_owner(db, parsed.lookup_prefix()).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    if !hash_matches(&parsed.hash(), &record.token_hash) || !record.is_live(now) {
        return Ok(None);
    }
    record_pat_use(db, &record, now).await?;
    Ok(Some(VerifiedPat { user, record }))
}
