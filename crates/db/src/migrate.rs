//! Versioned SQL migrations, embedded in the binary and applied once each.
//!
//! Each migration runs in its own transaction under a transaction-level
//! advisory lock, so several processes may migrate the same database at once:
//! one applies, the others see it recorded and skip. An applied migration whose
//! text has changed since is an error: migrations are never edited, only added.

use sha2::{Digest, Sha256};

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};

/// One embedded migration file.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Its number, from the file name.
    pub version: i32,
    /// Its file name.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            sql: include_str!(concat!("../migrations/", $file)),
        }
    };
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_roles_and_tenant_function.sql"),
    migration!(2, "0002_non_tenant_tables.sql"),
    migration!(3, "0003_tenant_tables.sql"),
    migration!(4, "0004_invitation_lookup.sql"),
    migration!(5, "0005_audit_log_uuid_ids.sql"),
    migration!(6, "0006_inlinable_tenant_functions.sql"),
    migration!(7, "0007_audit_log_actor_is_the_acting_user.sql"),
    migration!(8, "0008_organization_created_in_its_own_context.sql"),
    migration!(
        9,
        "0009_organization_updated_and_deleted_in_its_own_context.sql"
    ),
];

/// The bookkeeping table, the one table outside the seed's list that is
/// neither tenant data nor a non-tenant table of the application.
pub const MIGRATION_TABLE: &str = "tenantry_migration";

/// Arbitrary but fixed: the advisory lock key migrations serialize on.
const MIGRATION_LOCK_KEY: i64 = 0x7465_6e61_6e74_7279; // "tenantry"

/// What [`migrate`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<i32>,
    /// Versions found already applied.
    pub already_applied: Vec<i32>,
}

/// Apply every migration not yet applied, as the owner (reason `Migration`).
#[tracing::instrument(skip(db))]
pub async fn migrate(db: &Database) -> Result<MigrationReport> {
    let mut conn = client::bare(db, BypassReason::Migration).await?;
    conn.connection()
        .batch_execute(
            "create table if not exists tenantry_migration (
            version integer primary key,
            name text not null,
            checksum text not null,
            applied_at timestamptz not null default now()
        )",
        )
        .await?;

    let mut report = MigrationReport::default();
    for migration in MIGRATIONS {
        let mut attempts = 0;
        let applied = loop {
            let error = match apply_once(&mut conn, migration).await {
                Ok(applied) => break applied,
                Err(error) => error,
            };
            // Roles are cluster-wide, but the migration lock is not
            // (advisory locks belong to one database): two databases of
            // one cluster migrated at once both create a missing role, and
            // one fails. Its transaction rolled back; next time it finds
            // the role there.
            let Some(wait) = error.retry_after_concurrent_catalog_change(attempts) else {
                return Err(error);
            };
            attempts += 1;
            tracing::info!(version = migration.version, %attempts, "a concurrent migration of another database changed a role; retrying");
            tokio::time::sleep(wait).await;
        };
        if applied {
            report.applied.push(migration.version);
        } else {
            report.already_applied.push(migration.version);
        }
    }
    // Under the migration lock: instances starting together would otherwise
    // update the database's row at once, and one would fail.
    let tx = conn.connection_mut().transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    restrict_database_privileges(&*tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// Apply `migration` unless it is recorded, in one transaction under the
/// migration lock; `true` when this call applied it.
async fn apply_once(conn: &mut client::BareClient, migration: &Migration) -> Result<bool> {
    let checksum = checksum(migration.sql);
    let tx = conn.connection_mut().transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let recorded = tx
        .query_opt(
            "select checksum from tenantry_migration where version = $1",
            &[&migration.version],
        )
        .await?;
    let applied = match recorded {
        Some(row) if row.get::<_, String>(0) == checksum => false,
        Some(_) => {
            return Err(DbError::MigrationEdited {
                version: migration.version,
                name: migration.name.to_owned(),
            });
        }
        None => {
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applying migration"
            );
            tx.batch_execute(migration.sql).await?;
            tx.execute(
                "insert into tenantry_migration (version, name, checksum) values ($1, $2, $3)",
                &[&migration.version, &migration.name, &checksum],
            )
            .await?;
            true
        }
    };
    tx.commit().await?;
    Ok(applied)
}

/// Take from PUBLIC, and so from every login the pools use, the right to
/// create temporary tables in this database. A temporary table lives as
/// long as its connection, not its transaction: on a pooled connection it
/// would outlive the tenant transaction that made it, and, earlier on the
/// search path than `public`, shadow a real table for whoever borrows that
/// connection next.
///
/// Run by [`migrate`] every time rather than recorded once as a migration,
/// because a database's own privileges are not part of its contents:
/// `CREATE DATABASE ... TEMPLATE` (how test databases are made) starts the
/// copy with PostgreSQL's defaults again. Where the migrating role may not
/// change them, PostgreSQL only warns; `tenantry audit` then reports
/// `temp_tables_allowed` and `serve` refuses to start.
pub(crate) async fn restrict_database_privileges(
    client: &impl tokio_postgres::GenericClient,
) -> Result<()> {
    client
        .batch_execute(
            "do $$ begin
               execute format('revoke temporary on database %I from public', current_database());
             end $$",
        )
        .await?;
    Ok(())
}

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of every released migration. A database records the
    /// checksum of each migration it applied and refuses to start when a
    /// file no longer matches, so an edit to a released migration (even to a
    /// comment) locks every existing deployment out. A new migration adds a
    /// row here; an existing row never changes.
    const RELEASED: &[(i32, &str)] = &[
        (
            1,
            "1fb561c54fdd0eb44ddd54a95907b2eb0fa95da4203e50dff8db8c54904e9979",
        ),
        (
            2,
            "311132ee0356e6c7086a2cba6f1f42d914e9cc23f82cca7d7eec64ea46501e5c",
        ),
        (
            3,
            "2fb046992e3fde35f31fd8459ba28073399885775a456187f38d31eab4c030b3",
        ),
        (
            4,
            "d831a974448f6eebc798d67b623d629b758fdabc1faf574c9a5e94bc3cc2cade",
        ),
        (
            5,
            "3f7421a2430b429ce12ba99ecdc3b7af185620db2c5497b32619030f0378a1a5",
        ),
        (
            6,
            "1e849eb8b39d887c6933f585f290e2c5c5f1bdd7654dec29517a44f5c9141abb",
        ),
        (
            7,
            "b3f99e6c64e4674deb2e389315a620c41c0ccf9b9a200ab099c9b8ef33470339",
        ),
        (
            8,
            "2ede637f929d3582cf649dc8c6338b9e1d9121c334ee7bf709037269e79813ba",
        ),
        (
            9,
            "f7b3d42c9dcbf2bc42ed2d8b35e1366981c267570e2583b41c2a668f318a5ffc",
        ),
    ];

    #[test]
    fn released_migrations_are_never_edited() {
        for &(version, released) in RELEASED {
            let migration = MIGRATIONS
                .iter()
                .find(|m| m.version == version)
                .unwrap_or_else(|| panic!("released migration {version} is gone"));
            assert_eq!(
                checksum(migration.sql),
                released,
                "{} was edited after its release: restore it and add a new migration instead",
                migration.name
            );
        }
        assert_eq!(
            MIGRATIONS.len(),
            RELEASED.len(),
            "a new migration: add its checksum to RELEASED"
        );
    }

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1);
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version))
            );
            assert!(!migration.sql.trim().is_empty());
        }
    }
}
