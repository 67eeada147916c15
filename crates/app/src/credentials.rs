//! Who acts, and where: the one bearer parser, personal access token and
//! session verification, and membership resolution.
//!
//! Data flows one way: a presented credential -> [`Actor`] (a user and how
//! they proved it) -> [`Actor<Membership>`] (checked against membership, via
//! [`App::resolve`]) -> the tenant transaction inside a service function.

use chrono::Utc;
use tenantry_auth::pat::{PAT_PREFIX, hash_matches, parse_pat};
use tenantry_db::users::{Session, User};
use tenantry_db::{Membership, Tenant};
use tenantry_db::{organizations, pats};
use tenantry_domain::{MemberRole, OrganizationId, PatId, Scope, Scopes};

use crate::limits::{Bucket, ClientKey, Rule};
use crate::{App, AppError};

/// The default of [`crate::Settings::failed_credentials`]: ten refused
/// credentials a minute from one address. A client whose token went stale
/// fails once and signs in again, and a retry loop with any backoff makes a
/// handful a minute; a guessing run makes thousands, and from the eleventh
/// on each costs no query. Behind one NAT, a broken client can hold its
/// neighbours' credentials off for at most a minute.
pub const FAILED_CREDENTIALS: Rule = Rule::new(10, std::time::Duration::from_secs(60));

const FAILED_CREDENTIAL_BUCKET: Bucket = 0;

/// How the actor proved who they are.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A browser cookie or a session token as bearer.
    Session(Session),
    /// A personal access token, and what it grants.
    Pat(PatGrant),
}

/// What a personal access token grants, as stored with it: read or read
/// and write, and optionally one organization. Read once per request with
/// the token; the user's membership is still checked per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatGrant {
    /// The token's id.
    pub id: PatId,
    /// What it may do.
    pub scopes: Scopes,
    /// The one organization it acts in, when bound.
    pub organization_id: Option<OrganizationId>,
}

/// The refusal of work on the account, or in organizations other than its
/// own, to a token bound to one organization.
const BOUND_TOKEN: AppError = AppError::Forbidden {
    code: "TOKEN_BOUND_TO_ORGANIZATION",
    message: "this token is bound to one organization: it acts only there, and not on the account",
};

/// Someone acting: a user, how they proved it, and (`S = Membership`) the
/// organization they act in, checked. The same type for every surface;
/// only [`App::verify_pat`], [`App::verify_session`] and [`App::resolve`]
/// make one.
#[derive(Clone, Debug)]
pub struct Actor<S = ()> {
    user: User,
    credential: Credential,
    scope: S,
}

impl<S> Actor<S> {
    /// Who.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// How.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The session, when the actor used one.
    pub fn session(&self) -> Option<&Session> {
        match &self.credential {
            Credential::Session(session) => Some(session),
            Credential::Pat(_) => None,
        }
    }

    /// What the personal access token grants, when the actor used one.
    pub fn pat(&self) -> Option<&PatGrant> {
        match &self.credential {
            Credential::Pat(grant) => Some(grant),
            Credential::Session(_) => None,
        }
    }

    /// The token's id, when the actor used a personal access token.
    pub fn pat_id(&self) -> Option<PatId> {
        self.pat().map(|grant| grant.id)
    }

    /// What the actor may do: a session everything, a token its scopes.
    pub fn scopes(&self) -> Scopes {
        self.pat().map_or(Scopes::ALL, |grant| grant.scopes)
    }

    /// The organization the actor's token is bound to, if it is.
    pub fn bound_organization(&self) -> Option<OrganizationId> {
        self.pat().and_then(|grant| grant.organization_id)
    }

    /// `Ok` when the actor holds `scope`, else [`AppError::MissingScope`]
    /// naming it. Service functions that write call this first, so the
    /// refusal comes before any work; a read-only token's tenant work runs
    /// in read-only transactions besides, so a write that skips this check
    /// is refused by PostgreSQL with the same error.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.scopes().contains(scope) {
            Ok(())
        } else {
            Err(AppError::MissingScope(scope))
        }
    }

    /// [`Actor::require`], for work on the user's account or across their
    /// organizations (creating an organization, answering an invitation,
    /// changing the profile): a token bound to one organization may do none
    /// of it.
    pub fn require_account(&self, scope: Scope) -> Result<(), AppError> {
        if self.bound_organization().is_some() {
            return Err(BOUND_TOKEN);
        }
        self.require(scope)
    }

    /// The same actor, without the organization.
    pub fn unscoped(&self) -> Actor {
        Actor {
            user: self.user.clone(),
            credential: self.credential.clone(),
            scope: (),
        }
    }
}

