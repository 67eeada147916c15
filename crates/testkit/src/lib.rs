//! Test support for tenantry and for products built on it: every test gets
//! its own database, and a tenant table's isolation is checked in a few lines.
//!
//! # Using it from your own crate
//!
//! Add it as a dev-dependency, next to `tokio` for `#[tokio::test]`; it
//! re-exports the rest an isolation test names ([`AppMigrations`],
//! [`Migration`], [`OrganizationId`], [`tokio_postgres`]):
//!
//! ```toml
//! [dev-dependencies]
//! tenantry-testkit = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! The machine needs PostgreSQL's server binaries (`initdb`, `pg_ctl`), on
//! the `PATH` or under `/usr/lib/postgresql/<version>/bin`; nothing is
//! downloaded.
//!
//! - [`TestDb`]: a fresh database per test, cloned from a template migrated
//!   once with tenantry's migrations and, through [`TestDb::builder`], your
//!   application's own ([`AppMigrations`]).
//! - [`as_authenticated_tenant`]: the seed's `asAuthenticatedTenant`. The
//!   owner ([`TestDb::owner`]) seeds data; then your statements run on a
//!   `tenantry_app` login, in a transaction, as `authenticated`, with the
//!   tenant set transaction-locally, and are rolled back.
//! - [`isolation::TenantTable`]: the ready-made isolation check of a tenant
//!   table (reads, WITH CHECK, foreign updates and deletes, the empty
//!   context, the unique-value and foreign-key oracles).
//!
//! ```no_run
//! use tenantry_testkit::isolation::TenantTable;
//! use tenantry_testkit::{AppMigrations, Migration, TestDb};
//!
//! const MIGRATIONS: &[Migration] = &[Migration::new(
//!     1,
//!     "0001_ticket.sql",
//!     "create table ticket (...)", // include_str!("../migrations/0001_ticket.sql")
//! )];
//!
//! #[tokio::test]
//! async fn tickets_are_isolated() {
//!     let app = AppMigrations::embedded(MIGRATIONS).unwrap();
//!     let test = TestDb::builder().app_migrations(&app).build().await;
//!     TenantTable::new("ticket")
//!         .insert("insert into ticket (organization_id, subject) values ($1, $2)")
//!         .unique_column("subject")
//!         .assert_isolated(&test)
//!         .await;
//! }
//! ```
//!
//! # Where the cluster lives, and what it reads from the environment
//!
//! The first test in a run starts (or reuses) a private PostgreSQL cluster
//! and builds a template database, migrated once, whose name carries a hash
//! of the migrations (tenantry's and, when given, the application's), so
//! editing a migration builds a new template. Each test then clones the
//! template with `CREATE DATABASE ... TEMPLATE`, which takes milliseconds,
//! so tests run in parallel without seeing each other's rows. The database
//! is dropped when the [`TestDb`] is.
//!
//! The cluster lives in `tenantry-test-cluster` under the calling package's
//! target directory: `CARGO_TARGET_DIR` when set, else the nearest
//! directory above the running test executable (which cargo puts in
//! `<target>/debug/deps`) that cargo marked with `CACHEDIR.TAG` or that is
//! named `target`, else the nearest `target` above the current directory.
//! So a downstream workspace gets its own cluster in its own `target/`,
//! shared by all its test binaries.
//!
//! - `TENANTRY_TEST_CLUSTER=DIR` puts the cluster in `DIR` instead.
//! - `TEST_LOG=1` shows the crates' logs (filtered by `RUST_LOG`).
//! - `TENANTRY_TEST_PGBOUNCER=1` runs the application logins through
//!   PgBouncer in transaction mode ([`pgbouncer`]).
//!
//! The isolation property tests share [`sequence`], their operation-sequence
//! strategy; [`http_client`] drives a running server's API as a user does.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tenantry_cluster::Cluster;
use tenantry_db::migrate;
use tenantry_db::setup::{self, RolePasswords};
use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};

