//! Running the server: start, stop and status through `pg_ctl`, recovering from a killed
//! server, and the errors that quote what the programs and the log said.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::bin_dir::find_bin_dir;
use crate::error::IoContext;
use crate::run_as::RunAs;
use crate::settings::{free_port, port_is_free};
use crate::{Cluster, Error};

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

impl Cluster {
    /// Make sure the cluster exists and its server runs and accepts connections.
    ///
    /// Runs `initdb` if needed, starts the server if it is not running (picking a new port if
    /// the configured one was taken by something else meanwhile, and recovering from a killed
    /// server), and creates [`DEFAULT_DATABASE`](crate::DEFAULT_DATABASE) if missing. Idempotent, and safe when several
    /// processes call it at once (they are serialized by `<root>/cluster.lock`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tenantry_cluster::Error> {
    /// let cluster = tenantry_cluster::Cluster::new("./.tenantry");
    /// cluster.start()?;
    /// println!("PostgreSQL on 127.0.0.1:{}", cluster.port()?);
    /// # Ok(()) }
    /// ```
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
                tracing::debug!(root = %self.root().display(), port, "PostgreSQL already running");
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
        tracing::info!(root = %self.root().display(), ?pid, "stopping PostgreSQL");
        let data_dir = self.data_dir();
        let mut cmd = run_as.command(&bin.join("pg_ctl"), self.root());
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
                root: self.root().to_path_buf(),
            }),
            Status::Running { port, .. } => Ok(port),
            Status::Stopped => self.configured_port(),
        }
    }

    /// Start the server (not running yet); returns its port.
    fn start_server(&self, bin: &Path, run_as: &RunAs) -> Result<u16, Error> {
        self.remove_stale_pid_file()?;
        let mut port = self.configured_port()?;
        if !port_is_free(port) {
            let new = free_port()?;
            tracing::warn!(root = %self.root().display(), port, new_port = new, "configured port is taken; moving the cluster to a new port");
            self.write_settings(&self.settings_path(), new, run_as)?;
            port = new;
        }
        self.ensure_log_file(run_as)?;

        let mut attempt = 1;
        loop {
            tracing::info!(root = %self.root().display(), port, "starting PostgreSQL");
            let log_from = self.log_len();
            let mut cmd = run_as.command(&bin.join("pg_ctl"), self.root());
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
        let mut cmd = run_as.command(&bin.join("pg_ctl"), self.root());
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

    /// An [`Error::Command`] quoting the tail of the program's output and of `postgres.log`
    /// (from byte `log_from` if given and non-empty there, else its end).
    pub(crate) fn command_error(&self, what: &str, out: &Output, log_from: Option<u64>) -> Error {
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

/// Run to completion, capturing stdout and stderr.
pub(crate) fn output(cmd: &mut Command, what: &str) -> Result<Output, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
