//! Personal access tokens: mint, list, revoke. The HTTP API and `tenantry
//! pat create` mint through the same function.
//!
//! Managing tokens is never a token's scope: only a signed-in session
//! mints, lists or revokes them, so an agent's token cannot widen itself,
//! outlive its revocation by minting another, or learn its siblings. A
//! token may revoke itself (an agent giving up its access).

use chrono::{Duration, Utc};
use tenantry_db::organizations;
use tenantry_db::pats::{self, NewPat, PatSummary};
use tenantry_domain::{BoundedName, OrganizationId, PatId, Scopes, UserId, name};

use crate::sessions::require_session;
use crate::{Actor, App, AppError};

/// Longest lifetime a token may be given.
pub const MAX_EXPIRES_IN_DAYS: i64 = 366;

/// What a new token may do, and where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenGrant {
    /// Its scopes; [`Scopes::ALL`] (today's behaviour) by default.
    pub scopes: Scopes,
    /// The one organization it is bound to; every organization of its user
    /// when `None`. The user must be a member there when it is made.
    pub organization_id: Option<OrganizationId>,
}

/// A token just made: the secret, shown this once, and what is stored of it.
#[derive(Clone, Debug)]
pub struct MintedToken {
    /// The whole token; only its hash is stored.
    pub token: String,
    /// Its stored, listable part.
    pub summary: PatSummary,
}

impl App {
    /// Mint a token for `actor`, who must be signed in with a session: a
    /// token cannot mint further tokens, which would outlive its own expiry
    /// or revocation.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        expires_in_days: Option<i64>,
        grant: TokenGrant,
    ) -> Result<MintedToken, AppError> {
        require_session(actor)?;
        self.mint_token(actor.user().id, name, expires_in_days, grant)
            .await
    }

    /// Mint and store a token for `user` (the CLI's `tenantry pat create`,
    /// whose operator is trusted with the database anyway). A token bound
    /// to an organization the user is not a member of is
    /// `NotFound("organization")`, as everywhere an outsider names one.
    pub async fn mint_token(
        &self,
        user: UserId,
        name: &str,
        expires_in_days: Option<i64>,
        grant: TokenGrant,
    ) -> Result<MintedToken, AppError> {
        let name = BoundedName::parse("name", name, name::MAX_PAT_NAME_CHARS)?;
        if let Some(organization) = grant.organization_id
            && organizations::resolve_tenant(&self.db, user, Some(organization))
                .await?
                .is_none()
        {
            return Err(AppError::NotFound("organization"));
        }
        let expires_at = match expires_in_days {
            None => None,
            Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
                Some(Utc::now() + Duration::days(days))
            }
            Some(_) => {
                return Err(AppError::invalid(
                    "expiresInDays",
                    format!("must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
                ));
            }
        };
        let minted = tenantry_auth::pat::mint_pat();
        let summary = pats::create_pat(
            &self.db,
            NewPat {
                user_id: user,
                name: &name,
                token_prefix: &minted.lookup_prefix,
                token_hash: &minted.hash,
                expires_at,
                scopes: grant.scopes,
                organization_id: grant.organization_id,
            },
        )
        .await?;
        Ok(MintedToken {
            token: minted.token,
            summary,
        })
    }

    /// The actor's live tokens (a session only).
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<PatSummary>, AppError> {
        require_session(actor)?;
        self.list_user_tokens(actor.user().id).await
    }

    /// `user`'s live tokens.
    pub async fn list_user_tokens(&self, user: UserId) -> Result<Vec<PatSummary>, AppError> {
        Ok(pats::list_user_pats(&self.db, user).await?)
    }

    /// Revoke one of the actor's tokens; another's, or none, is
    /// `NotFound("token")`. A session revokes any of its user's tokens; a
    /// token only itself.
    pub async fn revoke_token(&self, actor: &Actor, id: PatId) -> Result<(), AppError> {
        if actor.pat_id().is_some_and(|own| own != id) {
            return Err(AppError::forbidden(
                "a personal access token revokes only itself; manage other tokens from a signed-in session",
            ));
        }
        self.revoke_user_token(actor.user().id, id).await
    }

    /// Revoke one of `user`'s tokens.
    pub async fn revoke_user_token(&self, user: UserId, id: PatId) -> Result<(), AppError> {
        if pats::revoke_pat(&self.db, user, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("token"))
        }
    }
}