/// What a test names besides the helpers: the application's migrations,
/// the typed organization id, and the database handle.
pub use tenantry_db::migrate::{AppMigrations, Migration};
pub use tenantry_db::{Database, DatabaseConfig, OrganizationId};
/// The PostgreSQL client the helpers hand out ([`Client`],
/// [`Transaction`](tokio_postgres::Transaction)), so a test needs no
/// dependency of its own to name them.
pub use tokio_postgres;

pub mod http_client;
pub mod isolation;
pub mod pgbouncer;
mod proxy;
pub mod server;
pub use proxy::RoundTripProxy;

/// A fixed-length operation sequence for proptest whose shrinking removes
/// operations, so that a failing isolation case shrinks to the few
/// operations that matter instead of the hundreds it started with.
pub mod sequence;

/// The cluster and template shared by every test of this process.
struct Shared {
    cluster_root: PathBuf,
    passwords: RolePasswords,
    /// The template with tenantry's migrations alone.
    template: String,
    /// Templates that also hold an application's migrations, by the hash
    /// of those migrations, each built at most once per process.
    app_templates: Mutex<HashMap<u64, Arc<OnceCell<String>>>>,
    /// PgBouncer's port when the run goes through it.
    pgbouncer_port: Option<u16>,
}

static SHARED: OnceCell<Shared> = OnceCell::const_new();

/// A fresh database for one test, migrated, with the three pools ready.
///
/// ```no_run
/// use tenantry_testkit::{AppMigrations, Migration, TestDb};
///
/// # async fn example() {
/// // tenantry's migrations alone:
/// let test = TestDb::new().await;
///
/// // ...and the application's after them, with a smaller tenant pool:
/// const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_ticket.sql", "create table ticket (...)")];
/// let app = AppMigrations::embedded(MIGRATIONS).expect("numbered migrations");
/// let test = TestDb::builder()
///     .app_migrations(&app)
///     .config(|c| c.app_pool_size = 2)
///     .build()
///     .await;
/// let owner = test.owner().await; // a superuser connection, for fixtures
/// let acme = TestDb::insert_organization(&owner, "acme").await;
/// # }
/// ```
pub struct TestDb {
    /// The database handle under test (tenant pool, bare pool, owner).
    pub db: Database,
    name: String,
    template: String,
    owner_url: String,
    maintenance_url: String,
}

/// How to make a [`TestDb`]: which migrations its template holds, and how to
/// adjust its configuration. From [`TestDb::builder`].
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct TestDbBuilder<'a> {
    app: Option<AppMigrations>,
    adjust: Vec<Adjust<'a>>,
}

/// One configuration adjustment of a [`TestDbBuilder`].
type Adjust<'a> = Box<dyn FnOnce(&mut DatabaseConfig) + Send + 'a>;

impl<'a> TestDbBuilder<'a> {
    /// Clone from a template that holds `app`'s migrations too, applied
    /// after tenantry's with [`tenantry_db::migrate_with`]. The template is
    /// built once per cluster for each distinct set of migrations.
    pub fn app_migrations(mut self, app: &AppMigrations) -> Self {
        self.app = Some(app.clone());
        self
    }

    /// Adjust the configuration before the pools are made (pool sizes,
    /// timeouts); several calls apply in order.
    pub fn config(mut self, adjust: impl FnOnce(&mut DatabaseConfig) + Send + 'a) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// The new database.
    pub async fn build(self) -> TestDb {
        let adjust = self.adjust;
        TestDb::create(self.app.as_ref(), move |config| {
            for adjust in adjust {
                adjust(config);
            }
        })
        .await
    }
}

impl TestDb {
    /// A new database cloned from the template migrated with tenantry's
    /// migrations.
    pub async fn new() -> TestDb {
        Self::with_config(|_| {}).await
    }

    /// Like [`TestDb::new`], adjusting the configuration first (pool sizes,
    /// timeouts).
    pub async fn with_config(adjust: impl FnOnce(&mut DatabaseConfig)) -> TestDb {
        Self::create(None, adjust).await
    }

