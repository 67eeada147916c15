//! Versioned SQL migrations, applied once each: tenantry's own, embedded in
//! this crate ([`MIGRATIONS`]), then an application's ([`AppMigrations`]),
//! read from a directory or embedded in the application's binary.
//!
//! Each migration runs in its own transaction under a transaction-level
//! advisory lock, so several processes may migrate the same database at once:
//! one applies, the others see it recorded and skip. An applied migration whose
//! text has changed since is an error: migrations are never edited, only added.
//! The two sets are recorded apart (`tenantry_migration` and
//! `tenantry_app_migration`), so an application numbers its own from 1 and
//! a tenantry upgrade never collides with it.
//!
//! ```no_run
//! use tenantry_db::migrate::{AppMigrations, Migration, migrate_with};
//! // In the application's crate, beside its `migrations/` directory.
//! const MIGRATIONS: &[Migration] = &[Migration::new(
//!     1,
//!     "0001_ticket.sql",
//!     "create table ticket (organization_id uuid not null, id uuid not null, primary key (organization_id, id));",
//! )];
//! # async fn example(db: tenantry_db::Database) -> Result<(), tenantry_db::DbError> {
//! let app = AppMigrations::embedded(MIGRATIONS)?;
//! let report = migrate_with(&db, &app).await?;
//! println!("{} of the application's applied", report.app_applied.len());
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};

/// One migration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Its number, from the file name.
    pub version: i32,
    /// Its file name, `NNNN_what_it_does.sql`.
    pub name: Cow<'static, str>,
    /// Its SQL.
    pub sql: Cow<'static, str>,
}

impl Migration {
    /// A migration embedded in a binary, usually with `include_str!`.
    pub const fn new(version: i32, name: &'static str, sql: &'static str) -> Self {
        Migration {
            version,
            name: Cow::Borrowed(name),
            sql: Cow::Borrowed(sql),
        }
    }
}

macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration::new(
            $version,
            $file,
            include_str!(concat!("../migrations/", $file)),
        )
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
    migration!(10, "0010_cross_tenant_role.sql"),
    migration!(11, "0011_scoped_personal_access_tokens.sql"),
];

/// The bookkeeping table of tenantry's own migrations, the one table outside
/// the seed's list that is neither tenant data nor a non-tenant table of the
/// application.
pub const MIGRATION_TABLE: &str = "tenantry_migration";

/// The bookkeeping table of the application's migrations.
pub const APP_MIGRATION_TABLE: &str = "tenantry_app_migration";

/// Which of the two sets a migration belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationSet {
    /// tenantry's own ([`MIGRATIONS`]).
    Tenantry,
    /// The application's ([`AppMigrations`]).
    Application,
}

impl MigrationSet {
    fn table(self) -> &'static str {
        match self {
            MigrationSet::Tenantry => MIGRATION_TABLE,
            MigrationSet::Application => APP_MIGRATION_TABLE,
        }
    }
}

impl std::fmt::Display for MigrationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MigrationSet::Tenantry => "tenantry",
            MigrationSet::Application => "application",
        })
    }
}

/// An application's own migrations, applied after tenantry's by
/// [`migrate_with`]: numbered from 1 without gaps, each file named
/// `NNNN_what_it_does.sql` after its number.
///
/// # Examples
///
/// ```
/// use tenantry_db::migrate::{AppMigrations, Migration};
///
/// // In the application's crate: `include_str!("../migrations/0001_ticket.sql")`.
/// const MIGRATIONS: &[Migration] = &[
///     Migration::new(1, "0001_ticket.sql", "create table ticket (id uuid);"),
///     Migration::new(2, "0002_comment.sql", "create table comment (id uuid);"),
/// ];
/// let app = AppMigrations::embedded(MIGRATIONS).unwrap();
/// assert_eq!(app.len(), 2);
///
/// // A gap is refused, naming the file.
/// let gap = AppMigrations::embedded(&[Migration::new(2, "0002_comment.sql", "select 1;")]);
/// assert!(gap.unwrap_err().to_string().contains("0002_comment.sql"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppMigrations {
    migrations: Vec<Migration>,
}

impl AppMigrations {
    /// No application migrations: tenantry's alone.
    pub fn none() -> Self {
        AppMigrations::default()
    }

    /// Migrations embedded in the application's binary (see the module
    /// example), checked as [`AppMigrations::new`] checks them.
    pub fn embedded(migrations: &[Migration]) -> Result<Self> {
        Self::new(migrations.to_vec())
    }

