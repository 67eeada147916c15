//! The bare client: database access without tenant context, explicit and named.
//!
//! This is the Rust form of the seed's `@repo/db/client`. The crate root does
//! not re-export anything from here, so reaching it takes a path that names it
//! (`tenantry_db::client`), and taking a connection takes a [`BypassReason`],
//! which is logged. Prefer the aggregates' named functions
//! ([`crate::pats::list_user_pats`],
//! [`crate::organizations::resolve_organization_id`], ...): they wrap this
//! module so callers never need it.
//!
//! # Legitimate uses
//!
//! The seed's `client.ts` keeps a comment listing where the bare connection may
//! be used. Here that list is [`LEGITIMATE_USES`]: a test
//! (`crates/db/tests/bare_client_allowlist.rs`) fails when any source file not
//! on it names this module.

use std::fmt;

use std::sync::Arc;

use deadpool_postgres::{Object, Pool};

use tokio_postgres::types::ToSql;

use crate::database::Database;
use crate::error::{DbError, Result};
use crate::statements::{self, Outcome, Query, Run, Statements};

/// Why RLS is being skipped: the seed's table of legitimate uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BypassReason {
    /// Schema changes need the owner.
    Migration,
    /// Inserting data across many tenants.
    Seed,
    /// Users, sessions, accounts and verification tokens are global.
    AuthBootstrap,
    /// `SELECT 1` has no tenant.
    HealthCheck,
    /// Personal access tokens belong to a user, not a tenant.
    UserScoped,
    /// Finding a user's organization before any tenant context exists.
    OrganizationResolution,
    /// A signed-in user's pending invitations across organizations, found
    /// by their verified email (`organizations::list_user_invitations`).
    InviteeInvitations,
    /// Deleting a user together with the organizations whose only member
    /// they are, in one transaction across tenants
    /// (`organizations::delete_user_account`).
    AccountDeletion,
    /// Work of an application built on tenantry that crosses tenants, for
    /// the reason it names ([`crate::cross_tenant::CrossTenant`], logged).
    Application,
    /// `tenantry serve`'s refusal to serve an unsafe database: the lints run
    /// through the tenant pool's own login, the one they check.
    SafetyCheck,
    /// Reporting what a pooled tenant connection carries between
    /// transactions, as the next one would find it (feature `testing`).
    #[cfg(feature = "testing")]
    Diagnostics,
}

/// The pool a reason's connection comes from.
enum PoolOf {
    Owner,
    Tenant,
    Bare,
}

impl BypassReason {
    /// Migrations and seeds act as the schema owner; the safety check and
    /// diagnostics inspect the tenant pool's own connections (outside any
    /// tenant transaction, running no tenant statement); everything else
    /// runs as the narrow `tenantry_bare` role.
    fn pool(self) -> PoolOf {
        match self {
            BypassReason::Migration | BypassReason::Seed => PoolOf::Owner,
            BypassReason::SafetyCheck => PoolOf::Tenant,
            #[cfg(feature = "testing")]
            BypassReason::Diagnostics => PoolOf::Tenant,
            BypassReason::AuthBootstrap
            | BypassReason::HealthCheck
            | BypassReason::UserScoped
            | BypassReason::OrganizationResolution
            | BypassReason::InviteeInvitations
            | BypassReason::AccountDeletion
            | BypassReason::Application => PoolOf::Bare,
        }
    }
}

