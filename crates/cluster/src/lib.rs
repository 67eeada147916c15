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

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bin_dir;
mod error;
mod run_as;
pub mod secrets;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub use bin_dir::{BIN_DIR_ENV, find_bin_dir};
pub use error::Error;
pub use run_as::CLUSTER_USER_ENV;

use error::IoContext;
use run_as::RunAs;

/// The application database created in every cluster.
pub const DEFAULT_DATABASE: &str = "tenantry";

/// The cluster's superuser, created by `initdb`.
pub const OWNER_ROLE: &str = "tenantry_owner";

/// The only address the server listens on.
const HOST: &str = "127.0.0.1";
/// Length of the generated owner password (alphanumeric).
const PASSWORD_LEN: usize = 40;
/// Seconds `pg_ctl` waits for start/stop.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// How many times a failed start is retried (new port / leftovers of a killed server).
const START_ATTEMPTS: u32 = 4;
/// Lines of output / log quoted in errors.
const TAIL_LINES: usize = 25;

/// Whether a cluster exists and whether its server is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No data directory yet ([`Cluster::start`] creates it).
    NotInitialized,
    /// Initialized, but no server is running.
    Stopped,
    /// The server is running and listens on `127.0.0.1:port`.
    Running {
        /// The port it listens on.
        port: u16,
        /// The postmaster's process id, when known.
        pid: Option<u32>,
    },
}

/// A private PostgreSQL cluster rooted at a directory (e.g. `./.tenantry`).
///
/// Cheap to create: nothing happens on disk until [`Cluster::start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    root: PathBuf,
}

impl Cluster {
    /// A cluster rooted at `root`. A relative root is made absolute against the current
    /// directory now (the server programs run with another working directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        Cluster { root }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data directory, `<root>/pgdata`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    /// The server log, `<root>/postgres.log`.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// The owner password file, `<root>/owner.password`.
    pub fn password_path(&self) -> PathBuf {
        self.root.join("owner.password")
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("pgdata.init")
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join("cluster.lock")
    }

    fn settings_path(&self) -> PathBuf {
        self.data_dir().join(SETTINGS_FILE)
    }

    fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file() && self.password_path().is_file()
    }

    /// Make sure the cluster exists and its server runs and accepts connections.
    ///
    /// Runs `initdb` if needed, starts the server if it is not running (picking a new port if
    /// the configured one was taken by something else meanwhile, and recovering from a killed
    /// server), and creates [`DEFAULT_DATABASE`] if missing. Idempotent, and safe when several
    /// processes call it at once (they are serialized by `<root>/cluster.lock`).
    pub fn start(&self) -> Result<(), Error> {
        let bin = find_bin_dir()?;
        self.run_as()?; // fail before creating anything if the cluster user cannot get there
        self.ensure_root()?;
        let _lock = self.lock()?;
        let run_as = self.run_as()?;
        if !self.is_initialized() {
            self.init(&bin, &run_as)?;
        }
        let port = match self.status_with(&bin, &run_as)? {
            Status::Running { port, .. } => {
                tracing::debug!(root = %self.root.display(), port, "PostgreSQL already running");
                port
            }
            _ => self.start_server(&bin, &run_as)?,
        };
        self.ensure_database(&bin, port)
    }

    /// Stop the server (fast shutdown: sessions are disconnected, nothing is lost).
    /// `Ok` if it is not running or the cluster does not exist.
    pub fn stop(&self) -> Result<(), Error> {
        if !self.is_initialized() {
            return Ok(());
        }
        let bin = find_bin_dir()?;
        let _lock = self.lock()?;
        let run_as = self.run_as()?;
        let pid = match self.status_with(&bin, &run_as)? {
            Status::Running { pid, .. } => pid,
            _ => return Ok(()),
        };
        tracing::info!(root = %self.root.display(), ?pid, "stopping PostgreSQL");
        let data_dir = self.data_dir();
        let mut cmd = run_as.command(&bin.join("pg_ctl"), &self.root);
        cmd.arg("-D")
            .arg(&data_dir)
            .args(["-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS, "stop"]);
        let log_from = self.log_len();
        let out = output(&mut cmd, "pg_ctl stop")?;
        if out.status.success() {
            return Ok(());
        }
        // It may have gone away on its own in the meantime.
        if !matches!(self.status_with(&bin, &run_as)?, Status::Running { .. }) {
            return Ok(());
        }
        Err(self.command_error("pg_ctl stop", &out, log_from))
    }

    /// Whether the cluster exists and whether its server runs (and on which port).
    ///
    /// Uses `pg_ctl status`; a postmaster that was killed (and is now gone or a zombie) counts
    /// as [`Status::Stopped`].
    pub fn status(&self) -> Result<Status, Error> {
        if !self.is_initialized() {
            return Ok(Status::NotInitialized);
        }
        let bin = find_bin_dir()?;
        let run_as = self.run_as()?;
        self.status_with(&bin, &run_as)
    }

    /// The port the server listens on (or will listen on when started).
    pub fn port(&self) -> Result<u16, Error> {
        match self.status()? {
            Status::NotInitialized => Err(Error::NotInitialized {
                root: self.root.clone(),
            }),
            Status::Running { port, .. } => Ok(port),
            Status::Stopped => self.configured_port(),
        }
    }

    /// The password of [`OWNER_ROLE`].
    pub fn owner_password(&self) -> Result<String, Error> {
        let path = self.password_path();
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(s.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotInitialized {
                root: self.root.clone(),
            }),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Superuser connection URL for database `dbname`, with password:
    /// `postgresql://tenantry_owner:<password>@127.0.0.1:<port>/<dbname>`.
    pub fn owner_url(&self, dbname: &str) -> Result<String, Error> {
        let password = self.owner_password()?;
        let port = self.port()?;
        Ok(format!(
            "postgresql://{OWNER_ROLE}:{password}@{HOST}:{port}/{}",
            percent_encode(dbname)
        ))
    }

    // ----- internals -------------------------------------------------------------------------

    /// Who runs the server programs, after checking that they can reach the root (or, before
    /// it exists, its nearest existing ancestor).
    fn run_as(&self) -> Result<RunAs, Error> {
        let run_as = RunAs::for_data_dir(&self.data_dir())?;
        if run_as != RunAs::Current
            && let Some(existing) = self.root.ancestors().find(|p| p.exists())
        {
            run_as.check_traversable(&run_as::canonical(existing)?)?;
        }
        Ok(run_as)
    }

    fn ensure_root(&self) -> Result<(), Error> {
        if self.root.is_dir() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.root)
            .context(|| format!("cannot create cluster root {}", self.root.display()))?;
        // Traversable by the cluster user whatever the umask; nothing secret is world-readable
        // (pgdata is 0700, the password file 0600).
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o755))
            .context(|| format!("cannot chmod {}", self.root.display()))
    }

    /// Exclusive lock on `<root>/cluster.lock`, released when the file is dropped.
    fn lock(&self) -> Result<File, Error> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .or_else(|_| File::open(&path))
            .context(|| format!("cannot open lock file {}", path.display()))?;
        file.lock()
            .context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }

    fn init(&self, bin: &Path, run_as: &RunAs) -> Result<(), Error> {
        let data_dir = self.data_dir();
        if data_dir.exists() {
            return Err(Error::InvalidState {
                path: data_dir,
                message: format!(
                    "exists but is not an initialized cluster (or {} is missing); \
                     remove the directory to re-create the cluster",
                    self.password_path().display()
                ),
            });
        }
        tracing::info!(root = %self.root.display(), bin = %bin.display(), "initializing PostgreSQL cluster");

        // initdb into a staging directory, renamed into place only when complete, so a crash
        // midway never leaves a half-made pgdata behind.
        let staging = self.staging_dir();
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .context(|| format!("cannot remove leftover {}", staging.display()))?;
        }
        std::fs::create_dir(&staging).context(|| format!("cannot create {}", staging.display()))?;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700))
            .context(|| format!("cannot chmod {}", staging.display()))?;
        run_as.chown(&staging)?;

        let password = random_password(PASSWORD_LEN)?;
        write_private(&self.password_path(), &format!("{password}\n"))?;

        // A throwaway copy the cluster user can read; removed when `pwfile` drops.
        let pwfile = TempFile(
            self.root
                .join(format!(".initdb-pwfile-{}", std::process::id())),
        );
        write_private(&pwfile.0, &format!("{password}\n"))?;
        run_as.chown(&pwfile.0)?;

        let mut cmd = run_as.command(&bin.join("initdb"), &self.root);
        cmd.arg("-D")
            .arg(&staging)
            .args(["-U", OWNER_ROLE])
            .arg(format!("--pwfile={}", pwfile.0.display()))
            .args([
                "--auth-host=scram-sha-256",
                "--auth-local=reject",
                "-E",
                "UTF8",
            ])
            .arg(locale_arg());
        let out = output(&mut cmd, "initdb")?;
        drop(pwfile);
        if !out.status.success() {
            let err = self.command_error("initdb", &out, None);
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }

        // Our settings live in their own file, included last so they win.
        let conf = staging.join("postgresql.conf");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&conf)
            .context(|| format!("cannot open {}", conf.display()))?;
        f.write_all(
            format!("\n# Added by tenantry-cluster.\ninclude '{SETTINGS_FILE}'\n").as_bytes(),
        )
        .context(|| format!("cannot write {}", conf.display()))?;
        let port = free_port()?;
        self.write_settings(&staging.join(SETTINGS_FILE), port, run_as)?;
        let hba = staging.join("pg_hba.conf");
        write_private(&hba, PG_HBA)?;
        run_as.chown(&hba)?;

        std::fs::rename(&staging, &data_dir).context(|| {
            format!(
                "cannot rename {} to {}",
                staging.display(),
                data_dir.display()
            )
        })?;
        tracing::info!(root = %self.root.display(), port, "initialized PostgreSQL cluster");
        Ok(())
    }

    fn write_settings(&self, path: &Path, port: u16, run_as: &RunAs) -> Result<(), Error> {
        write_private(path, &settings(port))?;
        run_as.chown(path)
    }

    /// The port in `pgdata/tenantry.conf`.
    fn configured_port(&self) -> Result<u16, Error> {
        let path = self.settings_path();
        let text =
            std::fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        parse_port(&text).ok_or_else(|| Error::InvalidState {
            path,
            message: "no valid `port = N` line".into(),
        })
    }

    /// Start the server (not running yet); returns its port.
    fn start_server(&self, bin: &Path, run_as: &RunAs) -> Result<u16, Error> {
        self.remove_stale_pid_file()?;
        let mut port = self.configured_port()?;
        if !port_is_free(port) {
            let new = free_port()?;
            tracing::warn!(root = %self.root.display(), port, new_port = new, "configured port is taken; moving the cluster to a new port");
            self.write_settings(&self.settings_path(), new, run_as)?;
            port = new;
        }
        self.ensure_log_file(run_as)?;

        let mut attempt = 1;
        loop {
            tracing::info!(root = %self.root.display(), port, "starting PostgreSQL");
            let log_from = self.log_len();
            let mut cmd = run_as.command(&bin.join("pg_ctl"), &self.root);
            cmd.arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_path())
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "start"]);
            let out = output(&mut cmd, "pg_ctl start")?;
            if out.status.success() {
                return Ok(port);
            }
            let log = self.read_log_from(log_from);
            if attempt >= START_ATTEMPTS {
                return Err(self.command_error("pg_ctl start", &out, log_from));
            }
            attempt += 1;
            if log.contains("could not bind") || log.contains("could not create any TCP/IP sockets")
            {
                // Someone grabbed the port between our check and the server's bind.
                let new = free_port()?;
                tracing::warn!(
                    port,
                    new_port = new,
                    "port taken while starting; retrying on a new port"
                );
                self.write_settings(&self.settings_path(), new, run_as)?;
                port = new;
            } else if log.contains("pre-existing shared memory block") || log.contains("lock file")
            {
                // Processes of a killed server are still exiting.
                tracing::warn!("leftovers of a previous server still present; retrying");
                std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
                self.remove_stale_pid_file()?;
            } else {
                return Err(self.command_error("pg_ctl start", &out, log_from));
            }
        }
    }

    /// Remove `postmaster.pid` if the process it names is gone or a zombie (a killed server
    /// whose parent never reaped it). `pg_ctl` and the server handle a dead pid themselves,
    /// but treat a zombie as alive and would refuse to start.
    fn remove_stale_pid_file(&self) -> Result<(), Error> {
        let path = self.data_dir().join("postmaster.pid");
        let Some(pid) = read_pid_file(&path).map(|p| p.pid) else {
            return Ok(());
        };
        if postmaster_is_gone(pid, &self.data_dir()) {
            tracing::info!(pid, path = %path.display(), "removing stale postmaster.pid of a server that is gone");
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("cannot remove {}", path.display()), e)),
            }
        }
        Ok(())
    }

    fn status_with(&self, bin: &Path, run_as: &RunAs) -> Result<Status, Error> {
        if !self.is_initialized() {
            return Ok(Status::NotInitialized);
        }
        let mut cmd = run_as.command(&bin.join("pg_ctl"), &self.root);
        cmd.arg("-D").arg(self.data_dir()).arg("status");
        let out = output(&mut cmd, "pg_ctl status")?;
        match out.status.code() {
            Some(0) => {}
            Some(3) => return Ok(Status::Stopped),
            _ => return Err(self.command_error("pg_ctl status", &out, None)),
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let pid_file = read_pid_file(&self.data_dir().join("postmaster.pid"));
        let pid = parse_pg_ctl_pid(&stdout).or(pid_file.as_ref().map(|p| p.pid));
        if pid.is_some_and(|pid| postmaster_is_gone(pid, &self.data_dir())) {
            return Ok(Status::Stopped);
        }
        let port = match pid_file.and_then(|p| p.port) {
            Some(port) => port,
            None => self.configured_port()?,
        };
        Ok(Status::Running { port, pid })
    }

    /// Create [`DEFAULT_DATABASE`] unless it exists; doubles as the "accepts connections" check.
    fn ensure_database(&self, bin: &Path, port: u16) -> Result<(), Error> {
        let password = self.owner_password()?;
        let port_s = port.to_string();
        let client = |program: &str| {
            let mut cmd = RunAs::Current.command(&bin.join(program), &self.root);
            cmd.env("PGPASSWORD", &password)
                .env("PGCONNECT_TIMEOUT", "10")
                .env("PGSSLMODE", "disable")
                .env("LC_ALL", "C")
                .args(["-h", HOST, "-p", &port_s, "-U", OWNER_ROLE, "-w"]);
            cmd
        };
        let mut psql = client("psql");
        psql.args(["-X", "-q", "-t", "-A", "-d", "postgres", "-c"])
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{DEFAULT_DATABASE}'"
            ));
        let out = output(&mut psql, "psql")?;
        if !out.status.success() {
            return Err(self.command_error("checking for the database with psql", &out, None));
        }
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(());
        }
        tracing::info!(database = DEFAULT_DATABASE, port, "creating database");
        let mut createdb = client("createdb");
        createdb.arg(DEFAULT_DATABASE);
        let out = output(&mut createdb, "createdb")?;
        if out.status.success() || String::from_utf8_lossy(&out.stderr).contains("already exists") {
            Ok(())
        } else {
            Err(self.command_error("createdb", &out, None))
        }
    }

    fn ensure_log_file(&self, run_as: &RunAs) -> Result<(), Error> {
        let path = self.log_path();
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&path)
            .context(|| format!("cannot create {}", path.display()))?;
        run_as.chown(&path)
    }

    fn log_len(&self) -> Option<u64> {
        std::fs::metadata(self.log_path()).ok().map(|m| m.len())
    }

    /// The log written since byte `from` (the whole log when unknown).
    fn read_log_from(&self, from: Option<u64>) -> String {
        let Ok(mut f) = File::open(self.log_path()) else {
            return String::new();
        };
        if f.seek(SeekFrom::Start(from.unwrap_or(0))).is_err() {
            return String::new();
        }
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// An [`Error::Command`] quoting the tail of the program's output and of `postgres.log`
    /// (from byte `log_from` if given and non-empty there, else its end).
    fn command_error(&self, what: &str, out: &Output, log_from: Option<u64>) -> Error {
        let mut details = String::new();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let output_tail = tail(&text, TAIL_LINES);
        if !output_tail.is_empty() {
            details.push_str(&format!("\n--- output of {what} (tail) ---\n{output_tail}"));
        }
        let mut log = self.read_log_from(log_from);
        if log.trim().is_empty() {
            log = self.read_log_from(None);
        }
        let log_tail = tail(&log, TAIL_LINES);
        if !log_tail.is_empty() {
            details.push_str(&format!(
                "\n--- {} (tail) ---\n{log_tail}",
                self.log_path().display()
            ));
        }
        Error::Command {
            what: what.to_string(),
            status: out.status.to_string(),
            details,
        }
    }
}