    /// `migrations`, once checked: numbered 1, 2, 3... in order, each name
    /// `NNNN_*.sql` with its own number, none empty.
    pub fn new(migrations: Vec<Migration>) -> Result<Self> {
        for (index, migration) in migrations.iter().enumerate() {
            let expected = index as i32 + 1;
            let invalid = |why: String| DbError::InvalidMigration {
                name: migration.name.to_string(),
                reason: why,
            };
            if migration.version != expected {
                return Err(invalid(format!(
                    "is number {} where {expected} comes next: number them 1, 2, 3... without gaps",
                    migration.version
                )));
            }
            if parse_file_name(&migration.name) != Some(migration.version) {
                return Err(invalid(format!(
                    "must be named {:04}_what_it_does.sql",
                    migration.version
                )));
            }
            if migration.sql.trim().is_empty() {
                return Err(invalid("is empty".to_owned()));
            }
        }
        Ok(AppMigrations { migrations })
    }

    /// Every `NNNN_*.sql` file of `dir`, in order (`tenantry migrate
    /// --migrations DIR`). Other files are ignored; a `.sql` file whose
    /// name does not start with its number is an error, so a misnamed
    /// migration is not silently skipped.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let io = |source| DbError::Io {
            context: format!("reading the migrations in {}", dir.display()),
            source,
        };
        let mut migrations = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".sql") {
                continue;
            }
            let version = parse_file_name(name).ok_or_else(|| DbError::InvalidMigration {
                name: name.to_owned(),
                reason: "must be named NNNN_what_it_does.sql, NNNN its number".to_owned(),
            })?;
            let sql = std::fs::read_to_string(&path).map_err(io)?;
            migrations.push(Migration {
                version,
                name: Cow::Owned(name.to_owned()),
                sql: Cow::Owned(sql),
            });
        }
        migrations.sort_by_key(|m| m.version);
        Self::new(migrations)
    }

    /// The migrations, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }
}

/// A migration file's number and the rest of its name, `0003_ticket.sql`
/// being `(3, "ticket")`: four digits, an underscore, `.sql`. What the rest
/// may be is [`parse_file_name`]'s business; `tenantry new` numbers after
/// any file of this form.
pub fn split_file_name(name: &str) -> Option<(i32, &str)> {
    let stem = name.strip_suffix(".sql")?;
    let (digits, rest) = stem.split_once('_')?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

/// The number of a well-named migration file: `0003_ticket.sql` is 3, and
/// the rest of the name is snake_case.
fn parse_file_name(name: &str) -> Option<i32> {
    let (version, rest) = split_file_name(name)?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    valid.then_some(version)
}

/// Arbitrary but fixed: the advisory lock key migrations serialize on.
const MIGRATION_LOCK_KEY: i64 = 0x7465_6e61_6e74_7279; // "tenantry"

/// What [`migrate`] and [`migrate_with`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// tenantry's versions applied by this call.
    pub applied: Vec<i32>,
    /// tenantry's versions found already applied.
    pub already_applied: Vec<i32>,
    /// The application's versions applied by this call.
    pub app_applied: Vec<i32>,
    /// The application's versions found already applied.
    pub app_already_applied: Vec<i32>,
}

/// Apply every tenantry migration not yet applied, as the owner (reason
/// `Migration`): [`migrate_with`] and no application migrations.
///
/// # Examples
///
/// ```no_run
/// # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
/// let report = tenantry_db::migrate(&db).await?;
/// println!("applied {:?}, already there {:?}", report.applied, report.already_applied);
/// # Ok(()) }
/// ```
pub async fn migrate(db: &Database) -> Result<MigrationReport> {
    migrate_with(db, &AppMigrations::none()).await
}

