//! What a pooled connection looks like between tenant transactions.
//!
//! Used by the tests (feature `testing`) to prove that a
//! connection comes back to the pool carrying no role, no tenant and no open
//! transaction (docs/architecture.md invariant 4). It runs no setup: it reports the
//! connection exactly as the next tenant transaction would find it.

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;

/// The session state of one pooled tenant-pool connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionState {
    /// The server process behind the connection.
    pub backend_pid: i32,
    /// The role in effect (`tenantry_app` when clean).
    pub current_user: String,
    /// `app.tenant_id` as the tenant function would read it (`None` when clean).
    pub tenant_id: Option<String>,
    /// `app.user_id` (`None` when clean).
    pub user_id: Option<String>,
    /// Whether a transaction was already open before this check ran.
    pub in_transaction: bool,
}

impl ConnectionState {
    /// No role, no tenant, no user, no transaction.
    pub fn is_clean(&self) -> bool {
        self.current_user == crate::setup::APP_ROLE
            && self.tenant_id.is_none()
            && self.user_id.is_none()
            && !self.in_transaction
    }
}

/// Check out one connection from the tenant pool and report its state.
pub async fn pooled_connection_state(db: &Database) -> Result<ConnectionState> {
    let conn = client::bare(db, BypassReason::Diagnostics).await?;
    // The simple-query protocol, because in it the first statement of a
    // transaction has the transaction's own start time: a difference means a
    // transaction was already open when this statement arrived.
    let messages = conn
        .connection()
        .simple_query(
            "select pg_backend_pid(), current_user,
                    nullif(current_setting('app.tenant_id', true), ''),
                    nullif(current_setting('app.user_id', true), ''),
                    transaction_timestamp() <> statement_timestamp()",
        )
        .await?;
    let row = messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .expect("the query returns one row");
    Ok(ConnectionState {
        backend_pid: row
            .get(0)
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_default(),
        current_user: row.get(1).unwrap_or_default().to_owned(),
        tenant_id: row.get(2).map(str::to_owned),
        user_id: row.get(3).map(str::to_owned),
        in_transaction: row.get(4) == Some("t"),
    })
}
