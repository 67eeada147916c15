//! Inbound mail: a customer's reply to `support+<ticket id>@...` becomes a
//! comment on that ticket.
//!
//! The address names the ticket, not its organization, so finding the
//! organization is the one piece of the help desk that crosses tenants. It
//! goes through tenantry's named bypass ([`tenantry_db::cross_tenant`]),
//! reads only the two columns migration 0003 grants, and hands the rest to
//! tenant context: the comment itself is written as any other, under RLS.
//!
//! The bypass rule holds here as inside tenantry: code of the help desk that
//! wants a connection outside tenant context must name its reason. Without
//! one it does not compile,
//!
//! ```compile_fail,E0061
//! # async fn route(db: tenantry_db::Database) {
//! let client = tenantry_db::cross_tenant::connect(&db).await;
//! # }
//! ```
//!
//! nor with an empty one,
//!
//! ```compile_fail,E0080
//! const ANYTHING: tenantry_db::cross_tenant::CrossTenant =
//!     tenantry_db::cross_tenant::CrossTenant::new("anything", " ");
//! # fn main() { let _ = &ANYTHING; }
//! ```
//!
//! and tenantry's own bare client is out of reach altogether:
//!
//! ```compile_fail,E0603
//! use tenantry_db::client::bare;
//! ```

use tenantry_db::cross_tenant::{self, CrossTenant};
use tenantry_db::prelude::*;
use tenantry_db::{Database, DbError, OrganizationId};

use crate::tickets::TicketId;

/// Why inbound mail routing works across organizations.
pub const INBOUND_MAIL: CrossTenant = CrossTenant::new(
    "inbound_mail_routing",
    "a mailed reply names its ticket, not its organization, and the organization must be found before any tenant context exists",
);

/// The organization that holds `ticket`, if any.
pub async fn organization_of_ticket(
    db: &Database,
    ticket: TicketId,
) -> Result<Option<OrganizationId>, DbError> {
    let client = cross_tenant::connect(db, &INBOUND_MAIL).await?;
    let row = client
        .query_opt(
            "select organization_id from ticket where id = $1",
            &[&ticket.0],
        )
        .await?;
    Ok(row.map(|row| OrganizationId::from_uuid(row.get(0))))
}