/// Apply tenantry's migrations, then `app`'s, each not yet applied, as the
/// owner (reason `Migration`).
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use tenantry_db::{AppMigrations, migrate_with};
/// # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
/// let app = AppMigrations::from_dir(Path::new("migrations"))?;
/// let report = migrate_with(&db, &app).await?;
/// println!("the application's: applied {:?}", report.app_applied);
/// # Ok(()) }
/// ```
#[tracing::instrument(skip_all, fields(app_migrations = app.len()))]
pub async fn migrate_with(db: &Database, app: &AppMigrations) -> Result<MigrationReport> {
    let mut conn = client::bare(db, BypassReason::Migration).await?;
    let mut report = MigrationReport::default();
    (report.applied, report.already_applied) =
        apply_set(&mut conn, MigrationSet::Tenantry, MIGRATIONS).await?;
    if !app.is_empty() {
        (report.app_applied, report.app_already_applied) =
            apply_set(&mut conn, MigrationSet::Application, &app.migrations).await?;
        warn_of_newer_application_migrations(&conn, app.len()).await?;
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

/// A database migrated by a newer build of the application (a rollback, or
/// a binary started without `--migrations`) holds migrations this one does
/// not know. Serving on is the operator's call, as with tenantry's own, but
/// it should not pass unsaid.
async fn warn_of_newer_application_migrations(
    conn: &client::BareClient,
    known: usize,
) -> Result<()> {
    let newest: Option<i32> = conn
        .connection()
        .query_one(
            &format!("select max(version) from {APP_MIGRATION_TABLE}"),
            &[],
        )
        .await?
        .get(0);
    if let Some(newest) = newest.filter(|&v| v as usize > known) {
        tracing::warn!(
            newest,
            known,
            "the database holds application migrations this build does not have: it was migrated by a newer build"
        );
    }
    Ok(())
}

/// Apply each of `migrations` not yet recorded in `set`'s table: the
/// versions applied now, and those found applied.
async fn apply_set(
    conn: &mut client::BareClient,
    set: MigrationSet,
    migrations: &[Migration],
) -> Result<(Vec<i32>, Vec<i32>)> {
    conn.connection()
        // Quietly: "already exists, skipping" on every start is no news.
        .batch_execute(&format!(
            "begin;
             select pg_advisory_xact_lock({MIGRATION_LOCK_KEY});
             set local client_min_messages = warning;
             create table if not exists {} (
               version integer primary key,
               name text not null,
               checksum text not null,
               applied_at timestamptz not null default now()
             );
             commit;",
            set.table()
        ))
        .await?;
    let (mut applied_now, mut found) = (Vec::new(), Vec::new());
    for migration in migrations {
        let mut attempts = 0;
        let applied = loop {
            let error = match apply_once(conn, set, migration).await {
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
            applied_now.push(migration.version);
        } else {
            found.push(migration.version);
        }
    }
    Ok((applied_now, found))
}

/// Apply `migration` unless it is recorded, in one transaction under the
/// migration lock; `true` when this call applied it.
async fn apply_once(
    conn: &mut client::BareClient,
    set: MigrationSet,
    migration: &Migration,
) -> Result<bool> {
    let checksum = checksum(&migration.sql);
    let table = set.table();
    let tx = conn.connection_mut().transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let recorded = tx
        .query_opt(
            &format!("select checksum from {table} where version = $1"),
            &[&migration.version],
        )
        .await?;
    let applied = match recorded {
        Some(row) if row.get::<_, String>(0) == checksum => false,
        Some(_) => {
            return Err(DbError::MigrationEdited {
                set,
                version: migration.version,
                name: migration.name.to_string(),
            });
        }
        None => {
            tracing::info!(
                %set,
                version = migration.version,
                name = %migration.name,
                "applying migration"
            );
            tx.batch_execute(&migration.sql)
                .await
                .map_err(|source| failed(set, migration, source))?;
            tx.execute(
                &format!("insert into {table} (version, name, checksum) values ($1, $2, $3)"),
                &[&migration.version, &migration.name.as_ref(), &checksum],
            )
            .await?;
            true
        }
    };
    tx.commit().await?;
    Ok(applied)
}

/// A migration's own SQL failed: say which file, unless the failure is a
/// race on cluster-wide roles that [`migrate_with`] retries.
fn failed(set: MigrationSet, migration: &Migration, source: tokio_postgres::Error) -> DbError {
    if crate::error::is_concurrent_catalog_error(&source) {
        return DbError::from(source);
    }
    DbError::MigrationFailed {
        set,
        name: migration.name.to_string(),
        source,
    }
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
        (
            10,
            "746ecc7758d1aa8720b1347a05dde7d979501e69072f6b373cf0bfe78946acb2",
        ),
        (
            11,
            "bfcc866c6f93269504458feebe803cb6043f03101baa57986f43e2a076f421e9",
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
                checksum(&migration.sql),
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
    fn application_migrations_are_numbered_from_one_without_gaps() {
        let sql = "select 1";
        let ok = AppMigrations::embedded(&[
            Migration::new(1, "0001_ticket.sql", sql),
            Migration::new(2, "0002_comment.sql", sql),
        ])
        .unwrap();
        assert_eq!(ok.len(), 2);
        let refused = |list: &[Migration]| AppMigrations::embedded(list).unwrap_err().to_string();
        assert!(refused(&[Migration::new(2, "0002_comment.sql", sql)]).contains("1 comes next"));
        assert!(refused(&[Migration::new(1, "0002_comment.sql", sql)]).contains("0001_"));
        assert!(refused(&[Migration::new(1, "1_ticket.sql", sql)]).contains("0001_"));
        assert!(refused(&[Migration::new(1, "0001_Ticket.sql", sql)]).contains("0001_"));
        assert!(refused(&[Migration::new(1, "0001_ticket.sql", " ")]).contains("empty"));
    }

    #[test]
    fn a_directory_is_read_in_order_and_a_misnamed_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("tenantry-migrations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0002_comment.sql"), "select 2").unwrap();
        std::fs::write(dir.join("0001_ticket.sql"), "select 1").unwrap();
        std::fs::write(dir.join("README.md"), "not a migration").unwrap();
        let read = AppMigrations::from_dir(&dir).unwrap();
        let names: Vec<_> = read.iter().map(|m| m.name.as_ref()).collect();
        assert_eq!(names, ["0001_ticket.sql", "0002_comment.sql"]);
        std::fs::write(dir.join("tickets.sql"), "select 3").unwrap();
        let error = AppMigrations::from_dir(&dir).unwrap_err().to_string();
        assert!(error.contains("tickets.sql"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
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