/// Name of our settings file inside the data directory.
const SETTINGS_FILE: &str = "tenantry.conf";

const PG_HBA: &str = "\
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

/// `--locale=C.UTF-8` where that locale is installed, else `--no-locale`.
fn locale_arg() -> &'static str {
    let installed = ["/usr/lib/locale/C.utf8", "/usr/lib/locale/C.UTF-8"]
        .iter()
        .any(|p| Path::new(p).exists());
    if installed {
        "--locale=C.UTF-8"
    } else {
        "--no-locale"
    }
}

/// Run to completion, capturing stdout and stderr.
fn output(cmd: &mut Command, what: &str) -> Result<Output, Error> {
    // Not `?cmd`: its Debug output includes the environment (PGPASSWORD).
    tracing::debug!(program = ?cmd.get_program(), args = ?cmd.get_args().collect::<Vec<_>>(), "running");
    cmd.output().context(|| {
        format!(
            "cannot run {what} ({})",
            cmd.get_program().to_string_lossy()
        )
    })
}

/// Last `n` non-empty lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Write `contents` to `path` with mode 0600 (existing files are truncated, mode fixed).
fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .context(|| format!("cannot create {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .context(|| format!("cannot chmod {}", path.display()))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .context(|| format!("cannot write {}", path.display()))
}

/// A file removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `len` random alphanumeric characters from `/dev/urandom`.
pub(crate) fn random_password(len: usize) -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Largest multiple of 62 that fits a byte: rejecting above it keeps the choice uniform.
    const LIMIT: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut urandom = File::open("/dev/urandom").context(|| "cannot open /dev/urandom")?;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        urandom
            .read_exact(&mut buf)
            .context(|| "cannot read /dev/urandom")?;
        for b in buf {
            if b < LIMIT && out.len() < len {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, release it).
fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind((HOST, 0)).context(|| "cannot bind 127.0.0.1:0")?;
    let port = listener
        .local_addr()
        .context(|| "cannot read the bound address")?
        .port();
    Ok(port)
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((HOST, port)).is_ok()
}

/// What we use from `postmaster.pid`: line 1 is the pid, line 4 the port.
struct PidFile {
    pid: u32,
    port: Option<u16>,
}

fn read_pid_file(path: &Path) -> Option<PidFile> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2).and_then(|l| l.trim().parse().ok());
    Some(PidFile { pid, port })
}

