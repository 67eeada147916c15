//! # tenantry-db: the tenant-isolated data layer
//!
//! The Rust form of the seed's `packages/db`. PostgreSQL Row-Level Security
//! keeps every organization's rows apart; this crate owns the migrations that
//! set it up (roles, the `app.current_tenant()` function, tables and
//! policies), the one way application code touches tenant data
//! ([`with_tenant_context`]), and the few named functions that must work
//! across tenants (personal access tokens, organization resolution, the health
//! check, migrations and seeds). [`catalog`] reads what the RLS linter
//! checks; the lints themselves live in `tenantry-lint`, above this crate.
//!
//! It knows nothing about HTTP or MCP: callers map [`DbError`] to their own
//! surface.
//!
//! ```no_run
//! use tenantry_db::prelude::*; // the statement methods of `tx`
//! use tenantry_db::organizations::resolve_tenant;
//! use tenantry_db::{Database, DbError, with_tenant_context};
//! # async fn example(db: Database, user: tenantry_db::UserId) -> Result<(), DbError> {
//! // Identity -> organization (checked against membership) -> tenant transaction.
//! let membership = resolve_tenant(&db, user, None).await?.expect("member somewhere");
//! let count: i64 = with_tenant_context(&db, membership.tenant(), async |tx| {
//!     let row = tx.query_one("select count(*) from project", &[]).await?;
//!     Ok::<_, DbError>(row.get(0))
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! ## What the root exports
//!
//! The crate root exports the mechanism: [`Database`] and its
//! [`DatabaseConfig`], [`DbError`] and [`Result`], tenant transactions
//! ([`with_tenant_context`], [`autocommit`], [`TenantTx`], [`Autocommit`],
//! [`TenantStatements`], [`StatementMode`]), [`Tenant`] and [`Membership`]
//! (which only resolution makes), [`MemberRole`], the ids and
//! [`BoundedName`], [`migrate()`] and [`MigrationReport`], [`seed()`],
//! [`check_database`] and [`HEALTH_CHECK_TIMEOUT`], [`prelude`], and [`Row`]
//! and [`ToSql`]. Every aggregate's queries and types are reached through
//! its module, one module per aggregate: [`organizations`] (organizations,
//! members, invitations, resolution), [`pats`], [`projects`], [`users`],
//! [`usage`], [`audit`]. A new query goes in its aggregate's module and the
//! root does not re-export it, so a call site always says which aggregate it
//! touches.
//!
//! ```compile_fail,E0432
//! use tenantry_db::list_user_pats; // `tenantry_db::pats::list_user_pats`
//! ```
//!
//! ## The bare client is not here
//!
//! As in the seed, where `db` cannot be imported from `@repo/db`, the crate
//! root exports no connection. The bare client that bypasses RLS is private
//! to this crate: code elsewhere reaches non-tenant data only through the
//! aggregates' named functions, each of which takes its connection for a
//! named reason that is logged.
//!
//! ```compile_fail
//! use tenantry_db::db; // error[E0432]: no `db` in the root
//! ```
//!
//! ```compile_fail,E0603
//! use tenantry_db::client; // error[E0603]: module `client` is private
//! ```
//!
//! ```compile_fail
//! // Nor can a pool or a connection be pulled out of a `Database`.
//! fn steal(db: &tenantry_db::Database) -> &deadpool_postgres::Pool { &db.app }
//! ```
//!
//! ## Features
//!
//! - `openapi`: OpenAPI schemas for the types the HTTP API returns.
//! - `testing`: what this crate's own tests need and production must never
//!   have (the `testing` and `diagnostics` modules). Only test builds enable it, through
//!   `tenantry-testkit`.
//!
//! ## tokio-postgres, patched
//!
//! The one-round-trip tenant statement needs `Client::query_after` and
//! `Client::describe`, which tokio-postgres 0.7 on crates.io does not have:
//! tenantry's repository carries them as a patch (`vendor/tokio-postgres`).
//! A project that depends on this crate applies the patch to its whole build,
//! so that deadpool-postgres's pooled clients are the patched ones too:
//!
//! ```toml
//! [patch.crates-io]
//! tokio-postgres = { git = "https://github.com/tenantry/tenantry" }
//! ```
//!
//! Without it the build stops here (``no `PipelineStatement` in the root``,
//! ``no method named `query_after` ``).
#![deny(missing_docs)]

pub mod audit;
pub mod catalog;
pub(crate) mod client;
mod context;
pub mod cross_tenant;
mod database;
#[cfg(feature = "testing")]
pub mod diagnostics;
mod error;
mod health;
mod ids;
pub mod migrate;
pub mod organizations;
pub mod page;
pub mod pats;
pub mod prelude;
pub mod projects;
pub mod seed;
pub mod setup;
mod statements;
mod tenant;
#[cfg(feature = "testing")]
pub mod testing;
pub mod usage;
pub mod users;

pub use context::{Autocommit, TenantStatements, TenantTx, autocommit, with_tenant_context};
pub use database::{Database, DatabaseConfig};
pub use error::{DbError, Result};
pub use health::{HEALTH_CHECK_TIMEOUT, check_database};
pub use ids::{InvitationId, MemberId, OrganizationId, PatId, ProjectId, UserId};
pub use migrate::{AppMigrations, MigrationReport, migrate, migrate_with};
pub use seed::seed;
pub use statements::Query;
pub use statements::StatementMode;
pub use tenant::{MemberRole, Membership, Tenant};
pub use tenantry_domain::BoundedName;

/// Re-exported so callers can name row and parameter types without depending
/// on tokio-postgres themselves.
pub use tokio_postgres::{Row, types::ToSql};

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
