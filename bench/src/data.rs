//! The bench's own cluster, databases and data.
//!
//! Every dataset is a database of its own on the bench cluster, named after its
//! scale (`tenantry_bench_r<rows>_t<tenants>`), migrated with the product's
//! migrations and loaded server-side with `generate_series`. A finished load
//! leaves a `bench_meta` row behind, so a later run at the same scale reuses
//! the database instead of loading it again.
//!
//! Ids are deterministic so that clients (in-process, pgbench, the peers) can
//! pick an existing row without asking: project number `g` (1..=rows) has id
//! [`project_uuid`]`(g)` and belongs to organization `1 + g % tenants`, whose
//! id is [`org_uuid`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use tenantry_cluster::Cluster;
use tenantry_db::setup::{self, RolePasswords};
use tenantry_db::{Database, OrganizationId};
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Organization number `o` (1-based).
pub fn org_uuid(o: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_a000_0000_0000_0000 | u128::from(o))
}

/// Project number `g` (1-based).
pub fn project_uuid(g: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | u128::from(g))
}

/// The organization project `g` belongs to.
pub fn org_of(g: u64, tenants: u64) -> OrganizationId {
    OrganizationId::from_uuid(org_uuid(1 + g % tenants))
}

/// The started bench cluster and the login roles' passwords.
pub struct BenchCluster {
    pub cluster: Cluster,
    pub passwords: RolePasswords,
    roles_ready: bool,
    /// The `--inlinable-tenant-function` experiment (separate databases).
    pub inlinable_tenant_function: bool,
}

impl BenchCluster {
    /// Start (or reuse) the cluster rooted at `root`.
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let root = root.to_path_buf();
        let started = Instant::now();
        let start_root = root.clone();
        tokio::task::spawn_blocking(move || Cluster::new(start_root).start())
            .await?
            .with_context(|| format!("starting the bench cluster in {}", root.display()))?;
        let kept = tenantry_cluster::secrets::load_or_create_role_passwords(&root)?;
        let passwords = RolePasswords {
            app: kept.app,
            bare: kept.bare,
        };
        crate::progress(format!(
            "cluster ready in {} ({:.1}s)",
            root.display(),
            started.elapsed().as_secs_f64()
        ));
        Ok(BenchCluster {
            cluster: Cluster::new(root),
            passwords,
            roles_ready: false,
            inlinable_tenant_function: false,
        })
    }

    pub fn root(&self) -> PathBuf {
        self.cluster.root().to_path_buf()
    }

    pub fn owner_url(&self, database: &str) -> anyhow::Result<String> {
        Ok(self.cluster.owner_url(database)?)
    }

    pub fn port(&self) -> anyhow::Result<u16> {
        Ok(self.cluster.port()?)
    }

    /// A database loaded at this scale, with tenantry's pools sized `clients`.
    pub async fn dataset(
        &mut self,
        rows: u64,
        tenants: u64,
        clients: usize,
    ) -> anyhow::Result<Dataset> {
        if rows == 0 || tenants == 0 || tenants > rows {
            bail!("need 0 < --tenants <= --rows (got {tenants} tenants, {rows} rows)");
        }
        let mut name = format!("tenantry_bench_r{rows}_t{tenants}");
        if self.inlinable_tenant_function {
            name.push_str("_inlinable");
        }
        setup::ensure_database_exists(&self.owner_url("postgres")?, &name).await?;
        let owner_url = self.owner_url(&name)?;
        let mut config = setup::config_from_owner_url(&owner_url, &self.passwords)?;
        // The same client count everywhere: the tenant pool has one
        // connection per client, like the bare baseline's pool and the peers'.
        config.app_pool_size = clients;
        let db = Database::connect(config)?;
        tenantry_db::migrate(&db)
            .await
            .with_context(|| format!("migrating {name}"))?;
        if !self.roles_ready {
            // Roles are cluster-wide: once per run is enough.
            setup::set_role_passwords(&db, &self.passwords).await?;
            self.roles_ready = true;
        }
        let owner = connect(&owner_url).await?;
        if self.inlinable_tenant_function {
            // The experiment: without its SET clause, PostgreSQL can inline
            // the SQL function into the policy instead of calling it (a
            // function with SET is never inlined, and each call saves and
            // restores search_path). Only in these `_inlinable` databases.
            owner
                .batch_execute("alter function app.current_tenant() reset search_path")
                .await?;
        }
        let loaded = owner
            .query_opt(
                "select 1 from pg_tables where tablename = 'bench_meta' and schemaname = 'public'",
                &[],
            )
            .await?
            .is_some();
        if loaded {
            crate::progress(format!("{name}: reusing the loaded data"));
        } else {
            load(&owner, &name, rows, tenants).await?;
        }
        Ok(Dataset {
            name,
            rows,
            tenants,
            owner_url,
            db,
        })
    }
}

