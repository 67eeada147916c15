//! # tenantry-app: the service layer
//!
//! Every rule of tenantry, once, for every surface: who is acting and in
//! which organization ([`credentials`], one [`Actor`]), their accounts and
//! sessions ([`accounts`], [`sessions`]), and what they may do there ([`organizations`], [`tokens`], [`projects`], [`usage`],
//! [`audit_log`]), and the counters of the abuse limits ([`limits`]). The HTTP API, the MCP server and the CLI parse their input,
//! call these functions and translate the answer; none of them holds a rule
//! or opens a tenant transaction itself.
//!
//! It depends on `tenantry-domain`, `tenantry-auth` and `tenantry-db`, and
//! must not depend on HTTP or MCP (no axum, no rmcp, no `http`): a failure is
//! an [`AppError`], which each surface maps to its own answer.
//!
//! ```no_run
//! use tenantry_app::{App, Settings};
//! # async fn example(db: tenantry_db::Database, token: &str) -> Result<(), tenantry_app::AppError> {
//! let app = App::new(db, Settings::default());
//! let actor = app.verify_pat(token).await?.expect("a live token");
//! let actor = app.resolve(actor, None).await?;
//! let page = app.list_projects(&actor, None, None).await?;
//! println!("{} projects", page.items.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod accounts;
pub mod audit_log;
pub mod credentials;
mod error;
pub mod limits;
pub mod organizations;
pub mod projects;
pub mod sessions;
pub mod tokens;
pub mod usage;

use std::sync::Arc;

pub use credentials::{Actor, Credential, MalformedBearer, PatGrant, parse_bearer};
pub use error::AppError;
pub use tenantry_auth::Email;
pub use tenantry_db::audit::AuditEntry;
pub use tenantry_db::organizations::{Invitation, Member, Organization, UserOrganization};
pub use tenantry_db::page::{MAX_PAGE_SIZE, Page};
pub use tenantry_db::pats::PatSummary;
pub use tenantry_db::usage::{NewUsage, UsageEvent, UsageReport};
pub use tenantry_db::{
    Database, DbError, Membership, Tenant, projects::Project, users::Session, users::User,
};
pub use tenantry_domain::{
    BoundedName, InvalidInput, InvitationId, MemberId, MemberRole, OrganizationId, PatId,
    ProjectId, Scope, Scopes, UserId,
};
pub use tokens::TokenGrant;

/// A page size: 1 to [`MAX_PAGE_SIZE`], 20 when absent.
pub fn page_size(requested: Option<i64>) -> Result<i64, AppError> {
    Ok(tenantry_db::page::page_size(requested)?)
}

/// Settings the rules need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// HMAC key of signed session cookies (Better Auth's `BETTER_AUTH_SECRET`).
    /// Empty: no signed value is accepted, since anyone can sign with an empty key.
    pub session_secret: Vec<u8>,
    /// Session lifetime (Better Auth's `expiresIn`, 7 days).
    pub session_ttl: chrono::Duration,
    /// Refresh a session when it is older than this (Better Auth's `updateAge`, 1 day).
    pub session_refresh_after: chrono::Duration,
    /// Accept an invitation only with a verified email (Better Auth's
    /// `requireEmailVerificationOnInvitation`).
    pub require_email_verification_on_invitation: bool,
    /// Most organizations a user may belong to when creating one (Better
    /// Auth's `organizationLimit`; `None`, its default, is no limit).
    pub organization_limit: Option<u32>,
    /// Most members an organization may have (Better Auth's `membershipLimit`, 100).
    pub membership_limit: u32,
    /// Most live pending invitations an organization may have (Better Auth's
    /// `invitationLimit`, 100).
    pub invitation_limit: u32,
    /// Re-inviting a pending address withdraws the old invitation instead of
    /// being refused (Better Auth's `cancelPendingInvitationsOnReInvite`, off).
    pub cancel_pending_invitations_on_reinvite: bool,
    /// `delete-user` is served (Better Auth's `user.deleteUser.enabled`).
    pub delete_user_enabled: bool,
    /// Refused credentials an address may present per window before its
    /// credentials are refused unchecked ([`credentials`]); `None`: no limit.
    pub failed_credentials: Option<limits::Rule>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_secret: Vec::new(),
            session_ttl: chrono::Duration::days(7),
            session_refresh_after: chrono::Duration::days(1),
            require_email_verification_on_invitation: true,
            organization_limit: None,
            membership_limit: 100,
            invitation_limit: 100,
            cancel_pending_invitations_on_reinvite: false,
            delete_user_enabled: true,
            failed_credentials: Some(credentials::FAILED_CREDENTIALS),
        }
    }
}

/// The handle every surface holds: the database and the settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    db: Database,
    settings: Arc<Settings>,
    failed_credentials: Arc<limits::RateLimiter>,
}

impl App {
    /// Services over `db` with `settings`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tenantry_app::{App, AppError, Settings};
    /// # async fn example(db: tenantry_db::Database, token: &str) -> Result<(), AppError> {
    /// let app = App::new(db, Settings::default());
    /// // Identity (a PAT here), then the organization it acts in, then the work.
    /// let Some(actor) = app.verify_pat(token).await? else {
    ///     return Ok(()); // unknown, revoked or expired: a 401 on the HTTP API
    /// };
    /// let actor = app.resolve(actor, None).await?;
    /// let page = app.list_projects(&actor, Some(20), None).await?;
    /// println!("{} projects in {}", page.items.len(), actor.tenant().organization_id());
    /// # Ok(()) }
    /// ```
    pub fn new(db: Database, settings: Settings) -> Self {
        let capacity = if settings.failed_credentials.is_some() {
            limits::DEFAULT_CAPACITY
        } else {
            0
        };
        App {
            db,
            settings: Arc::new(settings),
            failed_credentials: Arc::new(limits::RateLimiter::new(capacity)),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The database, for an application's own service functions built on
    /// tenantry: they run their tenant work with
    /// [`tenantry_db::with_tenant_context`] or [`tenantry_db::autocommit`]
    /// and [`Actor::tenant`], exactly as this crate does. A [`Database`]
    /// hands out no connection that bypasses RLS.
    ///
    /// ```no_run
    /// # async fn example(app: tenantry_app::App, actor: tenantry_app::Actor<tenantry_app::Membership>) -> Result<(), tenantry_app::AppError> {
    /// use tenantry_db::prelude::*;
    /// let count: i64 = tenantry_db::with_tenant_context(app.database(), actor.tenant(), async |tx| {
    ///     Ok::<_, tenantry_db::DbError>(tx.query_one("select count(*) from project", &[]).await?.get(0))
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
