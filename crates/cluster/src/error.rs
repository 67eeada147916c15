//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong while managing the private cluster.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum Error {
    /// `initdb`, `pg_ctl` or `postgres` could not be found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found ({searched}); \
         install them (on Debian/Ubuntu: `apt-get install -y postgresql`) \
         or set TENANTRY_PG_BIN to the directory that contains them"
    )]
    BinariesNotFound {
        /// Where we looked.
        searched: String,
    },

    /// A file-system or process-spawn operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The unprivileged user that should run PostgreSQL (we are root) does not exist.
    #[error(
        "cannot run PostgreSQL as user {user:?}: {reason}; PostgreSQL refuses to run as root, \
         so when tenantry runs as root it runs the server as an unprivileged user \
         (TENANTRY_CLUSTER_USER, else `postgres`, else `nobody`)"
    )]
    ClusterUser {
        /// The user name that was tried.
        user: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// A parent directory of the cluster root cannot be traversed by the cluster user.
    #[error(
        "directory {} is not traversable by the cluster user {user:?} (uid {uid}); \
         PostgreSQL runs as that user, so the cluster root and every directory above it \
         must be searchable by it (e.g. `chmod o+x {}`), or choose another root",
        dir.display(),
        dir.display()
    )]
    NotTraversable {
        /// The offending directory.
        dir: PathBuf,
        /// The cluster user.
        user: String,
        /// Its uid.
        uid: u32,
    },

    /// The cluster has never been initialized (call [`crate::Cluster::start`]).
    #[error("the PostgreSQL cluster at {} is not initialized (start it first)", root.display())]
    NotInitialized {
        /// The cluster root.
        root: PathBuf,
    },

    /// A PostgreSQL program exited unsuccessfully.
    #[error("{what} failed ({status}){details}")]
    Command {
        /// The command, e.g. `pg_ctl start`.
        what: String,
        /// Its exit status.
        status: String,
        /// Tail of its output and of `postgres.log`, pre-formatted (may be empty).
        details: String,
    },

    /// The cluster's files are not in the expected shape.
    #[error("invalid cluster state at {}: {message}", path.display())]
    InvalidState {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Attach a context message to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T, Error>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T, Error> {
        self.map_err(|e| Error::io(context(), e))
    }
}
