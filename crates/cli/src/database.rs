//! Which database the commands talk to: an external one named by
//! DATABASE_URL, or the embedded cluster under --data-dir.

use std::path::PathBuf;

use anyhow::{Context, bail};
use tenantry_cluster::{Cluster, secrets};
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
                let passwords = kept_role_passwords(cluster.root())?;
                setup::config_from_owner_url(&owner_url, &passwords)?
            }
            Target::External { owner_url } => external_config(owner_url)?,
        };
        Ok(Database::connect(config)?)
    }

    /// The key that signs session cookies: `TENANTRY_AUTH_SECRET` or
    /// `BETTER_AUTH_SECRET` (so a Better Auth deployment's cookies stay
    /// valid); for the embedded cluster without either, a key of its own
    /// generated once and kept beside it ([`secrets::load_or_create_auth_secret`]).
    pub fn auth_secret(&self) -> anyhow::Result<Vec<u8>> {
        for name in ["TENANTRY_AUTH_SECRET", "BETTER_AUTH_SECRET"] {
            if let Some(secret) = std::env::var(name).ok().filter(|s| !s.is_empty()) {
                if secret.len() < secrets::MIN_AUTH_SECRET_CHARS {
                    bail!(
                        "{name} must be at least {} characters",
                        secrets::MIN_AUTH_SECRET_CHARS
                    );
                }
                return Ok(secret.into_bytes());
            }
        }
        match self {
            Target::Embedded(cluster) => {
                Ok(secrets::load_or_create_auth_secret(cluster.root())?.into_bytes())
            }
            Target::External { .. } => {
                bail!("set TENANTRY_AUTH_SECRET (32+ characters) to sign session cookies")
            }
        }
    }

    /// The login roles' passwords, where tenantry manages them.
    pub fn role_passwords(&self) -> anyhow::Result<Option<RolePasswords>> {
        match self {
            Target::Embedded(cluster) => Ok(Some(kept_role_passwords(cluster.root())?)),
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

/// The embedded cluster's login-role passwords, kept beside it.
fn kept_role_passwords(root: &std::path::Path) -> anyhow::Result<RolePasswords> {
    let kept = secrets::load_or_create_role_passwords(root)?;
    Ok(RolePasswords {
        app: kept.app,
        bare: kept.bare,
    })
}