    /// A new database whose template also holds `app`'s migrations:
    /// `TestDb::builder().app_migrations(app).build()`.
    pub async fn with_app_migrations(app: &AppMigrations) -> TestDb {
        Self::builder().app_migrations(app).build().await
    }

    /// A builder, for application migrations and configuration together.
    pub fn builder<'a>() -> TestDbBuilder<'a> {
        TestDbBuilder {
            app: None,
            adjust: Vec::new(),
        }
    }

    async fn create(
        app: Option<&AppMigrations>,
        adjust: impl FnOnce(&mut DatabaseConfig),
    ) -> TestDb {
        let shared = shared().await;
        let cluster = Cluster::new(&shared.cluster_root);
        let maintenance_url = cluster.owner_url("postgres").expect("cluster URL");
        let template = match app {
            Some(app) if !app.is_empty() => {
                app_template(shared, &cluster, &maintenance_url, app).await
            }
            _ => shared.template.clone(),
        };
        let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
        let maintenance = connect(&maintenance_url).await;
        create_database_from_template(&maintenance, &name, &template).await;
        let owner_url = cluster.owner_url(&name).expect("cluster URL");
        // A clone starts with PostgreSQL's default database privileges, not
        // the template's; `migrate` would restore them, so do what it does.
        tenantry_db::testing::restrict_database_privileges(&connect(&owner_url).await)
            .await
            .expect("database privileges");
        let mut config =
            setup::config_from_owner_url(&owner_url, &shared.passwords).expect("config");
        config.app_pool_size = 8;
        config.bare_pool_size = 4;
        if let Some(port) = shared.pgbouncer_port {
            let direct = format!("@{}/", server_addr_of(&owner_url));
            let pooled = format!("@127.0.0.1:{port}/");
            config.app_url = config.app_url.replace(&direct, &pooled);
            config.bare_url = config.bare_url.replace(&direct, &pooled);
            config.statement_mode = tenantry_db::StatementMode::Unnamed;
        }
        adjust(&mut config);
        let db = Database::connect(config).expect("pools");
        TestDb {
            db,
            name,
            template,
            owner_url,
            maintenance_url,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template it was cloned from: `tenantry_template_<hash>`, and
    /// `_<hash>` of the application's migrations when it has them.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The owner (superuser) URL of this database: for seeding test data.
    pub fn owner_url(&self) -> &str {
        &self.owner_url
    }

    /// The address the cluster listens on.
    pub fn server_addr(&self) -> std::net::SocketAddr {
        server_addr_of(&self.owner_url)
    }

    /// The address the tenant pool connects to: the cluster, or PgBouncer
    /// when the run goes through it.
    pub fn app_addr(&self) -> std::net::SocketAddr {
        server_addr_of(&self.db.config().app_url)
    }

    /// The tenant pool's URL pointed at another port on 127.0.0.1 (a proxy
    /// in front of [`TestDb::app_addr`]).
    pub fn app_url_via(&self, port: u16) -> String {
        let app = &self.db.config().app_url;
        let addr = self.app_addr();
        app.replace(&format!("@{addr}/"), &format!("@127.0.0.1:{port}/"))
    }

    /// A new connection as the owner.
    pub async fn owner(&self) -> Client {
        connect(&self.owner_url).await
    }

    /// A fixture organization named and slugged `slug` (unique in the
    /// database), inserted by the owner (`owner`, from [`TestDb::owner`]);
    /// its id. [`OrganizationId::from_uuid`] types it.
    pub async fn insert_organization(owner: &Client, slug: &str) -> uuid::Uuid {
        owner
            .query_one(
                "insert into organization (name, slug) values ($1, $1) returning id",
                &[&slug],
            )
            .await
            .expect("insert an organization")
            .get(0)
    }

    /// The login roles' passwords in this test cluster (roles are
    /// cluster-wide: setting others would lock every other test out).
    pub async fn role_passwords(&self) -> RolePasswords {
        shared().await.passwords.clone()
    }

    /// A new connection as the application login role `tenantry_app`, the
    /// way production connects. It can do nothing until it takes the
    /// `authenticated` role.
    pub async fn app_login(&self) -> Client {
        let shared = shared().await;
        let url = setup::url_with_login(&self.owner_url, setup::APP_ROLE, &shared.passwords.app)
            .expect("url");
        connect(&url).await
    }

    /// [`as_authenticated_tenant`] on a new [`TestDb::app_login`]
    /// connection: for a test that checks one thing. Keep one login and
    /// call the free function when there are many.
    ///
    /// ```no_run
    /// # use tenantry_testkit::{OrganizationId, TestDb};
    /// # async fn example(test: TestDb, acme: OrganizationId) {
    /// let projects: i64 = test
    ///     .as_authenticated_tenant(acme, async |tx| {
    ///         tx.query_one("select count(*) from project", &[]).await.unwrap().get(0)
    ///     })
    ///     .await;
    /// # }
    /// ```
    pub async fn as_authenticated_tenant<T>(
        &self,
        tenant: impl Into<TenantContext>,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> T,
    ) -> T {
        let mut app = self.app_login().await;
        as_authenticated_tenant(&mut app, tenant, work).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = self.maintenance_url.clone();
        let name = self.name.clone();
        // Dropping a database is async work; do it on a thread of its own so
        // it works from inside or outside a runtime. The wait is bounded: a
        // test's in-process server may have a connection half-way through
        // logging in on the very runtime this drop blocks, and `drop database
        // with (force)` waits for that login (up to PostgreSQL's
        // authentication_timeout, 60 s). After the bound the test ends, its
        // runtime and that connection go, and the drop completes on its own
        // thread, unless the test binary exits first: then the database is
        // left behind in the test cluster under target/ (a stalled drop is
        // rare: it needs a request in flight when the test ends).
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let _detached = std::thread::spawn(move || {
            let _done = done;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
                        .await;
                }
            });
            Ok::<_, std::io::Error>(())
        });
        let _ = finished.recv_timeout(std::time::Duration::from_secs(5));
    }
}

