//! # tenantry-server: the one way to start tenantry
//!
//! [`Application::build`] readies a database and a listener, in this order:
//! migrate, set the login roles' passwords (when given), load the demo data
//! (when asked), refuse an unsafe database (docs/architecture.md invariant 9), bind, and
//! compose the HTTP API with the MCP server at `/mcp`. `tenantry serve`, the
//! test suites and the benchmark all start the server through it, so what
//! they test is what runs.
//!
//! Above the surfaces (`tenantry-api`, `tenantry-mcp`) and below the CLI; it
//! knows no command-line flags and prints nothing to stdout.
//!
//! ```no_run
//! # async fn example(db: tenantry_db::Database) -> Result<(), tenantry_server::ServerError> {
//! use tenantry_server::{Application, AuthSettings, Settings};
//! let settings = Settings::new(db, AuthSettings::new(b"a secret of at least 32 characters".to_vec()));
//! let app = Application::build(settings).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until(std::future::pending()).await
//! # }
//! ```
//!
//! An application built on tenantry hands its own migrations, routes,
//! OpenAPI paths and MCP tools to the same builder as an [`Extension`]
//! (docs/building-on-tenantry.md): they are migrated after tenantry's,
//! checked by the same safety check, and served behind the same
//! authentication, limits and error format.

#![deny(missing_docs)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt;
use tenantry_db::setup::RolePasswords;
use tenantry_db::{AppMigrations, Database, DbError, MigrationReport};
use tenantry_lint::{Finding, LintConfig};
use tenantry_mcp::OwnedSessions;
use tokio::net::TcpListener;

pub use tenantry_api::{
    ApiExtension, AppState, AuthSettings, Mailer, PasswordHashing, RateLimits, TrustedProxies,
};
pub use tenantry_mcp::{OrganizationTool, Tools};

/// What an application built on tenantry adds to the server: its own
/// migrations (applied after tenantry's), its HTTP routes and OpenAPI
/// paths, and its MCP tools.
///
/// ```no_run
/// # async fn example(db: tenantry_db::Database, settings: tenantry_server::Settings) -> Result<(), Box<dyn std::error::Error>> {
/// use tenantry_server::{Extension, Tools};
/// let extension = Extension {
///     migrations: tenantry_db::AppMigrations::from_dir("migrations".as_ref())?,
///     api: tenantry_server::ApiExtension::default(),
///     mcp_tools: Tools::new(),
///     schemas: Vec::new(),
/// };
/// let app = tenantry_server::Application::build(settings.extension(extension)).await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Extension {
    /// The application's migrations ([`AppMigrations`]).
    pub migrations: AppMigrations,
    /// Its routes and their OpenAPI paths.
    pub api: ApiExtension,
    /// Its MCP tools.
    pub mcp_tools: Tools,
    /// Schemas besides `public` and `app` that hold its tables, for the
    /// start-up safety check to read (a table in a schema it does not read
    /// is refused: lint `table_outside_audited_schemas`).
    pub schemas: Vec<String>,
}

/// What to do with the findings of the start-up safety check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SafetyCheck {
    /// Refuse to start on any finding.
    #[default]
    Refuse,
    /// Start anyway, warning on every start (`--allow-unsafe-database`).
    Warn,
    /// Do not look: for a database the caller knows cannot answer, or one
    /// that holds tables outside tenantry's schema on purpose (the benchmark's).
    Skip,
}

/// Called with the migration report once the migrations are applied and the
/// role passwords set, before a later step can fail.
pub type MigrationObserver = Box<dyn FnOnce(&MigrationReport) + Send>;

/// How to start. [`Settings::new`] gives what a test wants: a free port on
/// loopback, migrations, the safety check, no seed, the log mailer.
pub struct Settings {
    /// The database to ready and serve.
    pub database: Database,
    /// Session cookies, trusted origins, invitation rules.
    pub auth: AuthSettings,
    /// Where to listen; port 0 picks a free one.
    pub address: SocketAddr,
    /// Apply the migrations first. Off only for a database that cannot answer.
    pub migrate: bool,
    /// Set the login roles' passwords to these after migrating, where
    /// tenantry manages them.
    pub role_passwords: Option<RolePasswords>,
    /// Load the demo organizations, users and AI models.
    pub demo_data: bool,
    /// The start-up safety check.
    pub safety_check: SafetyCheck,
    /// Where verification and reset links go; `None` logs them.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// The MCP server's session store, for a test that watches it.
    pub mcp_sessions: Arc<OwnedSessions>,
    /// See [`MigrationObserver`].
    pub on_migrated: Option<MigrationObserver>,
    /// Abuse limits and trusted proxies: on, with Better Auth's rules, and
    /// no proxy trusted ([`RateLimits::default`]).
    pub rate_limits: RateLimits,
    /// What the application adds: none by default.
    pub extension: Extension,
}

