//! The bare client: database access without tenant context, explicit and named.
//!
//! This is the Rust form of the seed's `@repo/db/client`. The crate root does
//! not re-export anything from here, so reaching it takes a path that names it
//! (`tenantry_db::client`), and taking a connection takes a [`BypassReason`],
//! which is logged. Prefer the named functions at the crate root
//! ([`crate::list_user_pats`], [`crate::resolve_organization_id`], ...): they
//! wrap this module so callers never need it.
//!
//! # Legitimate uses
//!
//! The seed's `client.ts` keeps a comment listing where the bare connection may
//! be used. Here that list is [`LEGITIMATE_USES`]: a test
//! (`crates/db/tests/bare_client_allowlist.rs`) fails when any source file not
//! on it names this module.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;

use crate::database::Database;
use crate::error::{DbError, Result};
use crate::statements::{self, Outcome, Statements, statement_methods};

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
}

impl BypassReason {
    /// Migrations and seeds act as the schema owner; everything else as the
    /// narrow `tenantry_bare` role.
    fn needs_owner(self) -> bool {
        matches!(self, BypassReason::Migration | BypassReason::Seed)
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
pub const LEGITIMATE_USES: &[(&str, &str)] = &[
    ("crates/db/src/client.rs", "this module"),
    ("crates/db/src/lib.rs", "declares this module"),
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
        "crates/db/src/catalog.rs",
        "Migration: `tenantry audit` reads the catalog as the schema owner",
    ),
    (
        "crates/db/src/pats.rs",
        "UserScoped: personal access tokens belong to users",
    ),
    (
        "crates/db/src/organizations.rs",
        "OrganizationResolution: resolve_organization_id, memberships",
    ),
    (
        "crates/db/src/users.rs",
        "AuthBootstrap: users, credentials, sessions, verification tokens",
    ),
    (
        "crates/db/src/members.rs",
        "AuthBootstrap / OrganizationResolution: creating organizations, accepting invitations",
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
/// [`StatementMode`](crate::StatementMode)). It also dereferences to
/// deadpool's client wrapper for what migrations and seeds need
/// (`batch_execute`, `transaction`).
pub struct BareClient {
    conn: Object,
    reason: BypassReason,
    statements: Arc<Statements>,
}

impl BareClient {
    /// Why this connection was taken.
    pub fn reason(&self) -> BypassReason {
        self.reason
    }

    statement_methods!();

    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Outcome> {
        let statement = self.statements.resolve(&self.conn, sql).await?;
        statements::execute(&self.conn, &statement, params).await
    }
}

impl Deref for BareClient {
    type Target = Object;

    fn deref(&self) -> &Object {
        &self.conn
    }
}

impl DerefMut for BareClient {
    fn deref_mut(&mut self) -> &mut Object {
        &mut self.conn
    }
}

/// Take a bare connection for `reason`.
///
/// Migrations and seeds get the owner connection (an error when none is
/// configured); the other reasons get the `tenantry_bare` pool.
pub async fn bare(db: &Database, reason: BypassReason) -> Result<BareClient> {
    tracing::debug!(%reason, "taking the bare database client");
    let pool: &Pool = if reason.needs_owner() {
        db.owner.as_ref().ok_or(DbError::OwnerNotConfigured)?
    } else {
        &db.bare
    };
    let conn = pool.get().await?;
    Ok(BareClient {
        conn,
        reason,
        statements: db.statements.clone(),
    })
}
