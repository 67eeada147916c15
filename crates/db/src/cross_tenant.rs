//! Work across tenants for an application built on tenantry: the named
//! bypass, as tenantry's own cross-tenant work is named
//! (docs/architecture.md invariant 6).
//!
//! Some work of an application has no tenant yet: a reply mailed to
//! `support+<ticket>@` must find the organization of that ticket before any
//! tenant context can be set; an operator's nightly report sums every
//! organization. Such code declares its reason once, as a constant, and
//! takes a [`CrossTenantClient`] for it; the reason is logged, at `info`,
//! with every connection taken. Its statements run as the role
//! [`CROSS_TENANT_ROLE`] (`tenantry_cross_tenant`), which bypasses RLS and
//! holds no privilege at all but what the application's own migrations
//! grant it: exactly the columns the cross-tenant work reads (`grant select
//! (organization_id, id) on ticket to tenantry_cross_tenant;`), so the
//! reason and the reach are both in review. tenantry's own tables (users,
//! sessions, credentials, tokens, members) are out of its reach.
//!
//! It acts for no one, so a read-only token's read-only transactions
//! (`Tenant::read_only`) do not reach it: code that writes through it on a
//! caller's behalf checks the caller's `write` scope first.
//!
//! ```no_run
//! use tenantry_db::cross_tenant::{self, CrossTenant};
//! use tenantry_db::prelude::*;
//!
//! const INBOUND_MAIL: CrossTenant = CrossTenant::new(
//!     "inbound_mail_routing",
//!     "a mailed reply names its ticket, not its organization",
//! );
//!
//! # async fn example(db: tenantry_db::Database, ticket: uuid::Uuid) -> tenantry_db::Result<()> {
//! let client = cross_tenant::connect(&db, &INBOUND_MAIL).await?;
//! let row = client
//!     .query_opt("select organization_id from ticket where id = $1", &[&ticket])
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Without a reason there is no such connection:
//!
//! ```compile_fail,E0061
//! # async fn example(db: tenantry_db::Database) {
//! let client = tenantry_db::cross_tenant::connect(&db).await;
//! # }
//! ```
//!
//! and a reason cannot be left empty: the check runs when the constant is
//! compiled.
//!
//! ```compile_fail,E0080
//! const NO_REASON: tenantry_db::cross_tenant::CrossTenant =
//!     tenantry_db::cross_tenant::CrossTenant::new("nightly_report", "");
//! # fn main() { let _ = &NO_REASON; }
//! ```

use tokio_postgres::types::ToSql;

use crate::client::{self, BareClient, BypassReason};
use crate::database::Database;
use crate::error::Result;
use crate::statements::{Outcome, Query, Run};

/// Why some work of an application crosses tenants: a snake_case name for
/// the logs and a sentence for the reader. Declare it as a `const`, so
/// [`CrossTenant::new`]'s checks run at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossTenant {
    name: &'static str,
    why: &'static str,
}

impl CrossTenant {
    /// A reason named `name` (snake_case, as it appears in the logs) that
    /// says `why` the work cannot run in one tenant's context.
    ///
    /// # Panics
    ///
    /// When `name` is not snake_case or `why` is blank; in a `const`, that
    /// is a compile error.
    pub const fn new(name: &'static str, why: &'static str) -> Self {
        assert!(
            is_snake_case(name),
            "a cross-tenant reason's name is snake_case"
        );
        assert!(!is_blank(why), "a cross-tenant reason says why");
        CrossTenant { name, why }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Why the work crosses tenants.
    pub fn why(&self) -> &'static str {
        self.why
    }
}

const fn is_snake_case(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_blank(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_whitespace() {
            return false;
        }
        i += 1;
    }
    true
}

/// A connection outside any tenant context, taken for a [`CrossTenant`]
/// reason: the statement methods of [`Query`] (`use
/// tenantry_db::prelude::*`), nothing more. It is no tenant transaction,
/// so it can never be passed where one is expected.
pub struct CrossTenantClient {
    bare: BareClient,
}

/// The role an application's cross-tenant statements run as (migration
/// 0010): BYPASSRLS, and no privilege but those the application's own
/// migrations grant it, so that the bare login's reach into users,
/// sessions, credentials and tokens is not the application's.
pub const CROSS_TENANT_ROLE: &str = "tenantry_cross_tenant";

/// Each statement runs in its own implicit transaction as
/// [`CROSS_TENANT_ROLE`], set transaction-locally in the same round trip.
const AS_CROSS_TENANT_ROLE: &str = "select set_config('role', 'tenantry_cross_tenant', true)";

impl Run for CrossTenantClient {
    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Outcome> {
        self.bare
            .run_after(AS_CROSS_TENANT_ROLE, &[], sql, params)
            .await
    }
}

impl Query for CrossTenantClient {}

/// Take a connection outside tenant context for `reason`, logged at `info`.
pub async fn connect(db: &Database, reason: &CrossTenant) -> Result<CrossTenantClient> {
    tracing::info!(
        reason = reason.name,
        why = reason.why,
        "an application takes a cross-tenant connection"
    );
    let bare = client::bare(db, BypassReason::Application).await?;
    Ok(CrossTenantClient { bare })
}
