//! What the server is configured with and how clients reach it: our settings file and
//! `pg_hba.conf`, its port, and the owner's connection URL.

use std::net::TcpListener;
use std::path::Path;

use crate::error::IoContext;
use crate::layout::write_private;
use crate::run_as::RunAs;
use crate::{Cluster, Error, OWNER_ROLE};

/// The only address the server listens on.
pub(crate) const HOST: &str = "127.0.0.1";

/// Name of our settings file inside the data directory.
pub(crate) const SETTINGS_FILE: &str = "tenantry.conf";

pub(crate) const PG_HBA: &str = "\
# Managed by tenantry-cluster: TCP on loopback with scram-sha-256 passwords only.
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
";

fn settings(port: u16) -> String {
    format!(
        "\
# Managed by tenantry-cluster (the port is rewritten when it has to change).
listen_addresses = '{HOST}'
port = {port}
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
logging_collector = off
"
    )
}

fn parse_port(conf: &str) -> Option<u16> {
    conf.lines()
        .filter_map(|l| {
            let l = l.split('#').next()?.trim();
            let (k, v) = l.split_once('=')?;
            (k.trim() == "port").then(|| v.trim().trim_matches('\'').parse().ok())?
        })
        .next_back()
}

impl Cluster {
    /// Superuser connection URL for database `dbname`, with password:
    /// `postgresql://tenantry_owner:<password>@127.0.0.1:<port>/<dbname>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tenantry_cluster::Error> {
    /// use tenantry_cluster::{Cluster, DEFAULT_DATABASE};
    /// let cluster = Cluster::new("./.tenantry");
    /// cluster.start()?;
    /// let url = cluster.owner_url(DEFAULT_DATABASE)?;
    /// std::process::Command::new("psql").arg(&url).status().ok();
    /// # Ok(()) }
    /// ```
    pub fn owner_url(&self, dbname: &str) -> Result<String, Error> {
        let password = self.owner_password()?;
        let port = self.port()?;
        Ok(format!(
            "postgresql://{OWNER_ROLE}:{password}@{HOST}:{port}/{}",
            percent_encode(dbname)
        ))
    }

    pub(crate) fn write_settings(
        &self,
        path: &Path,
        port: u16,
        run_as: &RunAs,
    ) -> Result<(), Error> {
        write_private(path, &settings(port))?;
        run_as.chown(path)
    }

    /// The port in `pgdata/tenantry.conf`.
    pub(crate) fn configured_port(&self) -> Result<u16, Error> {
        let path = self.settings_path();
        let text =
            std::fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        parse_port(&text).ok_or_else(|| Error::InvalidState {
            path,
            message: "no valid `port = N` line".into(),
        })
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago: bind port 0, read the port the
/// kernel chose, release it.
///
/// Another process may take the port before the caller binds it, so whoever can should
/// retry on a new one (as [`Cluster::start`] does).
///
/// # Errors
///
/// [`Error::Io`] when nothing can be bound on 127.0.0.1.
pub fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind((HOST, 0)).context(|| "cannot bind 127.0.0.1:0")?;
    let port = listener
        .local_addr()
        .context(|| "cannot read the bound address")?
        .port();
    Ok(port)
}

pub(crate) fn port_is_free(port: u16) -> bool {
    TcpListener::bind((HOST, port)).is_ok()
}

/// `s` with every byte but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// written as `%XX` (upper-case hex, per UTF-8 byte), so that it stands for itself in
/// any part of a URL: a database name in a connection URL, a user, a password.
///
/// ```
/// assert_eq!(tenantry_cluster::percent_encode("my db/é"), "my%20db%2F%C3%A9");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_the_port() {
        assert_eq!(parse_port(&settings(54321)), Some(54321));
        assert_eq!(parse_port("port = 5 # x\n#port = 7\nport='9'\n"), Some(9));
        assert_eq!(parse_port("listen_addresses = '*'\n"), None);
    }

    #[test]
    fn url_encoding() {
        assert_eq!(percent_encode("tenantry_test-1"), "tenantry_test-1");
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
