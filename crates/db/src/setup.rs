//! Getting a database ready: creating it, giving the login roles their
//! passwords, and deriving their connection URLs from the owner's.
//!
//! Used by the `tenantry` binary for its embedded cluster and by the test kit;
//! a production deployment sets the role passwords itself. Where the
//! passwords are kept is not this crate's business (the embedded cluster's
//! files are `tenantry_cluster::secrets`).

use crate::client::{self, BypassReason};
use crate::database::{Database, DatabaseConfig};
use crate::error::{DbError, Result};
use crate::statements::Query;

/// The login role of the tenant pool.
pub const APP_ROLE: &str = "tenantry_app";
/// The login role of the bare client.
pub const BARE_ROLE: &str = "tenantry_bare";

/// Passwords of the two login roles, as [`set_role_passwords`] sets them and
/// [`config_from_owner_url`] logs in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePasswords {
    /// `tenantry_app`'s password.
    pub app: String,
    /// `tenantry_bare`'s password.
    pub bare: String,
}

/// Replace the user and password of a `postgresql://` URL.
pub fn url_with_login(url: &str, user: &str, password: &str) -> Result<String> {
    let malformed = || DbError::Config("expected a postgresql://user:password@host/db URL".into());
    let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    Ok(format!("{scheme}://{user}:{password}@{host}{path}"))
}

/// The configuration for a database whose owner URL is `owner_url`, with the
/// login roles' URLs derived from it.
pub fn config_from_owner_url(owner_url: &str, passwords: &RolePasswords) -> Result<DatabaseConfig> {
    let app = url_with_login(owner_url, APP_ROLE, &passwords.app)?;
    let bare = url_with_login(owner_url, BARE_ROLE, &passwords.bare)?;
    Ok(DatabaseConfig::new(app, bare).with_owner(owner_url))
}

/// Give the login roles their passwords (as the owner, reason `Migration`).
pub async fn set_role_passwords(db: &Database, passwords: &RolePasswords) -> Result<()> {
    let conn = client::bare(db, BypassReason::Migration).await?;
    for (role, password) in [(APP_ROLE, &passwords.app), (BARE_ROLE, &passwords.bare)] {
        // ALTER ROLE takes no bind parameters; let the server quote the literal.
        let row = conn
            .query_one(
                "select format('alter role %I password %L', $1::text, $2::text)",
                &[&role, password],
            )
            .await?;
        alter_role_retrying(conn.connection(), row.get::<_, &str>(0)).await?;
    }
    Ok(())
}

/// Run `alter role`, again when another process changed the same role at
/// the same moment. Roles are cluster-wide, so two processes setting up two
/// databases of one cluster (parallel test binaries, several instances
/// starting) race on the same `pg_authid` row
/// ([`DbError::is_concurrent_catalog_change`]). Both set the same password,
/// so trying again is all it takes.
async fn alter_role_retrying(conn: &tokio_postgres::Client, statement: &str) -> Result<()> {
    let mut attempts = 0;
    loop {
        let error = match conn.batch_execute(statement).await {
            Ok(()) => return Ok(()),
            Err(error) => DbError::from(error),
        };
        let Some(wait) = error.retry_after_concurrent_catalog_change(attempts) else {
            return Err(error);
        };
        attempts += 1;
        tokio::time::sleep(wait).await;
    }
}

/// Create database `name` through the maintenance connection `owner_url` when
/// it does not exist yet.
pub async fn ensure_database_exists(owner_url: &str, name: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(owner_url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    let exists = client
        .query_opt("select 1 from pg_database where datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let row = client
            .query_one("select format('create database %I', $1::text)", &[&name])
            .await?;
        match client.batch_execute(row.get::<_, &str>(0)).await {
            Ok(()) => {}
            // Another process created it in between: fine.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(e.into()),
        }
    }
    drop(client);
    let _ = task.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_login_of_a_url() {
        let url = "postgresql://tenantry_owner:s3cret@127.0.0.1:5544/tenantry?sslmode=disable";
        assert_eq!(
            url_with_login(url, "tenantry_app", "pw").unwrap(),
            "postgresql://tenantry_app:pw@127.0.0.1:5544/tenantry?sslmode=disable"
        );
        assert_eq!(
            url_with_login("postgres://localhost/db", "a", "b").unwrap(),
            "postgres://a:b@localhost/db"
        );
        assert!(url_with_login("localhost:5432", "a", "b").is_err());
    }
}