impl Settings {
    /// Serve `database` with `auth` on `127.0.0.1:0`, migrated and checked.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tenantry_server::{AuthSettings, Settings};
    /// # fn example(db: tenantry_db::Database) {
    /// let mut settings = Settings::new(db, AuthSettings::new(b"a secret of at least 32 characters".to_vec()));
    /// settings.demo_data = true; // Acme, Globex and Initech
    /// # }
    /// ```
    pub fn new(database: Database, auth: AuthSettings) -> Self {
        Settings {
            database,
            auth,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            migrate: true,
            role_passwords: None,
            demo_data: false,
            safety_check: SafetyCheck::Refuse,
            mailer: None,
            mcp_sessions: Arc::default(),
            on_migrated: None,
            rate_limits: RateLimits::default(),
            extension: Extension::default(),
        }
    }

    /// Serve the application's `extension` with tenantry.
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extension = extension;
        self
    }

    /// Apply `limits` (e.g. [`RateLimits::off`] for a test that signs up
    /// many users from one address).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Listen on `address`.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Whether to apply the migrations.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Set the login roles' passwords after migrating.
    pub fn role_passwords(mut self, passwords: RolePasswords) -> Self {
        self.role_passwords = Some(passwords);
        self
    }

    /// Whether to load the demo data.
    pub fn demo_data(mut self, demo_data: bool) -> Self {
        self.demo_data = demo_data;
        self
    }

    /// What the safety check's findings do.
    pub fn safety_check(mut self, safety_check: SafetyCheck) -> Self {
        self.safety_check = safety_check;
        self
    }

    /// Send links through `mailer`.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Keep MCP sessions in `sessions`.
    pub fn mcp_sessions(mut self, sessions: Arc<OwnedSessions>) -> Self {
        self.mcp_sessions = sessions;
        self
    }

    /// Hand the migration report to `observer`.
    pub fn on_migrated(mut self, observer: impl FnOnce(&MigrationReport) + Send + 'static) -> Self {
        self.on_migrated = Some(Box::new(observer));
        self
    }
}

/// Why the server did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Applying the migrations failed.
    #[error("migrating")]
    Migrate(#[source] DbError),
    /// Setting the login roles' passwords failed.
    #[error("setting the login roles' passwords")]
    RolePasswords(#[source] DbError),
    /// Loading the demo data failed.
    #[error("seeding")]
    Seed(#[source] DbError),
    /// The safety check could not run.
    #[error("checking the database is safe to serve")]
    SafetyCheck(#[source] DbError),
    /// Two of the application's MCP tools, or one of them and one of
    /// tenantry's, have this name.
    #[error("the MCP tool name {0} is taken: give the application's tool another name")]
    ToolNameTaken(String),
    /// An OpenAPI schema of the application has the name of a different
    /// one of tenantry's (rename it, e.g. `#[schema(as = NewTicket)]`).
    #[error(
        "the OpenAPI schema name {0} is taken by one of tenantry's: give the application's type another name (e.g. #[schema(as = ...)])"
    )]
    SchemaNameTaken(String),
    /// The safety check found these; the server refused to start.
    #[error(
        "refusing to serve an unsafe database ({} security lint(s) failed; --allow-unsafe-database overrides):\n{}",
        findings.len(),
        findings_with_fixes(findings)
    )]
    Unsafe {
        /// Every error-level finding.
        findings: Vec<Finding>,
    },
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error(transparent)]
    Serve(std::io::Error),
}

impl ServerError {
    /// The findings that made the server refuse to start, if that is why.
    pub fn unsafe_findings(&self) -> Option<&[Finding]> {
        match self {
            ServerError::Unsafe { findings } => Some(findings),
            _ => None,
        }
    }
}