/// One loaded database.
pub struct Dataset {
    pub name: String,
    pub rows: u64,
    pub tenants: u64,
    pub owner_url: String,
    /// tenantry's handle on it (tenant pool sized to the client count).
    pub db: Database,
}

impl Dataset {
    /// The `tenantry_app` login's URL (what the tenant pool connects as).
    pub fn app_url(&self) -> &str {
        &self.db.config().app_url
    }
}

pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting to the bench cluster")?;
    tokio::spawn(connection);
    Ok(client)
}

/// Load `rows` projects over `tenants` organizations, as the owner.
async fn load(
    owner: &tokio_postgres::Client,
    name: &str,
    rows: u64,
    tenants: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    crate::progress(format!(
        "{name}: loading {rows} projects over {tenants} organizations"
    ));
    let (rows, tenants) = (rows as i64, tenants as i64);
    // The same id formulas as org_uuid / project_uuid, in SQL.
    let org = "('00000000-0000-4000-a000-' || lpad(to_hex(o), 12, '0'))::uuid";
    let org_of_g =
        "('00000000-0000-4000-a000-' || lpad(to_hex(1 + g % $2::bigint), 12, '0'))::uuid";
    let project = "('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid";
    // replica: skip the foreign-key triggers for the bulk load (the ids are
    // consistent by construction); the owner is a superuser.
    owner
        .batch_execute(
            "set session_replication_role = replica; \
             drop table if exists project_norls; \
             truncate organization cascade",
        )
        .await?;
    owner
        .execute(
            &format!(
                "insert into organization (id, name, slug) \
                 select {org}, 'Bench org ' || o, 'bench-org-' || o \
                 from generate_series(1, $1::bigint) o"
            ),
            &[&tenants],
        )
        .await?;
    owner
        .execute(
            &format!(
                "insert into project (organization_id, id, name, created_at, updated_at) \
                 select {org_of_g}, {project}, 'project ' || g, \
                        timestamptz '2026-01-01' + g * interval '1 second', \
                        timestamptz '2026-01-01' + g * interval '1 second' \
                 from generate_series(1, $1::bigint) g"
            ),
            &[&rows, &tenants],
        )
        .await?;
    // The bench-only twin without RLS: what a bare point read and an explicit
    // `where organization_id = $1` list read. Never in the product's schema.
    owner
        .batch_execute(
            "create table project_norls as select organization_id, id, name from project; \
             alter table project_norls add primary key (organization_id, id); \
             grant select on project_norls to tenantry_app, authenticated; \
             set session_replication_role = origin",
        )
        .await?;
    // Write the load out now: otherwise the checkpoint that follows it (about
    // a gigabyte at 1M rows, spread over minutes) competes with the first
    // measurements, which then swing by 2x from round to round.
    owner.batch_execute("vacuum analyze").await?;
    owner.batch_execute("checkpoint").await?;
    owner
        .batch_execute(&format!(
            "create table bench_meta as select {rows}::bigint as rows, {tenants}::bigint as tenants, now() as loaded_at"
        ))
        .await?;
    crate::progress(format!(
        "{name}: loaded in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_sql_formulas() {
        assert_eq!(
            org_uuid(0x2a).to_string(),
            "00000000-0000-4000-a000-00000000002a"
        );
        assert_eq!(
            project_uuid(1_000_000).to_string(),
            "00000000-0000-4000-8000-0000000f4240"
        );
    }
}
