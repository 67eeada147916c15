//! Which database the commands talk to: an external one named by
//! DATABASE_URL, or the embedded cluster under --data-dir.

use std::path::PathBuf;

use anyhow::{Context, bail};
use tenantry_cluster::Cluster;
use tenantry_db::setup::{self, RolePasswords};
use tenantry_db::{Database, DatabaseConfig, StatementMode};

/// Where the database is.
pub enum Target {
    /// Our own cluster, started on demand.
    Embedded(Cluster),
    /// Someone else's PostgreSQL; the URL is the schema owner's.
    External { owner_url: String },
}

impl Target {
    pub fn new(data_dir: PathBuf, database_url: Option<String>) -> Self {
        match database_url.filter(|url| !url.trim().is_empty()) {
            Some(owner_url) => Target::External { owner_url },
            None => Target::Embedded(Cluster::new(data_dir)),
        }
    }

    /// Whether this is tenantry's own cluster.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Target::Embedded(_))
    }

    /// The embedded cluster, or an error saying the command only applies to it.
    pub fn cluster(&self) -> anyhow::Result<&Cluster> {
        match self {
            Target::Embedded(cluster) => Ok(cluster),
            Target::External { .. } => {
                bail!("DATABASE_URL is set: `tenantry db` manages only the embedded cluster")
            }
        }
    }

    /// Start the cluster if embedded, and build the three-pool configuration.
    pub async fn connect(&self) -> anyhow::Result<Database> {
        let config = match self {
            Target::Embedded(cluster) => {
                let root = cluster.root().to_path_buf();
                tokio::task::spawn_blocking(move || Cluster::new(root).start())
                    .await?
                    .context("starting the embedded PostgreSQL cluster")?;
                let owner_url = cluster.owner_url(tenantry_cluster::DEFAULT_DATABASE)?;
                let passwords = RolePasswords::load_or_create(cluster.root())?;
                setup::config_from_owner_url(&owner_url, &passwords)?
            }
            Target::External { owner_url } => external_config(owner_url)?,
        };
        Ok(Database::connect(config)?)
    }

    /// The key that signs session cookies: `TENANTRY_AUTH_SECRET` or
    /// `BETTER_AUTH_SECRET` (so a Better Auth deployment's cookies stay
    /// valid); for the embedded cluster without either, a key of its own
    /// generated once and kept beside it ([`setup::load_or_create_auth_secret`]).
    pub fn auth_secret(&self) -> anyhow::Result<Vec<u8>> {
        for name in ["TENANTRY_AUTH_SECRET", "BETTER_AUTH_SECRET"] {
            if let Some(secret) = std::env::var(name).ok().filter(|s| !s.is_empty()) {
                if secret.len() < setup::MIN_AUTH_SECRET_CHARS {
                    bail!(
                        "{name} must be at least {} characters",
                        setup::MIN_AUTH_SECRET_CHARS
                    );
                }
                return Ok(secret.into_bytes());
            }
        }
        match self {
            Target::Embedded(cluster) => {
                Ok(setup::load_or_create_auth_secret(cluster.root())?.into_bytes())
            }
            Target::External { .. } => {
                bail!("set TENANTRY_AUTH_SECRET (32+ characters) to sign session cookies")
            }
        }
    }

    /// The login roles' passwords, where tenantry manages them.
    pub fn role_passwords(&self) -> anyhow::Result<Option<RolePasswords>> {
        match self {
            Target::Embedded(cluster) => Ok(Some(RolePasswords::load_or_create(cluster.root())?)),
            Target::External { .. } => Ok(external_passwords()),
        }
    }
}

/// External databases: the login roles' URLs come from
/// TENANTRY_APP_DATABASE_URL / TENANTRY_BARE_DATABASE_URL, or are derived from
/// DATABASE_URL with TENANTRY_APP_PASSWORD / TENANTRY_BARE_PASSWORD.
/// TENANTRY_STATEMENT_MODE=unnamed when those URLs point at PgBouncer in
/// transaction mode (RELIABILITY.md, part 4).
fn external_config(owner_url: &str) -> anyhow::Result<DatabaseConfig> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (app_url, bare_url) = match (
        from_env("TENANTRY_APP_DATABASE_URL"),
        from_env("TENANTRY_BARE_DATABASE_URL"),
    ) {
        (Some(app), Some(bare)) => (app, bare),
        _ => match external_passwords() {
            Some(passwords) => (
                setup::url_with_login(owner_url, setup::APP_ROLE, &passwords.app)?,
                setup::url_with_login(owner_url, setup::BARE_ROLE, &passwords.bare)?,
            ),
            // Migrations and seeds use the owner only; serving will fail
            // clearly at the first tenant query without these.
            None => (owner_url.to_owned(), owner_url.to_owned()),
        },
    };
    let mut config = DatabaseConfig::new(app_url, bare_url).with_owner(owner_url);
    config.statement_mode = match from_env("TENANTRY_STATEMENT_MODE").as_deref() {
        None | Some("prepared") => StatementMode::Prepared,
        Some("unnamed") => StatementMode::Unnamed,
        Some(other) => bail!(
            "TENANTRY_STATEMENT_MODE={other}: expected `prepared` (the default) or `unnamed` (behind PgBouncer in transaction mode)"
        ),
    };
    Ok(config)
}

fn external_passwords() -> Option<RolePasswords> {
    Some(RolePasswords {
        app: std::env::var("TENANTRY_APP_PASSWORD").ok()?,
        bare: std::env::var("TENANTRY_BARE_PASSWORD").ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// The embedded cluster's key as `auth_secret` finds it when neither
    /// variable is set (the test cannot unset them for the whole process).
    #[test]
    fn the_embedded_cookie_key_is_a_secret_of_its_own_kept_private_and_stable() {
        let dir =
            std::env::temp_dir().join(format!("tenantry-auth-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let passwords = RolePasswords::load_or_create(&dir).unwrap();
        let key = setup::load_or_create_auth_secret(&dir).unwrap();
        assert!(key.len() >= 64, "{} characters", key.len());
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        for password in [&passwords.app, &passwords.bare] {
            assert!(
                !key.contains(password.as_str()),
                "the key holds a role password"
            );
        }
        assert_eq!(
            setup::load_or_create_auth_secret(&dir).unwrap(),
            key,
            "a restart keeps the key"
        );
        let file = dir.join("auth-secret");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        let another = dir.join("another cluster");
        std::fs::create_dir(&another).unwrap();
        assert_ne!(setup::load_or_create_auth_secret(&another).unwrap(), key);
        // A key others may read is refused, not used.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = setup::load_or_create_auth_secret(&dir).unwrap_err();
        assert!(
            refused.to_string().contains("readable by others"),
            "{refused}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
