//! The one error type of the data layer.

use std::time::Duration;

/// Everything that can go wrong in `tenantry_db`.
///
/// Callers map it to their own surface (HTTP status, MCP tool error) with the
/// helpers below rather than by matching on PostgreSQL details.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Input rejected before any query ran (docs/architecture.md invariant 8).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field, as callers name it.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The thing asked for does not exist (or is not visible to this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A rule of the domain refused the operation (the last owner leaving,
    /// an expired invitation, ...). `code` is stable, `message` is for people.
    #[error("{message}")]
    Refused {
        /// Stable machine-readable code, e.g. `LAST_OWNER`.
        code: &'static str,
        /// One sentence for people.
        message: &'static str,
    },
    /// A rule of the domain refuses this caller rather than the request: the
    /// same request from someone else could succeed (accepting an invitation
    /// with an unverified email). Maps to 403.
    #[error("{message}")]
    Forbidden {
        /// Stable machine-readable code.
        code: &'static str,
        /// One sentence for people.
        message: &'static str,
    },
    /// A unique constraint was violated; `constraint` names it.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The violated constraint, e.g. `project_organization_id_name_key`.
        constraint: String,
    },
    /// A foreign key did not match a row visible to this tenant.
    #[error("referenced row does not exist ({constraint})")]
    MissingReference {
        /// The violated foreign key constraint.
        constraint: String,
    },
    /// A row-level security policy refused a write (WITH CHECK).
    #[error("row-level security refused the write")]
    PolicyViolation,
    /// A write in a read-only transaction ([`crate::Tenant::read_only`]):
    /// PostgreSQL refused it (SQLSTATE 25006) and nothing was written. The
    /// caller lacks the right to write, whichever code path tried.
    #[error("this transaction is read-only: the write was refused")]
    ReadOnly,
    /// The statement ran past the configured statement timeout.
    #[error("statement timed out")]
    StatementTimeout,
    /// A statement in the tenant transaction failed, the closure carried on and
    /// returned `Ok`: the transaction was rolled back, not committed.
    #[error("the transaction was aborted by an earlier error and has been rolled back")]
    TransactionAborted,
    /// A statement returned a different number of rows than its caller
    /// expects (`query_one`, `query_opt`): a bug in the statement, not input.
    #[error("statement returned {actual} rows, expected {expected}")]
    RowCount {
        /// "exactly one" or "at most one".
        expected: &'static str,
        /// Rows actually returned.
        actual: usize,
    },
    /// No pooled connection could be had in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// An operation took longer than allowed.
    #[error("database did not answer within {0:?}")]
    Timeout(Duration),
    /// The owner connection was needed (migrations, seeds) but is not configured.
    #[error(
        "no owner connection configured: migrations and seeds need DATABASE_URL or the embedded cluster"
    )]
    OwnerNotConfigured,
    /// A migration that was already applied differs from the embedded one.
    #[error(
        "{set} migration {version} ({name}) was edited after it was applied: restore it and add a new migration instead"
    )]
    MigrationEdited {
        /// tenantry's or the application's.
        set: crate::migrate::MigrationSet,
        /// Version number of the migration.
        version: i32,
        /// File name of the migration.
        name: String,
    },
    /// A migration's SQL failed; nothing of it was applied.
    #[error("{set} migration {name} failed (nothing of it was applied): {}", describe(.source))]
    MigrationFailed {
        /// tenantry's or the application's.
        set: crate::migrate::MigrationSet,
        /// File name of the migration.
        name: String,
        /// What PostgreSQL said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// An application migration is misnamed, misnumbered or empty.
    #[error("application migration {name} {reason}")]
    InvalidMigration {
        /// Its file name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Configuration could not be used (a malformed URL, say).
    #[error("database configuration: {0}")]
    Config(String),
    /// Any other PostgreSQL error.
    #[error("database error: {}", describe(.0))]
    Postgres(#[source] tokio_postgres::Error),
    /// Reading or writing a local file (role password files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// tokio-postgres's own Display says only "db error"; logs need the code and message.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl From<tenantry_domain::InvalidInput> for DbError {
    fn from(e: tenantry_domain::InvalidInput) -> Self {
        DbError::InvalidInput {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl DbError {
    /// Build an [`DbError::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DbError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// True for errors caused by the caller's input rather than the system:
    /// these map to 4xx responses and tool errors.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            DbError::InvalidInput { .. }
                | DbError::NotFound(_)
                | DbError::Refused { .. }
                | DbError::Forbidden { .. }
                | DbError::Conflict { .. }
                | DbError::MissingReference { .. }
                | DbError::PolicyViolation
                | DbError::ReadOnly
        )
    }

    /// Another session changed the same cluster-wide catalog row (a role,
    /// a role membership, a database) at the same moment: PostgreSQL
    /// refuses one of them rather than waiting, with "tuple concurrently
    /// updated" or a duplicate key on a `pg_*` catalog index. Trying again
    /// sees the other's change.
    pub fn is_concurrent_catalog_change(&self) -> bool {
        match self {
            DbError::Conflict { constraint } => constraint.starts_with("pg_"),
            DbError::Postgres(error) => is_concurrent_catalog_error(error),
            _ => false,
        }
    }

    /// How long to wait before trying again work that
    /// [a concurrent catalog change](DbError::is_concurrent_catalog_change)
    /// refused, after `attempts` tries so far; `None` when this error is
    /// another kind or the tries are used up. The one retry policy of the
    /// set-up steps (migrations, role passwords) that race on cluster-wide
    /// roles: the waits grow (20, 40, ... ms) so that several processes
    /// starting at once fall out of step.
    pub(crate) fn retry_after_concurrent_catalog_change(
        &self,
        attempts: u32,
    ) -> Option<std::time::Duration> {
        const ATTEMPTS: u32 = 8;
        (self.is_concurrent_catalog_change() && attempts < ATTEMPTS)
            .then(|| std::time::Duration::from_millis(20 * u64::from(attempts + 1)))
    }

    /// True when the database could not be reached, dropped the connection
    /// or answered too slowly: these map to 503, and trying again later may
    /// work. A server that is down, restarting or shutting down, or that
    /// terminated the backend, counts; an error in the query does not.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable(_) | DbError::Timeout(_) | DbError::StatementTimeout => true,
            DbError::Postgres(error) => is_connection_failure(error),
            _ => false,
        }
    }
}

/// Whether `error` means the connection to the server failed rather than
/// the statement: refused or reset connections, a closed connection, and the
/// server's own "connection exception" (class 08), shutdown and
/// too-many-connections errors. `pg_terminate_backend` and a restart's
/// fast shutdown answer an in-flight statement with 57P01; connecting while
/// the server starts or stops gets 57P03.
fn is_connection_failure(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::IDLE_SESSION_TIMEOUT,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code);
    }
    // Connecting or talking to the server failed at the socket. Malformed
    // messages (InvalidData, InvalidInput) are a protocol bug, not an outage.
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            !matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            )
        })
}

