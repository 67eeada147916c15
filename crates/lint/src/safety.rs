//! Refuse to serve an unsafe database (docs/architecture.md invariant 9).
//!
//! The security lints (every error-level one), over the catalog as the
//! tenant pool's own login reads it, as the server will run: the login
//! checked by the `app_role_*` lints is the one the pool actually connects
//! as, whatever the configuration names, and no owner connection is needed.
//! `tenantry audit` runs the same lints plus the performance and Citus
//! warnings.

use tenantry_db::catalog;
use tenantry_db::{Database, Result};

use crate::{Finding, Level, LintConfig};

/// Every error-level finding; empty means safe to serve.
///
/// `config.app_role` is ignored: the application login is read from the
/// tenant pool's connection.
///
/// # Examples
///
/// ```no_run
/// use tenantry_lint::{LintConfig, check_safe_to_serve};
/// # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
/// let errors = check_safe_to_serve(&db, &LintConfig::default()).await?;
/// for error in &errors {
///     eprintln!("refusing to serve: {error}"); // names the table and the fix
/// }
/// assert!(errors.is_empty());
/// # Ok(()) }
/// ```
pub async fn check_safe_to_serve(db: &Database, config: &LintConfig) -> Result<Vec<Finding>> {
    let snapshot = catalog::read_as_app_login(db, &config.scope()).await?;
    let mut findings = crate::check(&snapshot, config);
    findings.retain(|f| f.level == Level::Error);
    Ok(findings)
}
