//! Tenant context: the default way to touch tenant data.
//!
//! Two entry points, both running as the `authenticated` role with the
//! tenant set transaction-locally by one prepared setup statement
//! ([`SETUP_SQL`]):
//!
//! - [`with_tenant_context`]: a closure, one transaction, any number of
//!   statements. On the wire: `BEGIN` and, under one Sync, the setup and the
//!   first statement, all in the same flush; later statements; `COMMIT`.
//!   A point read costs two round trips (the read, the commit).
//! - [`autocommit`]: one statement per call, each its own implicit
//!   transaction: the setup and the statement under one Sync
//!   (`Client::query_after`, our tokio-postgres patch), one round trip, no
//!   BEGIN or COMMIT. What a read or a single write should use.
//!
//! Why the connection is always clean afterwards (docs/architecture.md invariant 4): the
//! role and the settings are transaction-local, so COMMIT, ROLLBACK and the
//! end of an implicit transaction all drop them; and when a transaction
//! cannot be ended properly (the caller's future was dropped mid-way, the
//! closure panicked, COMMIT failed in flight) the connection is detached from
//! the pool and closed, which makes the server roll back, instead of being
//! returned with a transaction open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use deadpool_postgres::Object;
use futures_util::future::join;

use tokio_postgres::types::ToSql;

use crate::database::Database;
use crate::error::{DbError, Result};
use crate::statements::{self, Outcome, Query, Run, StatementMode, Statements};
use crate::tenant::Tenant;

/// The statement that puts a transaction into a tenant's context. Every
/// setting is transaction-local (`true`), so it ends with the transaction.
/// Parameters: organization id, user id (empty for none), as text.
///
/// The statement timeout is not in it: with prepared statements the tenant
/// pool's connections carry it from their start-up options, which saves the
/// server a fourth `set_config` per transaction (~10 % of a point read's
/// cost, BENCHMARKS.md). Behind a pooler, where start-up options cannot be
/// used, [`SETUP_WITH_TIMEOUT_SQL`] sets it transaction-locally instead.
pub const SETUP_SQL: &str = "select set_config('role', 'authenticated', true), \
     set_config('app.tenant_id', $1, true), \
     set_config('app.user_id', $2, true)";

/// [`SETUP_SQL`] plus the statement timeout in milliseconds ($3, text; 0 for
/// none), for [`StatementMode::Unnamed`].
pub const SETUP_WITH_TIMEOUT_SQL: &str = "select set_config('role', 'authenticated', true), \
     set_config('app.tenant_id', $1, true), \
     set_config('app.user_id', $2, true), \
     set_config('statement_timeout', $3, true)";

/// [`SETUP_SQL`] for a [read-only tenant](Tenant::read_only)'s autocommit
/// statement: the implicit transaction it shares with the statement becomes
/// read-only, so PostgreSQL refuses a write in it. The statement cannot undo
/// it: turning `transaction_read_only` off once a query has run is refused.
/// (A [`with_tenant_context`] transaction says `BEGIN READ ONLY` instead.)
pub const SETUP_READ_ONLY_SQL: &str = "select set_config('role', 'authenticated', true), \
     set_config('app.tenant_id', $1, true), \
     set_config('app.user_id', $2, true), \
     set_config('transaction_read_only', 'on', true)";

/// [`SETUP_WITH_TIMEOUT_SQL`], read-only like [`SETUP_READ_ONLY_SQL`].
pub const SETUP_READ_ONLY_WITH_TIMEOUT_SQL: &str = "select set_config('role', 'authenticated', true), \
     set_config('app.tenant_id', $1, true), \
     set_config('app.user_id', $2, true), \
     set_config('statement_timeout', $3, true), \
     set_config('transaction_read_only', 'on', true)";

/// The setup statement's values for one tenant, formatted on the stack:
/// this runs for every tenant statement.
struct SetupParams {
    organization_id: [u8; UUID_TEXT_LEN],
    user_id: Option<[u8; UUID_TEXT_LEN]>,
    /// Sent only in [`StatementMode::Unnamed`], where the tenant pool's
    /// connections carry no session default (see [`SETUP_SQL`]).
    statement_timeout_ms: Option<String>,
    /// Whether an autocommit statement's implicit transaction is made read-only.
    read_only: bool,
}

const UUID_TEXT_LEN: usize = uuid::fmt::Hyphenated::LENGTH;