/// The tenant an [`as_authenticated_tenant`] transaction acts as: what it
/// sets `app.tenant_id` to, transaction-locally.
///
/// An [`OrganizationId`], a [`Uuid`](uuid::Uuid) or text convert into it,
/// and so do their `Option`s (`None` being [`TenantContext::NoTenant`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantContext {
    /// Nothing set: the empty context, which must see and write no tenant
    /// row.
    NoTenant,
    /// This organization.
    Organization(uuid::Uuid),
    /// This text, as it is: an empty or malformed setting, to check that it
    /// fails closed too.
    Raw(String),
}

impl TenantContext {
    /// The value for `app.tenant_id`, `None` when nothing is set.
    fn setting(&self) -> Option<String> {
        match self {
            TenantContext::NoTenant => None,
            TenantContext::Organization(id) => Some(id.to_string()),
            TenantContext::Raw(text) => Some(text.clone()),
        }
    }
}

impl From<OrganizationId> for TenantContext {
    fn from(id: OrganizationId) -> Self {
        TenantContext::Organization(id.as_uuid())
    }
}

impl From<uuid::Uuid> for TenantContext {
    fn from(id: uuid::Uuid) -> Self {
        TenantContext::Organization(id)
    }
}

impl From<&str> for TenantContext {
    fn from(text: &str) -> Self {
        TenantContext::Raw(text.to_owned())
    }
}

impl<T: Into<TenantContext>> From<Option<T>> for TenantContext {
    fn from(tenant: Option<T>) -> Self {
        tenant.map_or(TenantContext::NoTenant, Into::into)
    }
}

