//! Test support: the bypasses that only tests may take (feature `testing`,
//! which production builds never enable).
//!
//! The tests of this crate need the bare client itself (to hold a bare
//! connection while the server kills it) and its register of legitimate
//! uses (to check every source file against it); the test kit needs to do
//! to a database cloned from a template what [`migrate`](crate::migrate())
//! would do to its privileges.

/// The bare client, for tests only.
pub mod client {
    pub use crate::client::{BareClient, BypassReason, LEGITIMATE_USES, bare};
}

/// What [`migrate`](crate::migrate()) does to a database's own privileges,
/// for a test database cloned from a migrated template (a clone starts with
/// PostgreSQL's defaults again).
pub async fn restrict_database_privileges(
    client: &impl tokio_postgres::GenericClient,
) -> crate::Result<()> {
    crate::migrate::restrict_database_privileges(client).await
}