fn uuid_text(id: uuid::Uuid) -> [u8; UUID_TEXT_LEN] {
    let mut text = [0u8; UUID_TEXT_LEN];
    id.hyphenated().encode_lower(&mut text);
    text
}

fn as_str(text: &[u8; UUID_TEXT_LEN]) -> &str {
    std::str::from_utf8(text).expect("a formatted UUID is ASCII")
}

impl SetupParams {
    fn new(db: &Database, tenant: Tenant) -> Self {
        let statement_timeout_ms = match db.config.statement_mode {
            StatementMode::Prepared => None,
            StatementMode::Unnamed => Some(
                db.config
                    .statement_timeout
                    .map_or(0, |t| t.as_millis())
                    .to_string(),
            ),
        };
        SetupParams {
            organization_id: uuid_text(tenant.organization_id().as_uuid()),
            user_id: tenant.user_id().map(|id| uuid_text(id.as_uuid())),
            statement_timeout_ms,
            read_only: tenant.is_read_only(),
        }
    }

    /// The setup for a transaction that began on its own (`BEGIN READ ONLY`
    /// already made it read-only, so the setup need not).
    fn within_transaction(mut self) -> Self {
        self.read_only = false;
        self
    }

    /// [`SETUP_SQL`], or the variant with the timeout sent, read-only, or both.
    fn sql(&self) -> &'static str {
        match (self.statement_timeout_ms.is_some(), self.read_only) {
            (false, false) => SETUP_SQL,
            (true, false) => SETUP_WITH_TIMEOUT_SQL,
            (false, true) => SETUP_READ_ONLY_SQL,
            (true, true) => SETUP_READ_ONLY_WITH_TIMEOUT_SQL,
        }
    }
}

/// Run the setup and `sql` under one Sync: one implicit transaction, one round trip.
async fn setup_then(
    statements: &Statements,
    conn: &Object,
    setup: &SetupParams,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Outcome> {
    let organization_id = as_str(&setup.organization_id);
    let user_id = setup.user_id.as_ref().map_or("", as_str);
    let with_timeout: [&(dyn ToSql + Sync); 3];
    let without_timeout: [&(dyn ToSql + Sync); 2];
    let setup_params: &[&(dyn ToSql + Sync)] = match &setup.statement_timeout_ms {
        Some(timeout) => {
            with_timeout = [&organization_id, &user_id, timeout];
            &with_timeout
        }
        None => {
            without_timeout = [&organization_id, &user_id];
            &without_timeout
        }
    };
    statements
        .run_after(conn, setup.sql(), setup_params, sql, params)
        .await
}

/// Run `work` inside one transaction as the tenant `tenant`.
///
/// Commits when `work` returns `Ok`, rolls back when it returns `Err`. The
/// closure gets a [`TenantTx`] to run statements with; it should do database
/// work only: the connection is held until the closure returns, so slow calls
/// (an AI model, another service) belong before or after it. Transactions that
/// hold their connection longer than
/// [`DatabaseConfig::slow_transaction_warning`](crate::DatabaseConfig) are logged.
/// A single statement is cheaper through [`autocommit`].
///
/// # Examples
///
/// ```no_run
/// use tenantry_db::prelude::*;
/// # async fn example(db: &tenantry_db::Database, tenant: tenantry_db::Tenant) -> Result<(), tenantry_db::DbError> {
/// let names: Vec<String> = tenantry_db::with_tenant_context(db, tenant, async |tx| {
///     let rows = tx.query("select name from project order by name", &[]).await?;
///     Ok::<_, tenantry_db::DbError>(rows.iter().map(|r| r.get(0)).collect())
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn with_tenant_context<T, E, F>(db: &Database, tenant: Tenant, work: F) -> Result<T, E>
where
    F: AsyncFnOnce(&TenantTx) -> Result<T, E>,
    E: From<DbError>,
{
    let conn = db.app.get().await.map_err(DbError::from)?;
    let tx = TenantTx::new(db, conn, tenant);
    let outcome = work(&tx).await;
    let held = tx.first_statement_at();
    let finished = match outcome {
        Ok(value) => tx.commit().await.map(|()| value).map_err(E::from),
        Err(error) => {
            tx.rollback().await.map_err(E::from)?;
            Err(error)
        }
    };
    if let Some(started) = held {
        let elapsed = started.elapsed();
        if elapsed > db.config.slow_transaction_warning {
            tracing::warn!(
                organization_id = %tenant.organization_id(),
                elapsed_ms = elapsed.as_millis() as u64,
                "tenant transaction held its connection for a long time; keep slow non-database work outside with_tenant_context"
            );
        }
    }
    finished
}

/// Statements as the tenant `tenant`, each in its own implicit transaction.
///
/// Every call takes a pooled connection, sends the tenant setup and the
/// statement under one Sync, and returns the connection: one round trip and
/// no BEGIN/COMMIT, about what a bare statement costs. The statement is
/// atomic on its own; two calls are two transactions, so work that must
/// commit together belongs in [`with_tenant_context`].
///
/// # Examples
///
/// ```no_run
/// use tenantry_db::prelude::*;
/// # async fn example(db: &tenantry_db::Database, tenant: tenantry_db::Tenant, id: uuid::Uuid) -> Result<(), tenantry_db::DbError> {
/// let name: Option<String> = tenantry_db::autocommit(db, tenant)
///     .query_opt("select name from project where id = $1", &[&id])
///     .await?
///     .map(|row| row.get(0));
/// # Ok(()) }
/// ```
pub fn autocommit(db: &Database, tenant: Tenant) -> Autocommit<'_> {
    Autocommit { db, tenant }
}