impl Actor<Membership> {
    /// Where, and with which role.
    pub fn membership(&self) -> &Membership {
        &self.scope
    }

    /// The actor's role in the organization.
    pub fn role(&self) -> MemberRole {
        self.scope.role()
    }

    /// The tenant the actor's work runs in.
    pub fn tenant(&self) -> Tenant {
        self.scope.tenant()
    }
}

/// Why an `Authorization` header is not `Bearer <token>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedBearer {
    /// Not visible ASCII, or no `scheme token` pair.
    Unreadable,
    /// Another scheme, or no token after it.
    NotBearer,
}

/// The token of an `Authorization: Bearer <token>` header value (`None`:
/// no header). The one parser of every surface; each words the refusal its own way.
pub fn parse_bearer(header: Option<&[u8]>) -> Result<Option<&str>, MalformedBearer> {
    let Some(value) = header else {
        return Ok(None);
    };
    // What `http::HeaderValue::to_str` accepts: visible ASCII, spaces and tabs.
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Err(MalformedBearer::Unreadable);
    }
    let value = std::str::from_utf8(value).map_err(|_| MalformedBearer::Unreadable)?;
    let (scheme, token) = value.split_once(' ').ok_or(MalformedBearer::Unreadable)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(MalformedBearer::NotBearer);
    }
    Ok(Some(token.trim()))
}

/// Whether `token` claims to be a personal access token (rather than a session token).
pub fn is_pat(token: &str) -> bool {
    token.starts_with(PAT_PREFIX)
}

impl App {
    /// Verify a personal access token: format and checksum first (garbage
    /// costs no query), then the stored SHA-256 in constant time, then
    /// expiry and revocation; the owner comes with the same query. `Ok(None)`
    /// for every kind of refusal, so callers cannot tell them apart either;
    /// `Err` only when the database failed. Records the use, at most once a minute.
    pub async fn verify_pat(&self, token: &str) -> Result<Option<Actor>, AppError> {
        let Ok(parsed) = parse_pat(token) else {
            return Ok(None);
        };
        let Some((record, user)) =
            pats::find_pat_with_owner(&self.db, parsed.lookup_prefix()).await?
        else {
            return Ok(None);
        };
        let now = Utc::now();
        if !hash_matches(&parsed.hash(), &record.token_hash) || !record.is_live(now) {
            return Ok(None);
        }
        pats::record_pat_use(&self.db, &record, now).await?;
        let grant = PatGrant {
            id: PatId::from_uuid(record.id),
            scopes: record.scopes,
            organization_id: record.organization_id,
        };
        Ok(Some(Actor {
            user,
            credential: Credential::Pat(grant),
            scope: (),
        }))
    }

    /// [`App::verify_pat`] for a request from `client`, under the
    /// failed-credential limit: an address that has presented too many
    /// refused credentials in the window is refused before the database is
    /// asked ([`AppError::TooManyRequests`]), and a refusal counts.
    pub async fn verify_pat_from(
        &self,
        client: ClientKey,
        token: &str,
    ) -> Result<Option<Actor>, AppError> {
        self.refuse_failing_client(client)?;
        let actor = self.verify_pat(token).await?;
        if actor.is_none() {
            self.count_failed_credential(client);
        }
        Ok(actor)
    }

    /// [`App::verify_session`] for a request from `client`, under the same
    /// limit as [`App::verify_pat_from`]. A refused value counts unless it
    /// carried a valid signature: only the server can sign, so such a value
    /// is a session it issued that has since ended (a browser's stale
    /// cookie), not a guess; a forged signature is refused without a query.
    pub async fn verify_session_from(
        &self,
        client: ClientKey,
        presented: &str,
        bearer: bool,
    ) -> Result<Option<Actor>, AppError> {
        self.refuse_failing_client(client)?;
        let (token, signed) = match self.session_token(presented, bearer) {
            Some(found) => found,
            None => return Ok(None),
        };
        let actor = self.find_session(token).await?;
        if actor.is_none() && !signed {
            self.count_failed_credential(client);
        }
        Ok(actor)
    }

    /// The failed-credential rule for `client`; none for an unknown address,
    /// since every client would then share one counter and one client's
    /// stale token would lock out all the others.
    fn failed_credential_rule(&self, client: ClientKey) -> Option<&Rule> {
        if client == ClientKey::UNKNOWN {
            return None;
        }
        self.settings.failed_credentials.as_ref()
    }