/// Run `work` the way the seed's `asAuthenticatedTenant` does: on `client`,
/// a `tenantry_app` login ([`TestDb::app_login`]), in a transaction that
/// first runs `SET LOCAL ROLE authenticated` and sets `app.tenant_id`
/// transaction-locally to `tenant` (nothing for
/// [`TenantContext::NoTenant`]), so every statement of `work` is under the
/// tenant tables' policies, as in production. The transaction is always
/// rolled back afterwards, whether `work` succeeded or not: tests look,
/// they do not keep. Seed data beforehand as the owner ([`TestDb::owner`]),
/// which bypasses RLS.
///
/// `work` returns whatever it likes; a statement's `Result` is the usual
/// choice, so a test can assert that it was refused. Panics when the
/// transaction cannot be opened or the role and tenant cannot be set.
///
/// ```no_run
/// use tenantry_testkit::{OrganizationId, TenantContext, TestDb, as_authenticated_tenant};
///
/// # async fn example() {
/// let test = TestDb::new().await;
/// let owner = test.owner().await;
/// let acme = TestDb::insert_organization(&owner, "acme").await;
/// let globex = TestDb::insert_organization(&owner, "globex").await;
/// owner
///     .execute("insert into project (organization_id, name) values ($1, 'Globex only')", &[&globex])
///     .await
///     .unwrap();
///
/// let mut app = test.app_login().await;
/// let seen: i64 = as_authenticated_tenant(&mut app, OrganizationId::from_uuid(acme), async |tx| {
///     tx.query_one("select count(*) from project", &[]).await.unwrap().get(0)
/// })
/// .await;
/// assert_eq!(seen, 0, "Acme sees none of Globex's projects");
///
/// let refused = as_authenticated_tenant(&mut app, TenantContext::NoTenant, async |tx| {
///     tx.execute("insert into project (organization_id, name) values ($1, 'x')", &[&acme]).await
/// })
/// .await;
/// assert!(refused.is_err(), "no tenant, no writes");
/// # }
/// ```
pub async fn as_authenticated_tenant<T>(
    client: &mut Client,
    tenant: impl Into<TenantContext>,
    work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> T,
) -> T {
    let tx = begin_as_authenticated(client, &tenant.into()).await;
    let result = work(&tx).await;
    tx.rollback().await.expect("rollback");
    result
}

/// A transaction on `client` as `authenticated`, `tenant` set
/// transaction-locally.
pub(crate) async fn begin_as_authenticated<'c>(
    client: &'c mut Client,
    tenant: &TenantContext,
) -> tokio_postgres::Transaction<'c> {
    let tx = client.transaction().await.expect("begin");
    tx.batch_execute("set local role authenticated")
        .await
        .expect("set role");
    if let Some(tenant) = tenant.setting() {
        tx.execute("select set_config('app.tenant_id', $1, true)", &[&tenant])
            .await
            .expect("set tenant");
    }
    tx
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago):
/// [`tenantry_cluster::free_port`], panicking as tests do when there is none.
pub fn free_port() -> u16 {
    tenantry_cluster::free_port().expect("a free port")
}

/// A [`Database`] whose logins point at a port nobody listens on: every
/// connection attempt is refused, as when PostgreSQL is down.
pub fn unreachable_database() -> Database {
    let url = format!(
        "postgresql://{}:x@127.0.0.1:{}/tenantry",
        setup::APP_ROLE,
        free_port()
    );
    Database::connect(DatabaseConfig::new(&url, &url)).expect("pools for an unreachable database")
}

/// Connect with tokio-postgres directly and drive the connection in the background.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to test database: {e}"));
    tokio::spawn(connection);
    client
}

async fn shared() -> &'static Shared {
    SHARED.get_or_init(init_shared).await
}

