//! The operator's secret files beside a cluster: the login roles' passwords
//! and the key that signs session cookies, each made (mode 0600) the first
//! time and read back on every start.
//!
//! What the passwords are for (setting them on the roles, building the
//! connection URLs) is tenantry-db's business; this module only keeps them.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, IoContext};

/// The file holding the login roles' passwords, in the cluster root.
pub const ROLE_PASSWORDS_FILE: &str = "role-passwords";
/// The file holding the session-cookie key, in the cluster root.
pub const AUTH_SECRET_FILE: &str = "auth-secret";

/// The shortest session-cookie key accepted (Better Auth's rule for
/// `BETTER_AUTH_SECRET`).
pub const MIN_AUTH_SECRET_CHARS: usize = 32;

/// The contents of [`ROLE_PASSWORDS_FILE`]: the passwords of the tenant
/// pool's login (`tenantry_app`) and of the bare client's (`tenantry_bare`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePasswordFile {
    /// `tenantry_app`'s password.
    pub app: String,
    /// `tenantry_bare`'s password.
    pub bare: String,
}

/// Read `dir/role-passwords`, creating it (mode 0600) with fresh random
/// passwords the first time.
pub fn load_or_create_role_passwords(dir: &Path) -> Result<RolePasswordFile, Error> {
    let text = read_or_create_private(dir, ROLE_PASSWORDS_FILE, || {
        Ok(format!(
            "app={}\nbare={}\n",
            crate::random_password(PASSWORD_LEN)?,
            crate::random_password(PASSWORD_LEN)?
        ))
    })?;
    parse_password_file(&text).ok_or_else(|| malformed(&dir.join(ROLE_PASSWORDS_FILE)))
}

const PASSWORD_LEN: usize = 40;

/// The key that signs session cookies for a cluster tenantry runs itself:
/// `dir/auth-secret`, 32 bytes from the operating system's random source
/// written as 64 hex digits, made (mode 0600) the first time and read back
/// on every start. It is a secret of its own, so that a role's password
/// (which whoever runs the database knows) cannot forge sessions. Its text
/// is the key, as `TENANTRY_AUTH_SECRET`'s is: moving to another database,
/// set that variable to it and sessions stay valid.
pub fn load_or_create_auth_secret(dir: &Path) -> Result<String, Error> {
    let path = dir.join(AUTH_SECRET_FILE);
    let text = read_or_create_private(dir, AUTH_SECRET_FILE, || {
        let mut key = [0u8; 32];
        File::open("/dev/urandom")
            .and_then(|mut urandom| urandom.read_exact(&mut key))
            .context(|| "no random bytes from /dev/urandom")?;
        Ok(key.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
    })?;
    let secret = text.trim();
    if secret.chars().count() < MIN_AUTH_SECRET_CHARS {
        return Err(malformed(&path));
    }
    Ok(secret.to_owned())
}

fn malformed(path: &Path) -> Error {
    Error::InvalidState {
        path: path.to_path_buf(),
        message: "malformed; delete it to regenerate".into(),
    }
}

/// The text of `dir/name`, which is created (mode 0600) holding `fresh()`
/// when it does not exist.
fn read_or_create_private(
    dir: &Path,
    name: &str,
    fresh: impl Fn() -> Result<String, Error>,
) -> Result<String, Error> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            refuse_if_readable_by_others(&path)?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = fresh()?;
            // Write a private temporary file, then link it into place: the
            // link fails if another process got there first, and then its
            // file (complete, never half-written) is the one.
            // A name of its own, created new: never someone else's file, nor
            // one planted there beforehand (a link would be followed).
            let temp = dir.join(format!(".{name}.{}", crate::random_password(PASSWORD_LEN)?));
            let mut file =
                open_private(&temp).context(|| format!("cannot create {}", temp.display()))?;
            file.write_all(text.as_bytes())
                .context(|| format!("cannot write {}", temp.display()))?;
            drop(file);
            let linked = std::fs::hard_link(&temp, &path);
            let _ = std::fs::remove_file(&temp);
            match linked {
                Ok(()) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read_to_string(&path)
                        .context(|| format!("cannot read {}", path.display()))
                }
                Err(e) => Err(Error::io(format!("cannot create {}", path.display()), e)),
            }
        }
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

fn parse_password_file(text: &str) -> Option<RolePasswordFile> {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Some(RolePasswordFile {
        app: value("app")?,
        bare: value("bare")?,
    })
}

fn open_private(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// A secret file that others may read is no secret: refuse it rather than
/// serve with it.
fn refuse_if_readable_by_others(path: &Path) -> Result<(), Error> {
    let mode = std::fs::metadata(path)
        .context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::InvalidState {
            path: path.to_path_buf(),
            message: format!(
                "readable by others (mode {:o}); chmod 600 it, or delete it to regenerate",
                mode & 0o777
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(what: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tenantry-{what}-{}-{}",
            std::process::id(),
            crate::random_password(8).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn password_file_round_trips() {
        let parsed = parse_password_file("app=abc\nbare=def\n").unwrap();
        assert_eq!(parsed.app, "abc");
        assert_eq!(parsed.bare, "def");
        assert!(parse_password_file("app=abc\n").is_none());
    }

    #[test]
    fn role_passwords_are_made_once_and_kept() {
        let dir = temp_dir("role-passwords");
        let first = load_or_create_role_passwords(&dir).unwrap();
        assert_eq!(first.app.len(), PASSWORD_LEN);
        assert_ne!(first.app, first.bare);
        assert_eq!(load_or_create_role_passwords(&dir).unwrap(), first);
        let mode = std::fs::metadata(dir.join(ROLE_PASSWORDS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The embedded cluster's key as the CLI finds it when neither
    /// `TENANTRY_AUTH_SECRET` nor `BETTER_AUTH_SECRET` is set.
    #[test]
    fn the_embedded_cookie_key_is_a_secret_of_its_own_kept_private_and_stable() {
        let dir = temp_dir("auth-secret");
        let passwords = load_or_create_role_passwords(&dir).unwrap();
        let key = load_or_create_auth_secret(&dir).unwrap();
        assert!(key.len() >= 64, "{} characters", key.len());
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        for password in [&passwords.app, &passwords.bare] {
            assert!(
                !key.contains(password.as_str()),
                "the key holds a role password"
            );
        }
        assert_eq!(
            load_or_create_auth_secret(&dir).unwrap(),
            key,
            "a restart keeps the key"
        );
        let file = dir.join(AUTH_SECRET_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        let another = dir.join("another cluster");
        std::fs::create_dir(&another).unwrap();
        assert_ne!(load_or_create_auth_secret(&another).unwrap(), key);
        // A key others may read is refused, not used.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_or_create_auth_secret(&dir).unwrap_err();
        assert!(
            refused.to_string().contains("readable by others"),
            "{refused}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
