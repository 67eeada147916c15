//! Refuse to serve an unsafe database (DESIGN.md invariant 9).
//!
//! The security lints of [`crate::lint`] (every error-level one), run through
//! the tenant pool's own login, as the server will run: the login checked by
//! the `app_role_*` lints is the one the pool actually connects as, whatever
//! the configuration names, and no owner connection is needed. `tenantry
//! audit` runs the same lints plus the performance and Citus warnings.

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;
use crate::lint::{self, Finding, Level, LintConfig};

/// Every error-level finding; empty means safe to serve.
///
/// `config.app_role` is ignored: the application login is read from the
/// tenant pool's connection.
pub async fn check_safe_to_serve(db: &Database, config: &LintConfig) -> Result<Vec<Finding>> {
    let conn = client::bare(db, BypassReason::SafetyCheck).await?;
    let conn = conn.connection();
    let login: String = conn
        .query_one("select session_user::text", &[])
        .await?
        .get(0);
    let config = LintConfig {
        app_role: login,
        ..config.clone()
    };
    let client: &tokio_postgres::Client = conn;
    let mut findings = lint::run_lints(client, &config).await?;
    findings.retain(|f| f.level == Level::Error);
    Ok(findings)
}