/// One line per finding, naming the object (the table, the policy) and
/// what is wrong, with its fix where one statement can fix it.
fn findings_with_fixes(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let fix = f
                .fix
                .as_deref()
                .map(|fix| format!("\n    fix: {fix}"))
                .unwrap_or_else(|| "\n    fix: see `tenantry audit` and docs/audit.md".into());
            format!("  {} {}: {}{fix}", f.lint, f.object, f.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn finding_list(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} ({})", f.lint, f.object))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A readied database and a bound listener. Binding is separate from running
/// so the caller learns the port first.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Ready the database, bind, and compose the routes (see the crate docs).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tenantry_server::{Application, AuthSettings, SafetyCheck, Settings};
    /// # async fn example(db: tenantry_db::Database) -> Result<(), tenantry_server::ServerError> {
    /// let mut settings = Settings::new(db, AuthSettings::new(b"a secret of at least 32 characters".to_vec()));
    /// settings.address = "127.0.0.1:8080".parse().unwrap();
    /// settings.safety_check = SafetyCheck::Refuse; // the default: an unsafe table stops start-up
    /// let app = Application::build(settings).await?;
    /// let stop = async { tokio::signal::ctrl_c().await.ok(); };
    /// app.run_until(stop).await
    /// # }
    /// ```
    pub async fn build(settings: Settings) -> Result<Application, ServerError> {
        let Settings {
            database: db,
            auth,
            address,
            migrate,
            role_passwords,
            demo_data,
            safety_check,
            mailer,
            mcp_sessions,
            on_migrated,
            rate_limits,
            extension,
        } = settings;
        if let Some(name) = extension.mcp_tools.clashing_name() {
            return Err(ServerError::ToolNameTaken(name));
        }
        if let Some(name) = tenantry_api::openapi::clashing_schemas(&extension.api.openapi)
            .into_iter()
            .next()
        {
            return Err(ServerError::SchemaNameTaken(name));
        }
        let migrated = if migrate {
            Some(
                tenantry_db::migrate_with(&db, &extension.migrations)
                    .await
                    .map_err(ServerError::Migrate)?,
            )
        } else {
            None
        };
        if let Some(passwords) = &role_passwords {
            tenantry_db::setup::set_role_passwords(&db, passwords)
                .await
                .map_err(ServerError::RolePasswords)?;
        }
        if let (Some(report), Some(observer)) = (&migrated, on_migrated) {
            observer(report);
        }
        if demo_data {
            let report = tenantry_db::seed(&db).await.map_err(ServerError::Seed)?;
            tracing::info!(inserted = report.inserted, "demo data loaded");
        }
        check_safety(&db, safety_check, &extension.schemas).await?;
        let mailer = mailer.unwrap_or_else(|| {
            tracing::warn!(
                "reset and verification links go to the log (the default mailer); plug in a Mailer for production"
            );
            Arc::new(tenantry_api::LogMailer)
        });
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        Ok(Application {
            listener,
            router: surfaces(db, auth, mailer, mcp_sessions, rate_limits, extension),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serve until `shutdown` completes, then finish in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        // Small JSON responses must not wait for Nagle's algorithm: without
        // TCP_NODELAY a request/response pair can stall ~40 ms on delayed ACKs.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        // The peer's address is the client's (or its proxy's): the limits key on it.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve)
    }
}

/// The HTTP API and, at `/mcp`, the MCP server, over one database: the only
/// place the surfaces' state is made.
fn surfaces(
    db: Database,
    auth: AuthSettings,
    mailer: Arc<dyn Mailer>,
    mcp_sessions: Arc<OwnedSessions>,
    rate_limits: RateLimits,
    extension: Extension,
) -> Router {
    // One service layer behind both surfaces, so HTTP and MCP apply the
    // same rules with the same settings, and count refused credentials together.
    let trusted = Arc::new(rate_limits.trusted_proxies.clone());
    let state = tenantry_api::AppState::with_limits(db, auth, mailer, rate_limits);
    let app = state.app.clone();
    let api = tenantry_api::router_with(state, extension.api);
    api.merge(tenantry_mcp::router_with(
        app,
        mcp_sessions,
        extension.mcp_tools,
    ))
    .layer(axum::middleware::from_fn_with_state(
        trusted,
        tenantry_api::limits::identify_client,
    ))
}

/// The security lints of `tenantry audit`, through the tenant pool's own
/// login (docs/architecture.md invariant 9).
async fn check_safety(
    db: &Database,
    check: SafetyCheck,
    schemas: &[String],
) -> Result<(), ServerError> {
    if check == SafetyCheck::Skip {
        return Ok(());
    }
    let mut config = LintConfig::default();
    config.schemas.extend(schemas.iter().cloned());
    let findings = tenantry_lint::check_safe_to_serve(db, &config)
        .await
        .map_err(ServerError::SafetyCheck)?;
    match check {
        SafetyCheck::Warn => {
            tracing::warn!(
                findings = %finding_list(&findings),
                "started with --allow-unsafe-database: tenant isolation is not guaranteed; run `tenantry audit` for fixes"
            );
            Ok(())
        }
        _ if findings.is_empty() => Ok(()),
        _ => Err(ServerError::Unsafe { findings }),
    }
}