/// The pid in `pg_ctl status` output: `pg_ctl: server is running (PID: 1234)`.
fn parse_pg_ctl_pid(stdout: &str) -> Option<u32> {
    let rest = &stdout[stdout.find("(PID: ")? + 6..];
    rest[..rest.find(')')?].trim().parse().ok()
}

/// True if `pid` certainly is not the postmaster of `data_dir`: no such process, a zombie
/// (a killed server nobody reaped: `kill(pid, 0)` still succeeds, so `pg_ctl` and the server
/// think it runs), or a process whose working directory is elsewhere (the pid was reused; the
/// postmaster's working directory is its data directory). Without `/proc` we cannot tell, and
/// say false.
fn postmaster_is_gone(pid: u32, data_dir: &Path) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return false;
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    match std::fs::read_to_string(proc_dir.join("stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => {
            let zombie = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X");
            if zombie {
                return true;
            }
            match (
                std::fs::read_link(proc_dir.join("cwd")),
                std::fs::canonicalize(data_dir),
            ) {
                (Ok(cwd), Ok(data_dir)) => cwd != data_dir,
                _ => false,
            }
        }
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
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
    fn password_is_long_and_alphanumeric() {
        let a = random_password(PASSWORD_LEN).unwrap();
        let b = random_password(PASSWORD_LEN).unwrap();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn settings_round_trip_the_port() {
        assert_eq!(parse_port(&settings(54321)), Some(54321));
        assert_eq!(parse_port("port = 5 # x\n#port = 7\nport='9'\n"), Some(9));
        assert_eq!(parse_port("listen_addresses = '*'\n"), None);
    }

    #[test]
    fn pg_ctl_status_pid() {
        assert_eq!(
            parse_pg_ctl_pid(
                "pg_ctl: server is running (PID: 4242)\n/usr/lib/postgresql/15/bin/postgres \"-D\"\n"
            ),
            Some(4242)
        );
        assert_eq!(parse_pg_ctl_pid("pg_ctl: no server running\n"), None);
    }

    #[test]
    fn url_encoding() {
        assert_eq!(percent_encode("tenantry_test-1"), "tenantry_test-1");
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "");
    }

    #[test]
    fn liveness_check() {
        let cwd = std::env::current_dir().unwrap();
        assert!(!postmaster_is_gone(std::process::id(), &cwd));
        // Alive, but its working directory is not that data directory: a reused pid.
        assert!(postmaster_is_gone(std::process::id(), Path::new("/")));
        assert!(postmaster_is_gone(u32::MAX, &cwd));
    }

    #[test]
    fn relative_roots_become_absolute() {
        let c = Cluster::new(".tenantry");
        assert!(c.root().is_absolute());
        assert!(c.root().ends_with(".tenantry"));
        assert_eq!(c.data_dir(), c.root().join("pgdata"));
    }
}
