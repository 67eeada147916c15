//! The database operations measured in-process, each exactly what its table
//! row says it measures.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::TryStreamExt;
use tenantry_db::prelude::*;
use tenantry_db::{Database, DbError, Tenant, autocommit, with_tenant_context};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, PipelineStatement};

use crate::data::{org_of, project_uuid};
use crate::load::{Rng, Sample, drive};

/// The tenant point read: RLS supplies the organization.
pub const POINT_TENANT: &str = "select name from project where id = $1";
/// The bare point read: the same lookup by (organization_id, id) on the
/// RLS-free twin, so the app login can run it with no tenant context.
pub const POINT_BARE: &str =
    "select name from project_norls where organization_id = $1 and id = $2";
/// 100 rows of the tenant, filtered by RLS alone.
pub const LIST_RLS: &str = "select id, name from project order by id limit 100";
/// The same 100 rows filtered by an explicit predicate on the RLS-free twin.
pub const LIST_EXPLICIT: &str =
    "select id, name from project_norls where organization_id = $1 order by id limit 100";

/// A pool built exactly like tenantry's tenant pool (same URL, same size,
/// same recycling), for the bare baseline: tenantry does not hand its own
/// pools out, by design.
pub fn bare_pool(app_url: &str, size: usize) -> anyhow::Result<Pool> {
    pool_with_options(app_url, size, None)
}

/// [`bare_pool`] whose connections start with `options` (`-c name=value ...`).
pub fn pool_with_options(
    app_url: &str,
    size: usize,
    options: Option<&str>,
) -> anyhow::Result<Pool> {
    let mut config = tokio_postgres::Config::from_str(app_url).context("app URL")?;
    if let Some(options) = options {
        config.options(options);
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()?)
}

/// Point reads with no tenant context: one Bind/Execute/Sync per read.
pub async fn point_bare(
    pool: Pool,
    rows: u64,
    tenants: u64,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    drive_pool_reads(pool, rows, clients, duration, move |conn, g| async move {
        let statement = conn.prepare_cached(POINT_BARE).await?;
        let row = conn
            .query_opt(&statement, &[&org_of(g, tenants), &project_uuid(g)])
            .await?;
        ensure!(row.is_some(), "bare read: project {g} missing");
        Ok(())
    })
    .await
}

/// `clients` loops of `read(connection, g)` for a random project `g`, each
/// read on a connection of its own from `pool` (returned when `read` ends).
async fn drive_pool_reads<F, Fut>(
    pool: Pool,
    rows: u64,
    clients: usize,
    duration: Duration,
    read: F,
) -> anyhow::Result<Sample>
where
    F: Fn(deadpool_postgres::Object, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let pool = Arc::new(pool);
    drive(clients, duration, move |_, mut rng: Rng| {
        let (pool, read) = (pool.clone(), read.clone());
        async move {
            let g = rng.one_to(rows);
            read(pool.get().await?, g).await?;
            Ok(rng)
        }
    })
    .await
}

/// How a tenant point read is issued.
#[derive(Clone, Copy, Debug)]
pub enum TenantForm {
    /// `autocommit(db, tenant).query_opt(..)`: setup and read under one Sync.
    Autocommit,
    /// `with_tenant_context(db, tenant, |tx| tx.query_opt(..))`: BEGIN, setup
    /// and read in one flush, then COMMIT.
    Closure,
}

/// Point reads in the tenant context, as the tenant owning the row.
pub async fn point_tenant(
    db: Database,
    form: TenantForm,
    rows: u64,
    tenants: u64,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    drive(clients, duration, move |_, mut rng: Rng| {
        let db = db.clone();
        async move {
            let g = rng.one_to(rows);
            let tenant = Tenant::without_membership_check(org_of(g, tenants));
            let id = project_uuid(g);
            let row = match form {
                TenantForm::Autocommit => {
                    autocommit(&db, tenant)
                        .query_opt(POINT_TENANT, &[&id])
                        .await?
                }
                TenantForm::Closure => {
                    with_tenant_context(&db, tenant, async |tx| {
                        tx.query_opt(POINT_TENANT, &[&id]).await
                    })
                    .await?
                }
            };
            ensure!(
                row.is_some(),
                "tenant read: project {g} not visible to its tenant"
            );
            Ok(rng)
        }
    })
    .await
}

