//! Test support for tenantry: every test gets its own database.
//!
//! The first test in a run starts (or reuses) a private cluster under
//! `target/tenantry-test-cluster` and builds a template database, migrated
//! once, whose name carries a hash of the migrations. Each test then clones
//! the template with `CREATE DATABASE ... TEMPLATE`, which takes milliseconds,
//! so tests run in parallel without seeing each other's rows. The database is
//! dropped when the [`TestDb`] is.
//!
//! Set `TENANTRY_TEST_CLUSTER` to put the cluster elsewhere, `TEST_LOG=1`
//! to see the crates' logs, and `TENANTRY_TEST_PGBOUNCER=1` to run the
//! application logins through PgBouncer in transaction mode ([`pgbouncer`]).
//!
//! The isolation property tests share [`sequence`], their operation-sequence
//! strategy; [`http_client`] drives a running server's API as a user does.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use tenantry_cluster::Cluster;
use tenantry_db::setup::{self, RolePasswords};
use tenantry_db::{Database, DatabaseConfig, migrate};
use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};

pub mod http_client;
pub mod pgbouncer;
mod proxy;
pub use proxy::RoundTripProxy;

/// A fixed-length operation sequence for proptest whose shrinking removes
/// operations, so that a failing isolation case shrinks to the few
/// operations that matter instead of the hundreds it started with.
pub mod sequence;

/// The cluster and template shared by every test of this process.
struct Shared {
    cluster_root: PathBuf,
    passwords: RolePasswords,
    template: String,
    /// PgBouncer's port when the run goes through it.
    pgbouncer_port: Option<u16>,
}

static SHARED: OnceCell<Shared> = OnceCell::const_new();

/// A fresh database for one test, migrated, with the three pools ready.
pub struct TestDb {
    /// The database handle under test (tenant pool, bare pool, owner).
    pub db: Database,
    name: String,
    owner_url: String,
    maintenance_url: String,
}

impl TestDb {
    /// A new database cloned from the migrated template.
    pub async fn new() -> TestDb {
        Self::with_config(|_| {}).await
    }

    /// Like [`TestDb::new`], adjusting the configuration first (pool sizes,
    /// timeouts).
    pub async fn with_config(adjust: impl FnOnce(&mut DatabaseConfig)) -> TestDb {
        let shared = shared().await;
        let cluster = Cluster::new(&shared.cluster_root);
        let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
        let maintenance_url = cluster.owner_url("postgres").expect("cluster URL");
        let maintenance = connect(&maintenance_url).await;
        create_database_from_template(&maintenance, &name, &shared.template).await;
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
            owner_url,
            maintenance_url,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
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

    /// A fixture organization named and slugged `slug`, inserted by the
    /// owner (`owner`, from [`TestDb::owner`]); its id.
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

/// Run `work` the way the seed's `asAuthenticatedTenant` does, on a
/// `tenantry_app` connection: in a transaction, `SET LOCAL ROLE
/// authenticated` and, unless `tenant` is `None`, the tenant set
/// transaction-locally. The transaction is always rolled back afterwards:
/// tests look, they do not keep.
pub async fn as_authenticated_tenant<T>(
    client: &mut Client,
    tenant: Option<&str>,
    work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> T,
) -> T {
    let tx = client.transaction().await.expect("begin");
    tx.batch_execute("set local role authenticated")
        .await
        .expect("set role");
    if let Some(tenant) = tenant {
        tx.execute("select set_config('app.tenant_id', $1, true)", &[&tenant])
            .await
            .expect("set tenant");
    }
    let result = work(&tx).await;
    tx.rollback().await.expect("rollback");
    result
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
    build_template_once(&cluster, &maintenance_url, &template, &passwords).await;
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
        pgbouncer_port,
    }
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
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("tenantry-test-cluster")
}

fn migrations_hash() -> u64 {
    let mut hasher = DefaultHasher::new();
    for migration in migrate::MIGRATIONS {
        migration.version.hash(&mut hasher);
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
        migrate(&db).await.expect("migrate template");
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
