//! Which OS user runs the PostgreSQL programs.
//!
//! PostgreSQL refuses to run as root. When we are root (containers, CI) the server programs
//! run as an unprivileged user instead, through `CommandExt::{uid, gid}`.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::unistd::{Uid, User};

use crate::Error;
use crate::error::IoContext;

/// Environment variable naming the unprivileged user that runs PostgreSQL when we are root.
pub const CLUSTER_USER_ENV: &str = "TENANTRY_CLUSTER_USER";

/// The identity PostgreSQL programs are run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// Not root: run everything as ourselves.
    Current,
    /// Root: switch to this user in the child.
    User { name: String, uid: u32, gid: u32 },
}

impl RunAs {
    /// Decide who runs the server for the data directory `data_dir` (which may not exist yet).
    ///
    /// An existing data directory must be used by its owner, so when it is owned by a
    /// non-root user that user wins over the configured one.
    pub(crate) fn for_data_dir(data_dir: &Path) -> Result<Self, Error> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(RunAs::Current);
        }
        let configured = std::env::var(CLUSTER_USER_ENV)
            .ok()
            .filter(|s| !s.is_empty());

        if let Ok(meta) = std::fs::metadata(data_dir)
            && meta.uid() != 0
        {
            let user = User::from_uid(Uid::from_raw(meta.uid())).ok().flatten();
            let name = user
                .as_ref()
                .map_or_else(|| meta.uid().to_string(), |u| u.name.clone());
            if let Some(conf) = &configured
                && conf != &name
            {
                tracing::warn!(
                    data_dir = %data_dir.display(),
                    configured = %conf,
                    owner = %name,
                    "data directory is owned by another user than {CLUSTER_USER_ENV}; running PostgreSQL as its owner"
                );
            }
            let gid = user.map_or(meta.gid(), |u| u.gid.as_raw());
            return Ok(RunAs::User {
                name,
                uid: meta.uid(),
                gid,
            });
        }

        let name = match configured {
            Some(name) => name,
            None => ["postgres", "nobody"]
                .into_iter()
                .find(|n| matches!(User::from_name(n), Ok(Some(_))))
                .unwrap_or("postgres")
                .to_string(),
        };
        let user = User::from_name(&name)
            .map_err(|e| Error::ClusterUser {
                user: name.clone(),
                reason: format!("looking it up failed: {e}"),
            })?
            .ok_or_else(|| Error::ClusterUser {
                user: name.clone(),
                reason: "no such user".into(),
            })?;
        if user.uid.is_root() {
            return Err(Error::ClusterUser {
                user: name,
                reason: "it is root (uid 0)".into(),
            });
        }
        Ok(RunAs::User {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    /// Give `path` to the cluster user (no-op when not switching users).
    pub(crate) fn chown(&self, path: &Path) -> Result<(), Error> {
        match self {
            RunAs::Current => Ok(()),
            RunAs::User { uid, gid, name } => {
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                    .context(|| format!("cannot give {} to cluster user {name}", path.display()))
            }
        }
    }

    /// Check that the cluster user can reach `dir` (canonical) and everything above it.
    pub(crate) fn check_traversable(&self, dir: &Path) -> Result<(), Error> {
        let RunAs::User { name, uid, gid } = self else {
            return Ok(());
        };
        let mut chain: Vec<&Path> = dir.ancestors().collect();
        chain.reverse();
        for d in chain {
            let meta = std::fs::metadata(d).context(|| format!("cannot stat {}", d.display()))?;
            let mode = meta.mode();
            let bit = if meta.uid() == *uid {
                0o100
            } else if meta.gid() == *gid {
                0o010
            } else {
                0o001
            };
            if mode & bit == 0 {
                return Err(Error::NotTraversable {
                    dir: d.to_path_buf(),
                    user: name.clone(),
                    uid: *uid,
                });
            }
        }
        Ok(())
    }

    /// A command for `program` run with this identity: working directory `cwd`, stdin
    /// closed, no inherited `PG*` variables (they would redirect clients and the server).
    pub(crate) fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let RunAs::User { name, uid, gid } = self {
            // std clears supplementary groups (setgroups(0)) before setgid/setuid as root.
            cmd.uid(*uid)
                .gid(*gid)
                .env("HOME", cwd)
                .env("USER", name)
                .env("LOGNAME", name);
        }
        cmd
    }
}

/// Canonical form of `path` for traversal checks (it must exist).
pub(crate) fn canonical(path: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).context(|| format!("cannot resolve {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_check_names_the_directory() {
        let who = RunAs::User {
            name: "nobody-test".into(),
            uid: 4_000_000,
            gid: 4_000_000,
        };
        let base =
            std::env::temp_dir().join(format!("tenantry-cluster-trav-{}", std::process::id()));
        let inner = base.join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = who
            .check_traversable(&canonical(&inner).unwrap())
            .unwrap_err();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
        match err {
            Error::NotTraversable { dir, .. } => assert_eq!(
                dir,
                canonical(&std::env::temp_dir())
                    .unwrap()
                    .join(base.file_name().unwrap())
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
}