    fn refuse_failing_client(&self, client: ClientKey) -> Result<(), AppError> {
        let Some(rule) = self.failed_credential_rule(client) else {
            return Ok(());
        };
        self.failed_credentials
            .check(FAILED_CREDENTIAL_BUCKET, client, rule)
            .map_err(AppError::TooManyRequests)
    }

    fn count_failed_credential(&self, client: ClientKey) {
        if let Some(rule) = self.failed_credential_rule(client) {
            // Refused or not, this attempt has been answered; the next is decided by `check`.
            let _ = self
                .failed_credentials
                .hit(FAILED_CREDENTIAL_BUCKET, client, rule);
        }
    }

    /// Verify a session token. A cookie value must carry a valid signature;
    /// a bearer token may be signed (what Better Auth's bearer plugin hands
    /// out) or plain. Sessions past the refresh age are extended. `Ok(None)`
    /// for every refusal.
    pub async fn verify_session(
        &self,
        presented: &str,
        bearer: bool,
    ) -> Result<Option<Actor>, AppError> {
        match self.session_token(presented, bearer) {
            Some((token, _)) => self.find_session(token).await,
            None => Ok(None),
        }
    }

    /// The session token `presented` carries, and whether it was signed:
    /// a cookie value must be; a bearer token may be plain.
    fn session_token(&self, presented: &str, bearer: bool) -> Option<(String, bool)> {
        let secret = &self.settings.session_secret;
        let signed = if secret.is_empty() {
            None
        } else {
            tenantry_auth::token::verify_signed_cookie_value(presented, secret)
        };
        match signed {
            Some(token) => Some((token, true)),
            None if bearer && presented.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some((presented.to_owned(), false))
            }
            None => None,
        }
    }

    async fn find_session(&self, token: String) -> Result<Option<Actor>, AppError> {
        let Some((session, user)) = tenantry_db::users::find_live_session(&self.db, &token).await?
        else {
            return Ok(None);
        };
        let session = self.refresh_if_due(session).await?;
        Ok(Some(Actor {
            user,
            credential: Credential::Session(session),
            scope: (),
        }))
    }

    async fn refresh_if_due(&self, mut session: Session) -> Result<Session, AppError> {
        let now = Utc::now();
        let settings = &self.settings;
        let due_at = session.expires_at - settings.session_ttl + settings.session_refresh_after;
        if now >= due_at {
            let expires_at = now + settings.session_ttl;
            tenantry_db::users::refresh_session(&self.db, session.id, expires_at).await?;
            session.expires_at = expires_at;
            session.updated_at = now;
        }
        Ok(session)
    }

    /// The organization `actor` acts in: the requested one, else the
    /// session's active one, else their default (the latest session's
    /// active organization, else the oldest membership). Not a member is
    /// `NotFound("organization")`: an organization's existence is not
    /// confirmed to outsiders.
    ///
    /// A token bound to an organization acts there and nowhere else: any
    /// other requested organization is `NotFound("organization")`, even one
    /// the user belongs to, and membership of its own is still checked, so
    /// a user who leaves it takes the token's use with them. A read-only
    /// token gets a [read-only membership](Membership::read_only).
    pub async fn resolve<S>(
        &self,
        actor: Actor<S>,
        requested: Option<OrganizationId>,
    ) -> Result<Actor<Membership>, AppError> {
        let requested = match actor.bound_organization() {
            Some(bound) if requested.is_some_and(|r| r != bound) => {
                return Err(AppError::NotFound("organization"));
            }
            Some(bound) => Some(bound),
            None => requested.or_else(|| actor.session().and_then(|s| s.active_organization_id)),
        };
        let membership = organizations::resolve_tenant(&self.db, actor.user.id, requested)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let membership = if actor.scopes().can_write() {
            membership
        } else {
            membership.read_only()
        };
        Ok(Actor {
            user: actor.user,
            credential: actor.credential,
            scope: membership,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bearer_parser_for_every_surface() {
        assert_eq!(parse_bearer(None), Ok(None));
        assert_eq!(parse_bearer(Some(b"Bearer abc")), Ok(Some("abc")));
        assert_eq!(parse_bearer(Some(b"bearer   abc  ")), Ok(Some("abc")));
        assert_eq!(
            parse_bearer(Some(b"Basic abc")),
            Err(MalformedBearer::NotBearer)
        );
        assert_eq!(
            parse_bearer(Some(b"Bearer  ")),
            Err(MalformedBearer::NotBearer)
        );
        assert_eq!(
            parse_bearer(Some(b"Bearer")),
            Err(MalformedBearer::Unreadable)
        );
        assert_eq!(
            parse_bearer(Some("Bearer é".as_bytes())),
            Err(MalformedBearer::Unreadable)
        );
    }
}
