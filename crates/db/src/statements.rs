//! How statements reach the server, for every connection the crate hands out.
//!
//! Two modes ([`StatementMode`]):
//!
//! - **Prepared** (the default): each SQL text is prepared once per
//!   connection (`prepare_cached`) and executed by name afterwards. Cheapest
//!   on the server, but a prepared statement lives in one server session.
//! - **Unnamed**: every execution parses the text as the unnamed statement
//!   in the same message batch as its Bind/Execute/Sync, with parameter
//!   types learnt once per process (`Client::describe`). Nothing outlives
//!   the request on the server, so it works behind a pooler that hands each
//!   transaction a different server session (PgBouncer in transaction mode,
//!   which before 1.21 does not carry prepared statements).
//!
//! Both run the same SQL with the same parameters; only the messages differ.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, PipelineStatement, Row, RowStream, Statement};

use crate::error::{DbError, Result};

/// How statements are sent; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatementMode {
    /// Prepared once per connection and reused: use with PostgreSQL directly
    /// or with a session-mode pooler.
    #[default]
    Prepared,
    /// Parsed unnamed with each execution: use behind PgBouncer (or any
    /// pooler) in transaction mode.
    Unnamed,
}

/// A statement ready to execute on one connection.
pub(crate) enum Resolved<'a> {
    Prepared(Statement),
    Typed(&'a str, Arc<[Type]>),
}

impl Resolved<'_> {
    pub(crate) fn as_pipeline(&self) -> PipelineStatement<'_> {
        match self {
            Resolved::Prepared(statement) => PipelineStatement::Prepared(statement),
            Resolved::Typed(sql, types) => PipelineStatement::Typed(sql, types),
        }
    }
}

/// Per-database statement handling: the mode, and in unnamed mode the
/// parameter types of every SQL text seen so far (a finite set: the crate's
/// named query functions).
pub(crate) struct Statements {
    mode: StatementMode,
    types: Mutex<HashMap<Box<str>, Arc<[Type]>>>,
}

impl Statements {
    pub(crate) fn new(mode: StatementMode) -> Self {
        Statements {
            mode,
            types: Mutex::new(HashMap::new()),
        }
    }

    /// Whether interrupted work may be cancelled with a cancel request: not
    /// behind a pooler. PgBouncer 1.18 (Debian 12's) forwards cancel requests
    /// but crashes when one races other clients' logins ("bad client state"
    /// in disconnect_client, seen in pool_hygiene.rs); it closes the server
    /// connection of a client that disconnects mid-query by itself, and the
    /// statement timeout bounds what still runs.
    pub(crate) fn may_send_cancel_requests(&self) -> bool {
        self.mode == StatementMode::Prepared
    }

    /// `setup`, then `sql`, on `conn` under one Sync: one implicit
    /// transaction and one round trip, so what `setup` sets
    /// transaction-locally (a tenant, a role) holds for `sql` alone and is
    /// gone when it commits or fails, even if the caller's future is
    /// dropped between the two.
    pub(crate) async fn run_after(
        &self,
        conn: &deadpool_postgres::Object,
        setup: &str,
        setup_params: &[&(dyn ToSql + Sync)],
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Outcome> {
        let setup = self.resolve(conn, setup).await?;
        let statement = self.resolve(conn, sql).await?;
        let rows = conn
            .query_after(
                setup.as_pipeline(),
                setup_params,
                statement.as_pipeline(),
                params,
            )
            .await?;
        Outcome::collect(rows).await
    }

    /// Get `sql` ready to run on `conn`: a round trip the first time a
    /// connection (prepared) or the process (unnamed) sees it, free after.
    pub(crate) async fn resolve<'a>(
        &self,
        conn: &deadpool_postgres::Object,
        sql: &'a str,
    ) -> Result<Resolved<'a>> {
        match self.mode {
            StatementMode::Prepared => Ok(Resolved::Prepared(conn.prepare_cached(sql).await?)),
            StatementMode::Unnamed => {
                if let Some(types) = self.known_types(sql) {
                    return Ok(Resolved::Typed(sql, types));
                }
                let described = conn.describe(sql).await?;
                let types: Arc<[Type]> = described.params().into();
                self.lock().insert(sql.into(), types.clone());
                Ok(Resolved::Typed(sql, types))
            }
        }
    }

    fn known_types(&self, sql: &str) -> Option<Arc<[Type]>> {
        self.lock().get(sql).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<[Type]>>> {
        // The map holds no invariant a panic could break halfway.
        self.types
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Execute a resolved statement on its own (one Bind/Execute/Sync).
pub(crate) async fn execute(
    client: &Client,
    statement: &Resolved<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Outcome> {
    let stream = match statement {
        Resolved::Prepared(statement) => {
            client
                .query_raw(statement, params.iter().map(|p| *p as &dyn ToSql))
                .await?
        }
        Resolved::Typed(sql, types) => {
            if params.len() != types.len() {
                return Err(DbError::Config(format!(
                    "statement expects {} parameters, {} given",
                    types.len(),
                    params.len()
                )));
            }
            let typed = params
                .iter()
                .zip(types.iter())
                .map(|(p, t)| (*p as &dyn ToSql, t.clone()));
            client.query_typed_raw(sql, typed).await?
        }
    };
    Outcome::collect(stream).await
}

/// Everything a statement returned: its rows and the affected-row count.
pub struct Outcome {
    pub(crate) rows: Vec<Row>,
    pub(crate) affected: u64,
}

impl Outcome {
    pub(crate) async fn collect(stream: RowStream) -> Result<Outcome> {
        let mut stream = pin!(stream);
        let mut rows = Vec::new();
        while let Some(row) = stream.try_next().await? {
            rows.push(row);
        }
        let affected = stream.rows_affected().unwrap_or(0);
        Ok(Outcome { rows, affected })
    }

    pub(crate) fn one(mut self) -> Result<Row> {
        match self.rows.len() {
            1 => Ok(self.rows.remove(0)),
            n => Err(DbError::RowCount {
                expected: "exactly one",
                actual: n,
            }),
        }
    }

    pub(crate) fn opt(mut self) -> Result<Option<Row>> {
        match self.rows.len() {
            0 => Ok(None),
            1 => Ok(Some(self.rows.remove(0))),
            n => Err(DbError::RowCount {
                expected: "at most one",
                actual: n,
            }),
        }
    }
}

/// The one thing a statement handle must do: run `sql` and hand back
/// everything it returned. Public in a private module, so the traits built
/// on it ([`TenantStatements`](crate::TenantStatements) and the bare
/// client's) can be called from anywhere but implemented only here.
pub trait Run: Sync {
    /// Run `sql` with `params` on this handle's connection.
    fn run(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Outcome>> + Send;
}

/// The four ways to run a statement, written once over the private `Run`: the methods
/// of every statement handle, tenant ([`TenantStatements`](crate::TenantStatements))
/// or bare. Sealed through `Run`: other crates call it, none implements it.
pub trait Query: Run {
    /// Run a statement and return its rows.
    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send {
        async move { Ok(self.run(sql, params).await?.rows) }
    }

    /// Run a statement that returns exactly one row.
    fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row>> + Send {
        async move { self.run(sql, params).await?.one() }
    }

    /// Run a statement that returns at most one row.
    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>>> + Send {
        async move { self.run(sql, params).await?.opt() }
    }

    /// Run a statement and return the number of rows it affected.
    fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64>> + Send {
        async move { Ok(self.run(sql, params).await?.affected) }
    }
}