impl fmt::Display for BypassReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Source files allowed to name this module, each with its reason: the Rust
/// form of the "legitimate uses" comment in the seed's `client.ts`. Paths are
/// relative to the workspace root; a path ending in `/` covers a directory.
// Read by the allow-list test alone, through the `testing` feature.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub const LEGITIMATE_USES: &[(&str, &str)] = &[
    ("crates/db/src/client.rs", "this module"),
    ("crates/db/src/lib.rs", "declares this module"),
    (
        "crates/db/src/testing.rs",
        "hands the module to tests (feature `testing`, never in production)",
    ),
    (
        "crates/db/src/migrate.rs",
        "Migration: schema changes run as the owner",
    ),
    (
        "crates/db/src/setup.rs",
        "Migration: role passwords are set by the owner",
    ),
    (
        "crates/db/src/seed.rs",
        "Seed: reference and demo data across tenants",
    ),
    ("crates/db/src/health.rs", "HealthCheck: check_database()"),
    (
        "crates/db/src/diagnostics.rs",
        "Diagnostics: a pooled tenant connection's state between transactions",
    ),
    (
        "crates/db/src/catalog.rs",
        "Migration: `tenantry audit` reads the catalog as the schema owner; \
         SafetyCheck: the serve-time lints, through the tenant pool's login",
    ),
    (
        "crates/db/src/pats.rs",
        "UserScoped: personal access tokens belong to users",
    ),
    (
        "crates/db/src/organizations/resolution.rs",
        "OrganizationResolution: resolve_organization_id, memberships, \
         finding organizations by slug",
    ),
    (
        "crates/db/src/organizations/acceptance.rs",
        "OrganizationResolution: accepting, rejecting and viewing invitations as their invitee",
    ),
    (
        "crates/db/src/organizations/creation.rs",
        "OrganizationResolution: counting the creator's organizations against organizationLimit",
    ),
    (
        "crates/db/src/organizations/invitee.rs",
        "InviteeInvitations: a user's pending invitations across organizations, by their email",
    ),
    (
        "crates/db/src/organizations/account_deletion.rs",
        "AccountDeletion: a user with the organizations whose only member they are, in one transaction",
    ),
    (
        "crates/db/src/cross_tenant.rs",
        "Application: an application's cross-tenant work, for the reason it names",
    ),
    (
        "crates/db/src/users.rs",
        "AuthBootstrap: users, credentials, sessions, verification tokens",
    ),
    (
        "crates/db/tests/",
        "tests seed data as the owner, then act as `authenticated`",
    ),
    (
        "crates/testkit/",
        "test databases are created and seeded as the owner",
    ),
];

/// A connection that bypasses tenant context, taken for a named reason.
///
/// `query`, `query_one`, `query_opt` and `execute` prepare each statement
/// once per connection (or send it unnamed behind a pooler, see
/// [`StatementMode`](crate::StatementMode)); [`BareClient::connection`]
/// gives the rest of the client to migrations and seeds.
pub struct BareClient {
    conn: Object,
    statements: Arc<Statements>,
}

impl BareClient {
    /// The connection itself, for what migrations and seeds need
    /// (`batch_execute`, `transaction`). A method rather than `Deref`: with
    /// `Deref`, a `conn.query(..)` in a module that forgot to import
    /// [`Query`](crate::Query) would still compile, as tokio-postgres's own
    /// `query`, and skip the statement mode.
    pub fn connection(&self) -> &Object {
        &self.conn
    }

    /// [`BareClient::connection`], mutably (`transaction` takes `&mut`).
    pub fn connection_mut(&mut self) -> &mut Object {
        &mut self.conn
    }
}

impl Run for BareClient {
    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Outcome> {
        let statement = self.statements.resolve(&self.conn, sql).await?;
        statements::execute(&self.conn, &statement, params).await
    }
}

impl BareClient {
    /// `setup`, then `sql`, in one implicit transaction
    /// ([`Statements::run_after`]).
    pub(crate) async fn run_after(
        &self,
        setup: &str,
        setup_params: &[&(dyn ToSql + Sync)],
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Outcome> {
        self.statements
            .run_after(&self.conn, setup, setup_params, sql, params)
            .await
    }
}

// The bare client has the statement methods ([`Query`]) but is no
// [`TenantStatements`](crate::TenantStatements): a bare connection can never
// be passed where a tenant's statements are expected.
impl Query for BareClient {}

/// Take a connection outside tenant context for `reason`.
///
/// Migrations and seeds get the owner connection (an error when none is
/// configured); the safety check and diagnostics a tenant-pool connection
/// with no tenant set; the other reasons the `tenantry_bare` pool.
pub async fn bare(db: &Database, reason: BypassReason) -> Result<BareClient> {
    tracing::debug!(%reason, "taking the bare database client");
    let pool: &Pool = match reason.pool() {
        PoolOf::Owner => db.owner.as_ref().ok_or(DbError::OwnerNotConfigured)?,
        PoolOf::Tenant => &db.app,
        PoolOf::Bare => &db.bare,
    };
    let conn = pool.get().await?;
    Ok(BareClient {
        conn,
        statements: db.statements.clone(),
    })
}
