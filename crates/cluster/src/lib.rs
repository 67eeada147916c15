//! # tenantry-cluster
//!
//! Owns the private PostgreSQL cluster that the `tenantry` binary and its tests run against:
//! creating it with the machine's installed `initdb`, starting and stopping it with `pg_ctl`,
//! reporting its status and port, and handing out the superuser ("owner") connection URL.
//! Nothing is downloaded: the PostgreSQL server binaries must already be installed
//! (see [`find_bin_dir`]).
//!
//! ## Layout
//!
//! Everything lives under one root directory (e.g. `./.tenantry`), so two checkouts side by
//! side never share a data directory or a port:
//!
//! | path | what |
//! | --- | --- |
//! | `pgdata/` | the data directory (`pgdata/tenantry.conf` holds our settings, incl. the port) |
//! | `postgres.log` | the server's log |
//! | `owner.password` | the password of [`OWNER_ROLE`] (mode 0600) |
//! | `cluster.lock` | serializes [`Cluster::start`] / [`Cluster::stop`] across processes |
//! | `role-passwords`, `auth-secret` | the login roles' passwords and the session-cookie key ([`secrets`], mode 0600) |
//!
//! The server listens on `127.0.0.1` only, on a port of its own, without a unix socket, and
//! accepts only `scram-sha-256` password logins over TCP.
//!
//! ## Running as root
//!
//! PostgreSQL refuses to run as root. When the calling process is root, `initdb`, `pg_ctl` and
//! the server run as an unprivileged user: `$TENANTRY_CLUSTER_USER`, else `postgres`, else
//! `nobody` (an existing data directory is always used by its owner).
//!
//! The API is synchronous (it spawns processes and waits); call it from async code through
//! `spawn_blocking`, or at startup.
//!
//! ```no_run
//! use tenantry_cluster::{Cluster, DEFAULT_DATABASE, Status};
//!
//! # fn main() -> Result<(), tenantry_cluster::Error> {
//! let cluster = Cluster::new("./.tenantry");
//! cluster.start()?; // initdb on first use; idempotent
//! assert!(matches!(cluster.status()?, Status::Running { .. }));
//! // The superuser's URL, e.g. for migrations (`tenantry_db::DatabaseConfig::with_owner`).
//! let owner_url = cluster.owner_url(DEFAULT_DATABASE)?;
//! # let _ = owner_url;
//! cluster.stop()?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bin_dir;
mod control;
mod error;
mod init;
mod layout;
mod run_as;
pub mod secrets;
mod settings;

pub use bin_dir::{BIN_DIR_ENV, find_bin_dir};
pub use control::Status;
pub use error::Error;
pub use init::random_password;
pub use layout::Cluster;
pub use run_as::CLUSTER_USER_ENV;
pub use settings::{free_port, percent_encode};

/// The application database created in every cluster.
pub const DEFAULT_DATABASE: &str = "tenantry";

/// The cluster's superuser, created by `initdb`.
pub const OWNER_ROLE: &str = "tenantry_owner";

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
