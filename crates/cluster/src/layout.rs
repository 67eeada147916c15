//! Where the cluster keeps its files under the root, and the file handling they need:
//! paths, the root directory, the cross-process lock, the log and private (0600) files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::error::IoContext;
use crate::run_as::{self, RunAs};
use crate::settings::SETTINGS_FILE;

/// A private PostgreSQL cluster rooted at a directory (e.g. `./.tenantry`).
///
/// Cheap to create: nothing happens on disk until [`Cluster::start`].
///
/// # Examples
///
/// ```
/// use tenantry_cluster::{Cluster, Status};
///
/// let root = std::env::temp_dir().join("tenantry-doc-example-not-created");
/// let cluster = Cluster::new(&root);
/// assert_eq!(cluster.data_dir(), root.join("pgdata"));
/// assert_eq!(cluster.status().unwrap(), Status::NotInitialized);
/// ```
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

    pub(crate) fn staging_dir(&self) -> PathBuf {
        self.root.join("pgdata.init")
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join("cluster.lock")
    }

    pub(crate) fn settings_path(&self) -> PathBuf {
        self.data_dir().join(SETTINGS_FILE)
    }

    pub(crate) fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file() && self.password_path().is_file()
    }

    /// The password of [`OWNER_ROLE`](crate::OWNER_ROLE).
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

    /// Who runs the server programs, after checking that they can reach the root (or, before
    /// it exists, its nearest existing ancestor).
    pub(crate) fn run_as(&self) -> Result<RunAs, Error> {
        let run_as = RunAs::for_data_dir(&self.data_dir())?;
        if run_as != RunAs::Current
            && let Some(existing) = self.root.ancestors().find(|p| p.exists())
        {
            run_as.check_traversable(&run_as::canonical(existing)?)?;
        }
        Ok(run_as)
    }

    pub(crate) fn ensure_root(&self) -> Result<(), Error> {
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
    pub(crate) fn lock(&self) -> Result<File, Error> {
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

    pub(crate) fn ensure_log_file(&self, run_as: &RunAs) -> Result<(), Error> {
        let path = self.log_path();
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&path)
            .context(|| format!("cannot create {}", path.display()))?;
        run_as.chown(&path)
    }

    pub(crate) fn log_len(&self) -> Option<u64> {
        std::fs::metadata(self.log_path()).ok().map(|m| m.len())
    }

    /// The log written since byte `from` (the whole log when unknown).
    pub(crate) fn read_log_from(&self, from: Option<u64>) -> String {
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
}

/// Write `contents` to `path` with mode 0600 (existing files are truncated, mode fixed).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
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
pub(crate) struct TempFile(pub(crate) PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_roots_become_absolute() {
        let c = Cluster::new(".tenantry");
        assert!(c.root().is_absolute());
        assert!(c.root().ends_with(".tenantry"));
        assert_eq!(c.data_dir(), c.root().join("pgdata"));
    }
}
