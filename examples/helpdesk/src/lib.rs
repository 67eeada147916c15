//! # helpdesk: a product built on tenantry
//!
//! A help desk, as an outside team would build it on tenantry's public
//! crates: tickets and their comments, one organization's each. It adds to
//! tenantry
//!
//! - its own migrations ([`MIGRATIONS`], the files in `migrations/`,
//!   embedded in the binary), applied after tenantry's;
//! - its service functions ([`tickets`]), which run their tenant work in
//!   `tenantry_db::with_tenant_context` as tenantry's own do;
//! - its HTTP routes and their OpenAPI paths ([`http`]), merged into
//!   tenantry's server behind the same authentication, organization
//!   resolution (`X-Organization-Id`), limits and error format;
//! - its MCP tools ([`mcp`]), beside tenantry's at `/mcp`;
//! - one piece of cross-tenant work, under a named reason ([`inbound`]).
//!
//! Its binary is tenantry's command line with this [`extension`]:
//! `helpdesk serve`, `helpdesk migrate`, `helpdesk audit`, ...
#![deny(missing_docs)]

pub mod http;
pub mod inbound;
pub mod mcp;
pub mod tickets;

use tenantry_db::migrate::Migration;
use tenantry_server::Extension;

/// The help desk's migrations, embedded. `tests/migrations.rs` checks
/// this list against the `migrations/` directory.
pub const MIGRATIONS: &[Migration] = &[
    Migration::new(
        1,
        "0001_ticket.sql",
        include_str!("../migrations/0001_ticket.sql"),
    ),
    Migration::new(
        2,
        "0002_ticket_comment.sql",
        include_str!("../migrations/0002_ticket_comment.sql"),
    ),
    Migration::new(
        3,
        "0003_inbound_mail_routing.sql",
        include_str!("../migrations/0003_inbound_mail_routing.sql"),
    ),
];

/// Everything the help desk adds to tenantry's server.
pub fn extension() -> Extension {
    Extension {
        migrations: tenantry_db::AppMigrations::embedded(MIGRATIONS)
            .expect("the embedded migrations are numbered and named right (tests/migrations.rs)"),
        api: http::api(),
        mcp_tools: mcp::tools(),
        // Its tables are in `public`, which the start-up check reads anyway.
        schemas: Vec::new(),
    }
}
