//! Locating the installed PostgreSQL server binaries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Error;

/// Environment variable naming the directory holding `initdb`, `pg_ctl` and `postgres`.
pub const BIN_DIR_ENV: &str = "TENANTRY_PG_BIN";

/// The programs a bin directory must contain to be usable.
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where distributions install versioned server binaries (`/usr/lib/postgresql/<ver>/bin`).
const DEBIAN_PREFIX: &str = "/usr/lib/postgresql";

/// Find the directory with the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).
///
/// In order: `$TENANTRY_PG_BIN` (an error if set but incomplete); the directory that
/// `initdb` found on `PATH` really lives in (symlinks resolved, so `/usr/local/bin/initdb ->
/// /usr/lib/postgresql/15/bin/initdb` gives `/usr/lib/postgresql/15/bin`); the highest
/// version under `/usr/lib/postgresql/*/bin`. Never downloads anything.
pub fn find_bin_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return if is_complete(&dir) {
            Ok(dir)
        } else {
            Err(Error::BinariesNotFound {
                searched: format!(
                    "{BIN_DIR_ENV}={} lacks one of {}",
                    dir.display(),
                    REQUIRED.join(", ")
                ),
            })
        };
    }
    if let Some(dir) = from_path(std::env::var_os("PATH")) {
        return Ok(dir);
    }
    if let Some(dir) = highest_versioned(Path::new(DEBIAN_PREFIX)) {
        return Ok(dir);
    }
    Err(Error::BinariesNotFound {
        searched: format!("looked on PATH and in {DEBIAN_PREFIX}/*/bin"),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_complete(dir: &Path) -> bool {
    REQUIRED.iter().all(|p| is_executable(&dir.join(p)))
}

/// The real directory of the first `initdb` on `path` whose directory is complete.
fn from_path(path: Option<OsString>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(&path).find_map(|dir| {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            return None;
        }
        let real = std::fs::canonicalize(&initdb).ok()?;
        let real_dir = real.parent()?.to_path_buf();
        if is_complete(&real_dir) {
            Some(real_dir)
        } else if is_complete(&dir) {
            Some(dir)
        } else {
            None
        }
    })
}

/// `<prefix>/<highest version>/bin`, comparing versions numerically (`9.6` < `15` < `16`).
fn highest_versioned(prefix: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(prefix).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            is_complete(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dirs_give_nothing() {
        assert_eq!(
            from_path(Some("/nonexistent-a:/nonexistent-b".into())),
            None
        );
        assert_eq!(highest_versioned(Path::new("/nonexistent-prefix")), None);
    }

    #[test]
    fn error_message_mentions_install() {
        let msg = Error::BinariesNotFound {
            searched: "x".into(),
        }
        .to_string();
        assert!(msg.contains("PostgreSQL server binaries"), "{msg}");
        assert!(msg.contains("apt-get install -y postgresql"), "{msg}");
    }
}
