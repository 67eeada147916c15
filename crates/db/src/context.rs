//! `with_tenant_context`: the default way to touch tenant data.
//!
//! One call is one transaction on one pooled connection, run as the
//! `authenticated` role with the tenant set transaction-locally:
//!
//! ```text
//! BEGIN; SELECT set_config('role', 'authenticated', true),
//!               set_config('app.tenant_id', '<org>', true), ...   -- one message
//! <the caller's statements>
//! COMMIT                                                       -- or ROLLBACK
//! ```
//!
//! The setup message is not awaited on its own: it is sent in the same flush as
//! the caller's first statement (tokio-postgres writes requests in the order
//! they are first polled), so a point read costs two round trips, the read
//! and the commit, not four. A transaction whose caller sends nothing sends
//! nothing at all.
//!
//! Why the connection is always clean afterwards (DESIGN.md invariant 4): the
//! role and the settings are transaction-local, so COMMIT and ROLLBACK both
//! drop them; and when the transaction cannot be ended properly (the caller's
//! future was dropped mid-way, the closure panicked, COMMIT failed in flight)
//! the connection is detached from the pool and closed, which makes the
//! server roll back, instead of being returned with a transaction open.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use deadpool_postgres::Object;
use futures_util::future::join;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::database::Database;
use crate::error::{DbError, Result};
use crate::tenant::Tenant;

/// Run `work` inside one transaction as the tenant `tenant`.
///
/// Commits when `work` returns `Ok`, rolls back when it returns `Err`. The
/// closure gets a [`TenantTx`] to run statements with; it should do database
/// work only: the connection is held until the closure returns, so slow calls
/// (an AI model, another service) belong before or after it. Transactions that
/// hold their connection longer than
/// [`DatabaseConfig::slow_transaction_warning`](crate::DatabaseConfig) are logged.
///
/// ```no_run
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
    let tx = TenantTx::new(conn, tenant, setup_sql(db, tenant));
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

/// The statements that open a tenant transaction, as one simple-query message.
///
/// The values are typed (UUIDs and an integer), so formatting them into the
/// text cannot inject anything.
fn setup_sql(db: &Database, tenant: Tenant) -> String {
    let user = tenant
        .user_id()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let timeout_ms = db
        .config
        .statement_timeout
        .map(|t| t.as_millis())
        .unwrap_or(0);
    format!(
        "BEGIN; SELECT set_config('role', 'authenticated', true), \
         set_config('app.tenant_id', '{}', true), \
         set_config('app.user_id', '{user}', true), \
         set_config('statement_timeout', '{timeout_ms}', true)",
        tenant.organization_id()
    )
}

/// A tenant transaction in progress: the handle `with_tenant_context` gives its closure.
///
/// Statements are prepared once per connection and reused.
pub struct TenantTx {
    conn: Option<Object>,
    tenant: Tenant,
    setup: String,
    began: AtomicBool,
    failed: AtomicBool,
    finished: bool,
    first_statement_at: std::sync::OnceLock<Instant>,
}

impl TenantTx {
    fn new(conn: Object, tenant: Tenant, setup: String) -> Self {
        TenantTx {
            conn: Some(conn),
            tenant,
            setup,
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

    /// Run a statement and return its rows.
    pub async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.prepare(sql).await?;
        self.in_transaction(self.client().query(&statement, params))
            .await
    }

    /// Run a statement that returns exactly one row.
    pub async fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let statement = self.prepare(sql).await?;
        self.in_transaction(self.client().query_one(&statement, params))
            .await
    }

    /// Run a statement that returns at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let statement = self.prepare(sql).await?;
        self.in_transaction(self.client().query_opt(&statement, params))
            .await
    }

    /// Run a statement and return the number of rows it affected.
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.prepare(sql).await?;
        self.in_transaction(self.client().execute(&statement, params))
            .await
    }

    fn client(&self) -> &Object {
        self.conn
            .as_ref()
            .expect("the connection is only taken when the transaction is dropped")
    }

    async fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        // Parsing needs no privileges, so preparing before the transaction
        // has begun is fine; it is a cache hit after the first use.
        self.client().prepare_cached(sql).await.map_err(|e| {
            self.failed.store(true, Ordering::Release);
            DbError::from(e)
        })
    }

    /// Run `statement`, sending the transaction setup in the same flush the
    /// first time. `futures_util::future::join` polls the setup first, and
    /// tokio-postgres sends a request when its future is first polled, so the
    /// setup always precedes the statement on the wire.
    async fn in_transaction<R>(
        &self,
        statement: impl Future<Output = Result<R, tokio_postgres::Error>>,
    ) -> Result<R> {
        // If this future is dropped before the statement's outcome is known
        // (the closure used a timeout or select!), the statement may still
        // fail on the server, and PostgreSQL would then answer COMMIT with a
        // silent rollback. Count an unseen outcome as a failure.
        let unseen = MarkFailedUnlessSeen(&self.failed);
        let result = if self.began.swap(true, Ordering::AcqRel) {
            statement.await.map_err(DbError::from)
        } else {
            let _ = self.first_statement_at.set(Instant::now());
            let setup = self.client().batch_execute(&self.setup);
            match join(setup, statement).await {
                (Err(setup_error), _) => Err(DbError::from(setup_error)),
                (Ok(()), result) => result.map_err(DbError::from),
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
            // Interrupted: the future was dropped, the closure panicked, or
            // COMMIT/ROLLBACK failed. Never hand this connection to the next
            // tenant; closing it makes the server roll the transaction back.
            tracing::debug!(
                organization_id = %self.tenant.organization_id(),
                "tenant transaction interrupted; closing its connection"
            );
            // A statement may still be running on the server, which only
            // notices the closed socket when it next writes: cancel it so its
            // locks go now.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let cancel = conn.cancel_token();
                runtime.spawn(async move {
                    let _ = cancel.cancel_query(tokio_postgres::NoTls).await;
                });
            }
            drop(Object::take(conn));
        }
    }
}