/// The handle [`autocommit`] returns.
pub struct Autocommit<'a> {
    db: &'a Database,
    tenant: Tenant,
}

impl Autocommit<'_> {
    /// The tenant these statements act for.
    pub fn tenant(&self) -> Tenant {
        self.tenant
    }
}

impl Run for Autocommit<'_> {
    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Outcome> {
        let mut in_flight = InFlight {
            conn: Some(self.db.app.get().await?),
            tenant: self.tenant,
            statements: &self.db.statements,
        };
        let conn = in_flight.conn.as_ref().expect("just taken");
        let setup = SetupParams::new(self.db, self.tenant);
        let outcome = setup_then(&self.db.statements, conn, &setup, sql, params).await;
        in_flight.finish();
        outcome
    }
}

/// A connection with an autocommit statement on the wire.
///
/// Dropped before [`InFlight::finish`] (the caller's future was cancelled),
/// it is discarded like an interrupted transaction: returned to the pool, it
/// would make the next tenant wait for a statement nobody reads.
struct InFlight<'a> {
    conn: Option<Object>,
    tenant: Tenant,
    statements: &'a Statements,
}

impl InFlight<'_> {
    /// The answer was read in full: back to the pool, clean.
    fn finish(&mut self) {
        self.conn = None;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            discard_interrupted(conn, self.tenant, self.statements);
        }
    }
}

/// Statements in a tenant's context, inside a [`with_tenant_context`]
/// transaction ([`TenantTx`]) or one [`autocommit`] statement at a time
/// ([`Autocommit`]). Named query functions that run a single statement take
/// `&impl TenantStatements`, so a caller can use either; functions that need
/// several statements to commit together take `&TenantTx`.
///
/// The statements themselves are [`Query`]'s methods; this trait marks the
/// handles that set a tenant first, so a bare connection (which has the
/// methods too) cannot be passed where tenant statements are expected.
/// Sealed: other crates name it but cannot implement it.
///
/// ```compile_fail,E0277
/// struct Fake;
/// impl tenantry_db::TenantStatements for Fake {} // error: `Query` is not implemented
/// ```
///
/// ```compile_fail,E0277
/// struct Fake;
/// impl tenantry_db::Query for Fake {} // error: `Run` (private) is not implemented
/// ```
pub trait TenantStatements: Query {}

impl Query for TenantTx {}
impl Query for Autocommit<'_> {}
impl TenantStatements for TenantTx {}
impl TenantStatements for Autocommit<'_> {}

/// A tenant transaction in progress: the handle `with_tenant_context` gives its closure.
///
/// Statements are prepared once per connection and reused (or sent unnamed
/// in [`StatementMode::Unnamed`](crate::StatementMode)).
pub struct TenantTx {
    statements: Arc<Statements>,
    conn: Option<Object>,
    tenant: Tenant,
    setup: SetupParams,
    began: AtomicBool,
    failed: AtomicBool,
    finished: bool,
    first_statement_at: std::sync::OnceLock<Instant>,
}