async fn init_shared() -> Shared {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let cluster_root = cluster_root();
    let cluster = Cluster::new(&cluster_root);
    let start_root = cluster_root.clone();
    tokio::task::spawn_blocking(move || Cluster::new(start_root).start())
        .await
        .expect("cluster start task")
        .unwrap_or_else(|e| panic!("cannot start the test cluster: {e}"));
    let kept = tenantry_cluster::secrets::load_or_create_role_passwords(&cluster_root)
        .expect("role passwords");
    let passwords = RolePasswords {
        app: kept.app,
        bare: kept.bare,
    };
    let maintenance_url = cluster.owner_url("postgres").expect("cluster URL");
    let template = format!("tenantry_template_{:016x}", migrations_hash());
    build_template_once(
        &cluster,
        &maintenance_url,
        &template,
        &passwords,
        &AppMigrations::none(),
    )
    .await;
    let pgbouncer_port = if pgbouncer::enabled() {
        let (root, pw) = (cluster_root.clone(), passwords.clone());
        let port = cluster.port().expect("cluster port");
        Some(
            tokio::task::spawn_blocking(move || pgbouncer::ensure_running(&root, port, &pw))
                .await
                .expect("pgbouncer start task"),
        )
    } else {
        None
    };
    Shared {
        cluster_root,
        passwords,
        template,
        app_templates: Mutex::new(HashMap::new()),
        pgbouncer_port,
    }
}

/// The template holding tenantry's migrations and `app`'s, built on first
/// use (once per process here, once per cluster under the template lock).
async fn app_template(
    shared: &Shared,
    cluster: &Cluster,
    maintenance_url: &str,
    app: &AppMigrations,
) -> String {
    let hash = app_migrations_hash(app);
    let cell = shared
        .app_templates
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(hash)
        .or_default()
        .clone();
    cell.get_or_init(async || {
        // 18 + 16 + 1 + 16 characters, and `_building` while it is built:
        // within PostgreSQL's 63, which would otherwise truncate silently.
        let template = format!("{}_{hash:016x}", shared.template);
        build_template_once(cluster, maintenance_url, &template, &shared.passwords, app).await;
        template
    })
    .await
    .clone()
}

/// The `ip:port` of a connection URL (`postgres://user:pw@ip:port/db`).
fn server_addr_of(url: &str) -> std::net::SocketAddr {
    let host_port = url
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("URL has a host");
    host_port
        .parse()
        .expect("URL host is an IP address and port")
}

fn cluster_root() -> PathBuf {
    if let Some(root) = std::env::var_os("TENANTRY_TEST_CLUSTER") {
        return root.into();
    }
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    target_dir(
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
        exe.as_deref(),
        &cwd,
    )
    .join("tenantry-test-cluster")
}