/// A 100-row list in a tenant transaction, filtered by RLS or explicitly.
pub async fn list(
    db: Database,
    tenants: u64,
    explicit: bool,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    drive(clients, duration, move |_, mut rng: Rng| {
        let db = db.clone();
        async move {
            let org = org_of(rng.one_to(tenants), tenants);
            let tenant = Tenant::without_membership_check(org);
            let rows = with_tenant_context(&db, tenant, async |tx| {
                if explicit {
                    tx.query(LIST_EXPLICIT, &[&org]).await
                } else {
                    tx.query(LIST_RLS, &[]).await
                }
            })
            .await
            .map_err(|e: DbError| anyhow::anyhow!(e))?;
            ensure!(!rows.is_empty(), "list: organization {org} has no rows");
            Ok(rng)
        }
    })
    .await
}

/// The tenant point read rebuilt from its parts for `--decompose`, as is or
/// with one part changed: the setup and the read under one Sync through the
/// same `Client::query_after` that `autocommit` uses, on a pool of the same
/// shape, without tenantry_db's code around it.
#[derive(Clone, Copy, Debug)]
pub enum Decomposed {
    /// Nothing changed: what tenantry_db's own code costs on top.
    Full,
    /// The role is a session default of the connection (a start-up option)
    /// instead of `set_config('role', ..)` in every transaction: what
    /// docs/architecture.md's invariant 3 costs. Not something tenantry offers.
    NoRoleSwitch,
    /// tenantry's whole setup, then the bare read of the RLS-free twin: what
    /// the setup statement costs without RLS on the read.
    SetupThenBareRead,
}

impl Decomposed {
    /// The start-up options of the pool's connections: tenantry's tenant
    /// pool carries the statement timeout the same way.
    pub fn options(self, statement_timeout_ms: u128) -> String {
        match self {
            Decomposed::NoRoleSwitch => {
                format!("-c role=authenticated -c statement_timeout={statement_timeout_ms}")
            }
            Decomposed::SetupThenBareRead | Decomposed::Full => {
                format!("-c statement_timeout={statement_timeout_ms}")
            }
        }
    }

    fn setup(self) -> &'static str {
        match self {
            Decomposed::NoRoleSwitch => {
                "select set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)"
            }
            // The text of tenantry_db's setup statement (context::SETUP_SQL).
            Decomposed::SetupThenBareRead | Decomposed::Full => {
                "select set_config('role', 'authenticated', true), \
                 set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)"
            }
        }
    }
}

/// Point reads in one of the [`Decomposed`] shapes.
pub async fn point_decomposed(
    pool: Pool,
    shape: Decomposed,
    rows: u64,
    tenants: u64,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    drive_pool_reads(pool, rows, clients, duration, move |conn, g| async move {
        let org = org_of(g, tenants);
        let mut org_text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let org_text: &str = org.as_uuid().hyphenated().encode_lower(&mut org_text);
        let id = project_uuid(g);
        let setup = conn.prepare_cached(shape.setup()).await?;
        let (read, read_params): (_, Vec<&(dyn ToSql + Sync)>) = match shape {
            Decomposed::NoRoleSwitch | Decomposed::Full => {
                (conn.prepare_cached(POINT_TENANT).await?, vec![&id])
            }
            Decomposed::SetupThenBareRead => {
                (conn.prepare_cached(POINT_BARE).await?, vec![&org, &id])
            }
        };
        let rows = conn
            .query_after(
                PipelineStatement::Prepared(&setup),
                &[&org_text as &(dyn ToSql + Sync), &""],
                PipelineStatement::Prepared(&read),
                &read_params,
            )
            .await?;
        let rows: Vec<_> = rows.try_collect().await?;
        ensure!(rows.len() == 1, "decomposed read: project {g} not found");
        Ok(())
    })
    .await
}
