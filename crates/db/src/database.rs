//! Connection pools and their configuration.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::error::{DbError, Result};
use crate::statements::{StatementMode, Statements};

/// Where and how to connect. Build one with [`DatabaseConfig::new`] and adjust fields.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tenantry_db::{DatabaseConfig, StatementMode};
///
/// let mut config = DatabaseConfig::new(
///     "postgresql://tenantry_app:secret@127.0.0.1:5432/tenantry",
///     "postgresql://tenantry_bare:secret@127.0.0.1:5432/tenantry",
/// )
/// .with_owner("postgresql://tenantry_owner:secret@127.0.0.1:5432/tenantry");
/// config.statement_timeout = Some(Duration::from_secs(5));
/// // Behind PgBouncer in transaction mode:
/// config.statement_mode = StatementMode::Unnamed;
/// assert_eq!(config.app_pool_size, 16);
/// ```
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// The pooled application login (`tenantry_app`): tenant work only.
    pub app_url: String,
    /// The bare client's login (`tenantry_bare`): the named non-tenant functions.
    pub bare_url: String,
    /// The schema owner: migrations and seeds. `None` in a server that does neither.
    pub owner_url: Option<String>,
    /// Connections in the tenant pool.
    pub app_pool_size: usize,
    /// Connections in the bare pool (auth, PAT checks, organization resolution).
    pub bare_pool_size: usize,
    /// How long to wait for a pooled connection (or a new one) before giving up.
    pub acquire_timeout: Duration,
    /// `statement_timeout` set transaction-locally in every tenant transaction.
    pub statement_timeout: Option<Duration>,
    /// A tenant transaction holding its connection longer than this is logged
    /// as a warning: slow work belongs outside `with_tenant_context`.
    pub slow_transaction_warning: Duration,
    /// Prepared statements (the default), or unnamed ones for PgBouncer in
    /// transaction mode; see [`StatementMode`].
    pub statement_mode: StatementMode,
}

impl DatabaseConfig {
    /// Defaults sized for a 2-core machine.
    pub fn new(app_url: impl Into<String>, bare_url: impl Into<String>) -> Self {
        DatabaseConfig {
            app_url: app_url.into(),
            bare_url: bare_url.into(),
            owner_url: None,
            app_pool_size: 16,
            bare_pool_size: 4,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
            slow_transaction_warning: Duration::from_millis(500),
            statement_mode: StatementMode::Prepared,
        }
    }

    /// Add the owner connection (migrations, seeds).
    pub fn with_owner(mut self, owner_url: impl Into<String>) -> Self {
        self.owner_url = Some(owner_url.into());
        self
    }
}

/// The handle the application keeps: cheap to clone, shared by all requests.
///
/// Tenant work goes through [`crate::with_tenant_context`]; non-tenant work
/// through the named functions at the crate root. The pools themselves stay
/// private to the crate.
///
/// # Examples
///
/// ```no_run
/// use tenantry_db::{Database, DatabaseConfig};
/// # async fn example() -> tenantry_db::Result<()> {
/// let db = Database::connect(
///     DatabaseConfig::new(
///         std::env::var("TENANTRY_APP_URL").unwrap(),
///         std::env::var("TENANTRY_BARE_URL").unwrap(),
///     )
///     .with_owner(std::env::var("DATABASE_URL").unwrap()),
/// )?; // no connection is opened yet
/// tenantry_db::migrate(&db).await?;
/// let took = tenantry_db::check_database(&db).await?;
/// println!("database answered in {took:?}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    pub(crate) app: Pool,
    pub(crate) bare: Pool,
    pub(crate) owner: Option<Pool>,
    pub(crate) statements: Arc<Statements>,
    pub(crate) config: DatabaseConfig,
}

impl Database {
    /// Create the pools. Connections open lazily, on first use, so this
    /// fails only on a malformed URL ([`DbError::Config`]); see the example
    /// on [`Database`].
    pub fn connect(config: DatabaseConfig) -> Result<Self> {
        let mut app_config = pg_config(&config.app_url)?;
        if let (StatementMode::Prepared, Some(timeout)) =
            (config.statement_mode, config.statement_timeout)
        {
            // Session default for tenant connections; see context::SETUP_SQL.
            let options = format!(
                "{} -c statement_timeout={}",
                app_config.get_options().unwrap_or_default(),
                timeout.as_millis()
            );
            app_config.options(options.trim_start());
        }
        let app = build_pool(app_config, config.app_pool_size, config.acquire_timeout)?;
        let bare = build_pool(
            pg_config(&config.bare_url)?,
            config.bare_pool_size,
            config.acquire_timeout,
        )?;
        let owner = config
            .owner_url
            .as_deref()
            .map(|url| build_pool(pg_config(url)?, 2, config.acquire_timeout))
            .transpose()?;
        Ok(Database {
            app,
            bare,
            owner,
            statements: Arc::new(Statements::new(config.statement_mode)),
            config,
        })
    }

    /// The configuration the pools were built from.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// Pool occupancy of the tenant pool: (connections open, connections
    /// idle). For tests (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn tenant_pool_status(&self) -> (usize, usize) {
        let status = self.app.status();
        (status.size, status.available)
    }
}

fn pg_config(url: &str) -> Result<tokio_postgres::Config> {
    tokio_postgres::Config::from_str(url)
        .map_err(|e| DbError::Config(format!("invalid connection URL: {e}")))
}

fn build_pool(pg_config: tokio_postgres::Config, size: usize, timeout: Duration) -> Result<Pool> {
    let manager = Manager::from_config(
        pg_config,
        NoTls,
        ManagerConfig {
            // Fast: a connection comes back to the pool clean by construction
            // (transaction-local settings only, and a connection whose tenant
            // transaction was interrupted is discarded, never returned).
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .map_err(|e| DbError::Config(e.to_string()))
}
