//! Getting a database ready: creating it, migrating it, giving the login roles
//! their passwords, and deriving their connection URLs from the owner's.
//!
//! Used by the `tenantry` binary for its embedded cluster and by the test kit;
//! a production deployment sets the role passwords itself.

use std::io::Write;
use std::path::Path;

use rand::Rng;
use rand::distr::Alphanumeric;

use crate::client::{self, BareStatements, BypassReason};
use crate::database::{Database, DatabaseConfig};
use crate::error::{DbError, Result};

/// The login role of the tenant pool.
pub const APP_ROLE: &str = "tenantry_app";
/// The login role of the bare client.
pub const BARE_ROLE: &str = "tenantry_bare";

/// Passwords of the two login roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePasswords {
    /// `tenantry_app`'s password.
    pub app: String,
    /// `tenantry_bare`'s password.
    pub bare: String,
}

impl RolePasswords {
    /// Read `dir/role-passwords`, creating it (mode 0600) with fresh random
    /// passwords the first time.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let text = read_or_create_private(dir, "role-passwords", || {
            Ok(format!(
                "app={}\nbare={}\n",
                random_password(),
                random_password()
            ))
        })?;
        parse_password_file(&text).ok_or_else(|| malformed(&dir.join("role-passwords")))
    }
}

/// The shortest session-cookie key accepted (Better Auth's rule for
/// `BETTER_AUTH_SECRET`).
pub const MIN_AUTH_SECRET_CHARS: usize = 32;

/// The key that signs session cookies for a cluster tenantry runs itself:
/// `dir/auth-secret`, 32 bytes from the operating system's random source
/// written as 64 hex digits, made (mode 0600) the first time and read back
/// on every start. It is a secret of its own, so that a role's password
/// (which whoever runs the database knows) cannot forge sessions. Its text
/// is the key, as `TENANTRY_AUTH_SECRET`'s is: moving to another database,
/// set that variable to it and sessions stay valid.
pub fn load_or_create_auth_secret(dir: &Path) -> Result<String> {
    let path = dir.join("auth-secret");
    let text = read_or_create_private(dir, "auth-secret", || {
        use rand::TryRngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut key)
            .map_err(|e| DbError::Config(format!("no random bytes from the system: {e}")))?;
        Ok(key.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
    })?;
    let secret = text.trim();
    if secret.chars().count() < MIN_AUTH_SECRET_CHARS {
        return Err(malformed(&path));
    }
    Ok(secret.to_owned())
}

fn malformed(path: &Path) -> DbError {
    DbError::Config(format!(
        "{} is malformed; delete it to regenerate",
        path.display()
    ))
}

/// The text of `dir/name`, which is created (mode 0600) holding `fresh()`
/// when it does not exist.
fn read_or_create_private(
    dir: &Path,
    name: &str,
    fresh: impl Fn() -> Result<String>,
) -> Result<String> {
    let path = dir.join(name);
    let io = |context: &str, source| DbError::Io {
        context: format!("{context} {}", path.display()),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            refuse_if_readable_by_others(&path)?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = fresh()?;
            // Write a private temporary file, then link it into place: the
            // link fails if another process got there first, and then its
            // file (complete, never half-written) is the one.
            // A name of its own, created new: never someone else's file, nor
            // one planted there beforehand (a link would be followed).
            let temp = dir.join(format!(".{name}.{}", random_password()));
            let mut file = open_private(&temp).map_err(|e| io("cannot create", e))?;
            file.write_all(text.as_bytes())
                .map_err(|e| io("cannot write", e))?;
            drop(file);
            let linked = std::fs::hard_link(&temp, &path);
            let _ = std::fs::remove_file(&temp);
            match linked {
                Ok(()) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read_to_string(&path).map_err(|e| io("cannot read", e))
                }
                Err(e) => Err(io("cannot create", e)),
            }
        }
        Err(e) => Err(io("cannot read", e)),
    }
}

fn parse_password_file(text: &str) -> Option<RolePasswords> {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Some(RolePasswords {
        app: value("app")?,
        bare: value("bare")?,
    })
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// A secret file that others may read is no secret: refuse it rather than
/// serve with it.
fn refuse_if_readable_by_others(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| DbError::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(DbError::Config(format!(
            "{} is readable by others (mode {:o}); chmod 600 it, or delete it to regenerate",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

fn random_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
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
        match conn.batch_execute(statement).await.map_err(DbError::from) {
            Err(e) if e.is_concurrent_catalog_change() && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempts)).await;
            }
            other => return other,
        }
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

    #[test]
    fn password_file_round_trips() {
        let parsed = parse_password_file("app=abc\nbare=def\n").unwrap();
        assert_eq!(parsed.app, "abc");
        assert_eq!(parsed.bare, "def");
        assert!(parse_password_file("app=abc\n").is_none());
    }
}