impl TenantTx {
    fn new(db: &Database, conn: Object, tenant: Tenant) -> Self {
        TenantTx {
            statements: db.statements.clone(),
            conn: Some(conn),
            tenant,
            setup: SetupParams::new(db, tenant).within_transaction(),
            began: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            finished: false,
            first_statement_at: std::sync::OnceLock::new(),
        }
    }

    /// The tenant this transaction acts for.
    pub fn tenant(&self) -> Tenant {
        self.tenant
    }

    fn client(&self) -> &Object {
        self.conn
            .as_ref()
            .expect("the connection is only taken when the transaction is dropped")
    }

    fn first_statement_at(&self) -> Option<Instant> {
        self.first_statement_at.get().copied()
    }

    async fn commit(mut self) -> Result<()> {
        if !self.began.load(Ordering::Acquire) {
            self.finished = true;
            return Ok(());
        }
        if self.failed.load(Ordering::Acquire) {
            self.end("ROLLBACK").await?;
            return Err(DbError::TransactionAborted);
        }
        self.end("COMMIT").await
    }

    async fn rollback(mut self) -> Result<()> {
        if !self.began.load(Ordering::Acquire) {
            self.finished = true;
            return Ok(());
        }
        self.end("ROLLBACK").await
    }

    async fn end(&mut self, statement: &str) -> Result<()> {
        self.client().batch_execute(statement).await?;
        self.finished = true;
        Ok(())
    }
}

impl Run for TenantTx {
    /// Run `sql` in the transaction. The first time, `BEGIN` and, under one
    /// Sync, the setup and the statement go out in the same flush:
    /// `futures_util::future::join` polls `BEGIN` first, and tokio-postgres
    /// sends a request when its future is first polled.
    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Outcome> {
        // If this future is dropped before the statement's outcome is known
        // (the closure used a timeout or select!), the statement may still
        // fail on the server, and PostgreSQL would then answer COMMIT with a
        // silent rollback. Count an unseen outcome as a failure.
        let unseen = MarkFailedUnlessSeen(&self.failed);
        let result = if self.began.swap(true, Ordering::AcqRel) {
            match self.statements.resolve(self.client(), sql).await {
                Ok(statement) => statements::execute(self.client(), &statement, params).await,
                Err(error) => Err(error),
            }
        } else {
            let _ = self.first_statement_at.set(Instant::now());
            let begin = self.client().batch_execute(if self.tenant.is_read_only() {
                "BEGIN READ ONLY"
            } else {
                "BEGIN"
            });
            let work = setup_then(&self.statements, self.client(), &self.setup, sql, params);
            match join(begin, work).await {
                (Err(begin_error), _) => Err(DbError::from(begin_error)),
                (Ok(()), result) => result,
            }
        };
        if result.is_err() {
            // PostgreSQL aborts the transaction on any error; remember it so
            // that a closure which swallows the error cannot "commit" (the
            // server would silently roll back).
            self.failed.store(true, Ordering::Release);
        }
        std::mem::forget(unseen);
        result
    }
}

/// Sets the flag when dropped; `mem::forget` it once the outcome is known.
struct MarkFailedUnlessSeen<'a>(&'a AtomicBool);

impl Drop for MarkFailedUnlessSeen<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Drop for TenantTx {
    fn drop(&mut self) {
        if self.finished || !self.began.load(Ordering::Acquire) {
            return; // back to the pool, clean
        }
        if let Some(conn) = self.conn.take() {
            discard_interrupted(conn, self.tenant, &self.statements);
        }
    }
}

/// Close a connection whose work was interrupted (the future was dropped,
/// the closure panicked, or COMMIT/ROLLBACK failed) instead of returning it
/// to the pool: never hand it to the next tenant; closing it makes the server
/// roll back whatever was open.
fn discard_interrupted(conn: Object, tenant: Tenant, statements: &Statements) {
    tracing::debug!(
        organization_id = %tenant.organization_id(),
        "tenant work interrupted; closing its connection"
    );
    // A statement may still be running on the server, which only notices the
    // closed socket when it next writes: cancel it so its locks go now.
    if !statements.may_send_cancel_requests() {
        drop(Object::take(conn));
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let cancel = conn.cancel_token();
        runtime.spawn(async move {
            let _ = cancel.cancel_query(tokio_postgres::NoTls).await;
        });
    }
    drop(Object::take(conn));
}