/// The calling package's target directory. Not this crate's manifest
/// directory: for a downstream crate that is a registry or path dependency,
/// far from the caller's `target`.
fn target_dir(cargo_target_dir: Option<PathBuf>, exe: Option<&Path>, cwd: &Path) -> PathBuf {
    if let Some(dir) = cargo_target_dir {
        return if dir.is_absolute() {
            dir
        } else {
            cwd.join(dir)
        };
    }
    // A test binary runs from <target>/<profile>/deps (or with a target
    // triple in between); cargo marks the target directory with CACHEDIR.TAG
    // when it creates it, and names it `target` unless told otherwise.
    let is_target = |dir: &Path| {
        dir.join("CACHEDIR.TAG").is_file() || dir.file_name().is_some_and(|n| n == "target")
    };
    if let Some(dir) = exe.and_then(|exe| exe.ancestors().skip(1).find(|dir| is_target(dir))) {
        return dir.to_path_buf();
    }
    // Doctests run from a temporary directory, with the package's directory
    // as the current one: the nearest `target` above it.
    cwd.ancestors()
        .map(|dir| dir.join("target"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| cwd.join("target"))
}

fn migrations_hash() -> u64 {
    let mut hasher = DefaultHasher::new();
    for migration in migrate::MIGRATIONS {
        migration.version.hash(&mut hasher);
        migration.sql.hash(&mut hasher);
    }
    hasher.finish()
}

/// The names are hashed too: they are recorded, so a renamed file is a
/// different history.
fn app_migrations_hash(app: &AppMigrations) -> u64 {
    let mut hasher = DefaultHasher::new();
    for migration in app.iter() {
        migration.version.hash(&mut hasher);
        migration.name.hash(&mut hasher);
        migration.sql.hash(&mut hasher);
    }
    hasher.finish()
}

/// Build the template under a cluster-wide advisory lock, so concurrent test
/// processes build it once. It is built under a temporary name and renamed
/// when complete: a run that died half-way leaves no usable-looking template.
async fn build_template_once(
    cluster: &Cluster,
    maintenance_url: &str,
    template: &str,
    passwords: &RolePasswords,
    app: &AppMigrations,
) {
    let maintenance = connect(maintenance_url).await;
    maintenance
        .execute("select pg_advisory_lock(7157)", &[])
        .await
        .expect("template lock");
    let exists = database_exists(&maintenance, template).await;
    if !exists {
        let building = format!("{template}_building");
        // One statement per call: DROP and CREATE DATABASE refuse to run in
        // the implicit transaction of a multi-statement query.
        for statement in [
            format!("drop database if exists \"{building}\" with (force)"),
            format!("create database \"{building}\""),
        ] {
            maintenance
                .batch_execute(&statement)
                .await
                .expect("create template");
        }
        let owner_url = cluster.owner_url(&building).expect("cluster URL");
        let config = setup::config_from_owner_url(&owner_url, passwords).expect("config");
        let db = Database::connect(config).expect("pools");
        tenantry_db::migrate_with(&db, app)
            .await
            .unwrap_or_else(|e| panic!("migrate the template {template}: {e}"));
        drop(db);
        maintenance
            .execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1",
                &[&building],
            )
            .await
            .expect("disconnect template");
        maintenance
            .batch_execute(&format!(
                "alter database \"{building}\" rename to \"{template}\""
            ))
            .await
            .expect("rename template");
    }
    // Roles are cluster-wide: (re)set their passwords to this cluster's file.
    let config = setup::config_from_owner_url(maintenance_url, passwords).expect("config");
    let db = Database::connect(config).expect("pools");
    setup::set_role_passwords(&db, passwords)
        .await
        .expect("role passwords");
    maintenance
        .execute("select pg_advisory_unlock(7157)", &[])
        .await
        .expect("template unlock");
}

async fn database_exists(client: &Client, name: &str) -> bool {
    client
        .query_opt("select 1 from pg_database where datname = $1", &[&name])
        .await
        .expect("pg_database")
        .is_some()
}

async fn create_database_from_template(maintenance: &Client, name: &str, template: &str) {
    let sql = format!("create database \"{name}\" template \"{template}\"");
    for attempt in 0.. {
        match maintenance.batch_execute(&sql).await {
            Ok(()) => return,
            // Another process's template build or clone may briefly hold it.
            Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("create test database: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_directory_is_the_callers_not_this_crates() {
        let scratch = std::env::temp_dir().join(format!("testkit-{}", uuid::Uuid::new_v4()));
        let downstream = scratch.join("helpdesk");
        let deps = downstream.join("build-out/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        let exe = deps.join("isolation-0123");
        let cwd = downstream.join("crates/tickets");

        // CARGO_TARGET_DIR wins, relative to the current directory.
        assert_eq!(
            target_dir(Some("out".into()), Some(&exe), &cwd),
            cwd.join("out")
        );
        // A target directory named otherwise, marked by cargo.
        std::fs::write(downstream.join("build-out/CACHEDIR.TAG"), "").unwrap();
        assert_eq!(
            target_dir(None, Some(&exe), &cwd),
            downstream.join("build-out")
        );
        // The usual `target`, unmarked (copied build artifacts).
        let deps = downstream.join("target/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        assert_eq!(
            target_dir(None, Some(&deps.join("t")), &cwd),
            downstream.join("target")
        );
        // No executable under a target (a doctest): the nearest `target` above.
        std::fs::create_dir_all(&cwd).unwrap();
        assert_eq!(
            target_dir(None, Some(&scratch.join("rust_out")), &cwd),
            downstream.join("target")
        );
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
