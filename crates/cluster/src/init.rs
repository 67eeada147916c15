//! Creating the cluster: `initdb` into a staging directory, the owner role's password, our
//! settings and `pg_hba.conf`, and the application database once the server runs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::control::output;
use crate::error::IoContext;
use crate::layout::{TempFile, write_private};
use crate::run_as::RunAs;
use crate::settings::{HOST, PG_HBA, SETTINGS_FILE, free_port};
use crate::{Cluster, DEFAULT_DATABASE, Error, OWNER_ROLE};

/// Length of the generated owner password (alphanumeric).
const PASSWORD_LEN: usize = 40;

impl Cluster {
    pub(crate) fn init(&self, bin: &Path, run_as: &RunAs) -> Result<(), Error> {
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
        tracing::info!(root = %self.root().display(), bin = %bin.display(), "initializing PostgreSQL cluster");

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
            self.root()
                .join(format!(".initdb-pwfile-{}", std::process::id())),
        );
        write_private(&pwfile.0, &format!("{password}\n"))?;
        run_as.chown(&pwfile.0)?;

        let mut cmd = run_as.command(&bin.join("initdb"), self.root());
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
        tracing::info!(root = %self.root().display(), port, "initialized PostgreSQL cluster");
        Ok(())
    }

    /// Create [`DEFAULT_DATABASE`] unless it exists; doubles as the "accepts connections" check.
    pub(crate) fn ensure_database(&self, bin: &Path, port: u16) -> Result<(), Error> {
        let password = self.owner_password()?;
        let port_s = port.to_string();
        let client = |program: &str| {
            let mut cmd = RunAs::Current.command(&bin.join(program), self.root());
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

/// A secret of `len` characters chosen uniformly from `A-Z a-z 0-9`, read from
/// `/dev/urandom`: nothing in it needs quoting in a URL, a `pwfile` or SQL.
///
/// # Errors
///
/// [`Error::Io`] when `/dev/urandom` cannot be read.
pub fn random_password(len: usize) -> Result<String, Error> {
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
}