/// [`DbError::is_concurrent_catalog_change`], before the error is converted.
pub(crate) fn is_concurrent_catalog_error(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    error.as_db_error().is_some_and(|db| {
        (db.code() == &SqlState::INTERNAL_ERROR && db.message() == "tuple concurrently updated")
            || (db.code() == &SqlState::UNIQUE_VIOLATION
                && db.constraint().is_some_and(|c| c.starts_with("pg_")))
    })
}

impl From<tokio_postgres::Error> for DbError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let Some(db) = error.as_db_error() else {
            return DbError::Postgres(error);
        };
        let constraint = || db.constraint().unwrap_or_default().to_owned();
        match *db.code() {
            SqlState::UNIQUE_VIOLATION => DbError::Conflict {
                constraint: constraint(),
            },
            SqlState::FOREIGN_KEY_VIOLATION => DbError::MissingReference {
                constraint: constraint(),
            },
            SqlState::QUERY_CANCELED => DbError::StatementTimeout,
            SqlState::READ_ONLY_SQL_TRANSACTION => DbError::ReadOnly,
            // Class 22, data exceptions: a value the server cannot take
            // (a date out of range, a number too large). The input's fault.
            ref code if code.code().starts_with("22") => DbError::InvalidInput {
                field: "value",
                reason: db.message().to_owned(),
            },
            // WITH CHECK failures carry this code and name the table.
            SqlState::INSUFFICIENT_PRIVILEGE if db.message().contains("row-level security") => {
                DbError::PolicyViolation
            }
            _ => DbError::Postgres(error),
        }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => DbError::from(e),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}
