//! Passwords: the length policy, hashing in one of two formats (argon2id, or
//! Better Auth's scrypt for a database shared with a Better Auth app), and
//! verification of both.
//!
//! Every password is normalised with Unicode NFKC before it is measured,
//! hashed or verified, as Better Auth does (`password.normalize("NFKC")`), so
//! the same password typed on different keyboards or pasted from different
//! places (`"ﬁ"` vs `"fi"`, a precomposed `"á"` vs `"a"` + combining accent)
//! is the same password.
//!
//! ## Better Auth's format
//!
//! Better Auth (through `@better-auth/utils/password`) stores
//! `"<salt>:<key>"`: `salt` is 16 random bytes written as 32 lowercase hex
//! characters, and `key` is scrypt (N = 16384, r = 16, p = 1, 64 bytes) written
//! as 128 lowercase hex characters. The scrypt salt input is the **hex string
//! itself** (its 32 ASCII bytes), not the 16 bytes it encodes.
//!
//! [`PasswordHashing`] says which format new hashes are written in. With the
//! default, [`PasswordHashing::Argon2id`], a Better Auth hash (a user imported
//! from Better Auth) verifies as `Valid { needs_rehash: true }` and is
//! replaced by argon2id at the next successful sign-in. With
//! [`PasswordHashing::BetterAuthScrypt`] the roles swap: every new hash is
//! Better Auth's, a Better Auth hash is never replaced, and an argon2id hash
//! is the one that needs rehashing, so that the Better Auth app sharing the
//! database can verify it after the user's next sign-in here.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::AuthError;

/// The fewest characters (after NFKC normalisation) a password may have.
/// Better Auth's default `minPasswordLength`.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The most characters (after NFKC normalisation) a password may have.
/// Better Auth's default `maxPasswordLength`.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Better Auth's scrypt cost: N = 2^14.
const SCRYPT_LOG_N: u8 = 14;
/// Better Auth's scrypt block size.
const SCRYPT_R: u32 = 16;
/// Better Auth's scrypt parallelism.
const SCRYPT_P: u32 = 1;
/// Better Auth's scrypt output length in bytes.
const SCRYPT_KEY_BYTES: usize = 64;
/// Better Auth's salt: 16 random bytes, as hex.
const SCRYPT_SALT_BYTES: usize = 16;

/// The format new password hashes are written in.
///
/// # Examples
///
/// ```
/// use tenantry_auth::PasswordHashing;
/// use tenantry_auth::password::PasswordCheck;
///
/// // A database shared with a Better Auth application.
/// let hashing: PasswordHashing = "scrypt".parse().unwrap();
/// hashing.validate_new("correct horse battery staple").unwrap();
/// let stored = hashing.hash("correct horse battery staple").unwrap();
/// assert_eq!(
///     hashing.verify("correct horse battery staple", &stored).unwrap(),
///     PasswordCheck::Valid { needs_rehash: false }
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasswordHashing {
    /// argon2id PHC strings ([`hash_password`]). The default: Better Auth
    /// cannot verify them, so a Better Auth app on the same database cannot
    /// sign these users in.
    #[default]
    Argon2id,
    /// Better Auth's own scrypt `"<salt>:<key>"`
    /// ([`hash_password_scrypt_better_auth`]), for a database shared with a
    /// Better Auth application: both sides verify every hash the other writes.
    BetterAuthScrypt,
}

impl PasswordHashing {
    /// The setting's spelling (`argon2id` or `scrypt`), as
    /// [`PasswordHashing::from_str`](std::str::FromStr) reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordHashing::Argon2id => "argon2id",
            PasswordHashing::BetterAuthScrypt => "scrypt",
        }
    }

    /// Checks a password being chosen (sign-up, change, reset) against the
    /// policy ([`validate_password`]) and, under
    /// [`PasswordHashing::BetterAuthScrypt`], against Better Auth's own
    /// measure too (at most 128 UTF-16 code units, before normalisation), so
    /// a password tenantry accepts can also sign in at Better Auth.
    pub fn validate_new(self, password: &str) -> Result<(), AuthError> {
        validate_password(password)?;
        if self == PasswordHashing::BetterAuthScrypt
            && password.encode_utf16().take(MAX_PASSWORD_CHARS + 1).count() > MAX_PASSWORD_CHARS
        {
            return Err(AuthError::WeakPassword(format!(
                "password must have at most {MAX_PASSWORD_CHARS} UTF-16 code units \
                 (Better Auth's measure; emoji count twice)"
            )));
        }
        Ok(())
    }

    /// Hashes a new password (sign-up, a reset, a change, or a rehash after
    /// sign-in) in this format. The one place that decides how a new
    /// password is stored.
    ///
    /// The password is NFKC-normalised first. The policy is not checked here
    /// (see [`validate_password`]), so that an old hash can always be
    /// replaced.
    pub fn hash(self, password: &str) -> Result<String, AuthError> {
        match self {
            PasswordHashing::Argon2id => hash_password(password),
            PasswordHashing::BetterAuthScrypt => Ok(hash_password_scrypt_better_auth(password)),
        }
    }

    /// Checks `password` against a stored hash in either format, as
    /// [`verify_password`] does, except that `needs_rehash` says whether the
    /// hash differs from what [`PasswordHashing::hash`] writes in this
    /// format. Under [`PasswordHashing::BetterAuthScrypt`] a Better Auth hash
    /// never needs rehashing (its parameters are Better Auth's fixed ones)
    /// and every argon2 hash does.
    #[tracing::instrument(level = "debug", skip_all, fields(format = self.as_str()))]
    pub fn verify(self, password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
        let check = verify_password(password, stored)?;
        Ok(match (self, check) {
            (PasswordHashing::BetterAuthScrypt, PasswordCheck::Valid { .. }) => {
                PasswordCheck::Valid {
                    needs_rehash: stored.starts_with("$argon2"),
                }
            }
            (_, check) => check,
        })
    }
}

impl std::fmt::Display for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PasswordHashing {
    type Err = String;

    /// `argon2id` or `scrypt` (Better Auth's scrypt format).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "argon2id" => Ok(PasswordHashing::Argon2id),
            "scrypt" => Ok(PasswordHashing::BetterAuthScrypt),
            other => Err(format!(
                "unknown password hash `{other}`: expected `argon2id` (the default) or `scrypt` (Better Auth's format, for a database shared with a Better Auth app)"
            )),
        }
    }
}

/// What [`verify_password`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches the stored hash.
    Valid {
        /// The stored hash is not what the format in force would write today
        /// (by default: Better Auth's scrypt, or argon2 with other
        /// parameters; see [`PasswordHashing::verify`]): store
        /// [`PasswordHashing::hash`]`(password)` in its place.
        needs_rehash: bool,
    },
    /// The password does not match.
    Invalid,
}

impl PasswordCheck {
    /// True for [`PasswordCheck::Valid`], whatever `needs_rehash` says.
    pub fn is_valid(self) -> bool {
        matches!(self, PasswordCheck::Valid { .. })
    }
}

/// Checks a new password against the length policy: between
/// [`MIN_PASSWORD_CHARS`] and [`MAX_PASSWORD_CHARS`] characters once
/// NFKC-normalised. Any character is allowed.
///
/// Call it where a password is chosen (sign-up, change, reset), not at
/// sign-in: a password that was accepted under an older policy must still
/// verify.
///
/// # Examples
///
/// ```
/// use tenantry_auth::validate_password;
///
/// assert!(validate_password("correct horse battery staple").is_ok());
/// let too_short = validate_password("short").unwrap_err();
/// assert!(too_short.to_string().contains("password"));
/// ```
pub fn validate_password(password: &str) -> Result<(), AuthError> {
    // Lazy: a huge input is not normalised further than needed to reject it.
    let chars = password.nfkc().take(MAX_PASSWORD_CHARS + 1).count();
    if chars == 0 {
        Err(AuthError::WeakPassword("password must not be empty".into()))
    } else if chars < MIN_PASSWORD_CHARS {
        Err(AuthError::WeakPassword(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters"
        )))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(AuthError::WeakPassword(format!(
            "password must have at most {MAX_PASSWORD_CHARS} characters"
        )))
    } else {
        Ok(())
    }
}

/// Whether a typed password is longer than [`validate_password`] ever
/// accepts, counted the same way (NFKC characters): the cheap refusal at
/// sign-in and confirmation must not refuse a password sign-up let through.
pub fn exceeds_max_length(password: &str) -> bool {
    password.nfkc().take(MAX_PASSWORD_CHARS + 1).count() > MAX_PASSWORD_CHARS
}

/// Hashes a password with argon2id (the argon2 crate's defaults, which are
/// OWASP's: m = 19456 KiB, t = 2, p = 1) and a random 16-byte salt, and
/// returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
///
/// The password is NFKC-normalised first. The policy is not checked here (see
/// [`validate_password`]), so that a legacy hash can always be upgraded.
///
/// # Examples
///
/// ```
/// use tenantry_auth::{PasswordCheck, hash_password, verify_password};
///
/// let stored = hash_password("correct horse battery staple").unwrap();
/// assert!(stored.starts_with("$argon2id$"));
/// assert_eq!(
///     verify_password("correct horse battery staple", &stored).unwrap(),
///     PasswordCheck::Valid { needs_rehash: false }
/// );
/// ```
#[tracing::instrument(level = "debug", skip_all)]
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    return_hash_memory_to_the_os();
    let normalized = normalize(password);
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::HashFailed(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(normalized.as_bytes(), &salt)
        .map_err(|e| AuthError::HashFailed(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks `password` against a stored hash: our argon2 PHC strings (anything
/// starting with `$argon2`) or Better Auth's scrypt `"<salt>:<key>"`.
///
/// Comparisons are constant-time. `needs_rehash` is relative to the default
/// format, argon2id (for the other, see [`PasswordHashing::verify`]): a
/// Better Auth hash that matches answers `Valid { needs_rehash: true }`; so
/// does an argon2 hash made with other parameters than [`hash_password`]
/// uses today. A stored value in any other
/// format is [`AuthError::UnsupportedHash`] (an internal error: the stored
/// data is wrong, not the password).
///
/// # Examples
///
/// ```
/// use tenantry_auth::password::hash_password_scrypt_better_auth;
/// use tenantry_auth::{PasswordCheck, verify_password};
///
/// // A hash Better Auth wrote verifies, and asks to be rewritten as argon2id.
/// let from_better_auth = hash_password_scrypt_better_auth("correct horse battery staple");
/// assert_eq!(
///     verify_password("correct horse battery staple", &from_better_auth).unwrap(),
///     PasswordCheck::Valid { needs_rehash: true }
/// );
/// assert_eq!(
///     verify_password("wrong", &from_better_auth).unwrap(),
///     PasswordCheck::Invalid
/// );
/// assert!(verify_password("x", "plain text").is_err());
/// ```
#[tracing::instrument(level = "debug", skip_all)]
pub fn verify_password(password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
    return_hash_memory_to_the_os();
    let normalized = normalize(password);
    if stored.starts_with("$argon2") {
        verify_argon2(&normalized, stored)
    } else if let Some((salt, key)) = parse_better_auth_scrypt(stored) {
        let derived = better_auth_scrypt(&normalized, salt);
        if bool::from(derived.ct_eq(&key)) {
            Ok(PasswordCheck::Valid { needs_rehash: true })
        } else {
            Ok(PasswordCheck::Invalid)
        }
    } else {
        Err(AuthError::UnsupportedHash)
    }
}

/// Hashes a password exactly as Better Auth's default `hashPassword` does:
/// `"<32 hex chars of random salt>:<128 hex chars of scrypt key>"`.
///
/// New passwords go through [`PasswordHashing::hash`], which calls this
/// under [`PasswordHashing::BetterAuthScrypt`]; tests and fixtures call it
/// directly to make users as if imported from Better Auth.
#[tracing::instrument(level = "debug", skip_all)]
pub fn hash_password_scrypt_better_auth(password: &str) -> String {
    // scrypt's work area (128 * r * N = 32 MiB) is larger than argon2's.
    return_hash_memory_to_the_os();
    let mut salt_bytes = [0u8; SCRYPT_SALT_BYTES];
    rand::rng().fill(&mut salt_bytes);
    better_auth_hash_with_salt(password, salt_bytes)
}

fn better_auth_hash_with_salt(password: &str, salt_bytes: [u8; SCRYPT_SALT_BYTES]) -> String {
    let salt = hex::encode(salt_bytes);
    let key = better_auth_scrypt(&normalize(password), &salt);
    format!("{salt}:{}", hex::encode(key))
}

/// Each argon2 hash allocates a 19 MiB work area. glibc serves large blocks
/// with mmap and unmaps them when freed, but after the first such free it
/// raises its mmap threshold above that size, and later work areas come
/// from its heaps and stay resident: a burst of sign-ups left the server at
/// ~700 MiB (the soak run, RELIABILITY.md). A fixed threshold keeps them on
/// mmap (peak ~58 MiB in the same run). Process-wide, set once, only where
/// glibc is the allocator.
fn return_hash_memory_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator tuning; 128 KiB is
            // glibc's own default threshold, now kept fixed.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        });
    }
}

fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

fn verify_argon2(password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
    let parsed = PasswordHash::new(stored).map_err(|_| AuthError::UnsupportedHash)?;
    if parsed.hash.is_none() || parsed.salt.is_none() {
        // Parses as PHC but could never match: the stored data is damaged.
        return Err(AuthError::UnsupportedHash);
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(PasswordCheck::Valid {
            needs_rehash: argon2_needs_rehash(&parsed),
        }),
        Err(argon2::password_hash::Error::Password) => Ok(PasswordCheck::Invalid),
        Err(_) => Err(AuthError::UnsupportedHash),
    }
}

/// True unless the hash is argon2id, version 0x13, with today's default costs.
fn argon2_needs_rehash(hash: &PasswordHash<'_>) -> bool {
    let ours = Params::default();
    let same_algorithm = Algorithm::try_from(hash.algorithm) == Ok(Algorithm::Argon2id);
    let same_version = hash.version == Some(Version::V0x13.into());
    let same_costs = Params::try_from(hash).is_ok_and(|p| {
        p.m_cost() == ours.m_cost() && p.t_cost() == ours.t_cost() && p.p_cost() == ours.p_cost()
    });
    !(same_algorithm && same_version && same_costs)
}

/// Splits Better Auth's `"<salt>:<key>"`: a 32-char lowercase hex salt
/// (returned as the string, which is what scrypt is fed) and a 128-char
/// lowercase hex key (returned decoded).
fn parse_better_auth_scrypt(stored: &str) -> Option<(&str, [u8; SCRYPT_KEY_BYTES])> {
    let (salt, key_hex) = stored.split_once(':')?;
    let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if salt.len() != 2 * SCRYPT_SALT_BYTES || !lower_hex(salt) {
        return None;
    }
    if key_hex.len() != 2 * SCRYPT_KEY_BYTES || !lower_hex(key_hex) {
        return None;
    }
    let mut key = [0u8; SCRYPT_KEY_BYTES];
    hex::decode_to_slice(key_hex, &mut key).ok()?;
    Some((salt, key))
}

/// scrypt as Better Auth calls it: the salt argument is the hex *string*.
fn better_auth_scrypt(normalized_password: &str, salt_hex: &str) -> [u8; SCRYPT_KEY_BYTES] {
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_BYTES)
        .expect("Better Auth's scrypt parameters are valid");
    let mut key = [0u8; SCRYPT_KEY_BYTES];
    scrypt::scrypt(
        normalized_password.as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut key,
    )
    .expect("the output length is valid for scrypt");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_measures_length_as_sign_up_does() {
        // 70 letters with a combining accent: 140 chars raw, 70 after NFKC.
        let accented = "e\u{301}".repeat(70);
        assert!(validate_password(&accented).is_ok());
        assert!(!exceeds_max_length(&accented));
        assert!(exceeds_max_length(&"a".repeat(MAX_PASSWORD_CHARS + 1)));
    }

    #[test]
    fn the_shared_mode_refuses_what_better_auth_could_not_sign_in_with() {
        // 70 emoji: 70 characters, 140 UTF-16 code units (Better Auth's `length`).
        let emoji = "\u{1F600}".repeat(70);
        assert!(PasswordHashing::Argon2id.validate_new(&emoji).is_ok());
        assert!(
            PasswordHashing::BetterAuthScrypt
                .validate_new(&emoji)
                .is_err()
        );
        assert!(
            PasswordHashing::BetterAuthScrypt
                .validate_new("correct horse battery")
                .is_ok()
        );
    }

    /// Made by Better Auth 1.7.25's own `hashPassword` (`better-auth/crypto`,
    /// i.e. `@better-auth/utils/password` 0.5.1 under Node 20).
    const BA_HORSE: &str = "cc03685a2b88c38c3e9adeb75621596e:c645f34892724e65d5995999d4142c4269e4a7364b9c48d3c549a5f227e9406cc59509d578e97713254b1ebdd1cd1a9130e56dcaa19efddf315dfef7d2e24b53";
    /// Same, for `"pa\u{301}ssword\u{FB01}"` (a combining accent and the "ﬁ"
    /// ligature, both changed by NFKC).
    const BA_UNNORMALIZED: &str = "8ffbad5e3795daa8c848df3475fb78ae:9d0aa3efe1fa09079aecb48b77bb15f0399962d66c1dc1f1840f1fd3c9c29730f92f4a043702873a0092d0f6af43061b4c4cf35e52003e631302842bbfb6adbd";

    #[test]
    fn length_policy_counts_normalised_characters() {
        assert!(matches!(
            validate_password(""),
            Err(AuthError::WeakPassword(_))
        ));
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        // "ﬁ" is one char before NFKC and two after.
        assert!(validate_password("abcdef\u{FB01}").is_ok());
        // "a" + combining acute composes to one char: 8 code points, 7 chars.
        assert!(validate_password("abcdea\u{301}").is_err());
        // Spaces, punctuation and non-Latin scripts are all fine.
        assert!(validate_password("   ").is_err());
        assert!(validate_password("пароль пароль").is_ok());
    }

    #[test]
    fn weak_password_errors_name_the_password_field() {
        let err = validate_password("short").unwrap_err();
        assert_eq!(err.field(), "password");
        assert!(err.to_string().contains("at least 8"), "{err}");
    }

    #[test]
    fn hash_password_makes_argon2id_with_owasp_costs_and_verifies() {
        let stored = hash_password("correct horse battery staple").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(
            verify_password("correct horse battery staple", &stored).unwrap(),
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            verify_password("correct horse battery stapler", &stored).unwrap(),
            PasswordCheck::Invalid
        );
        // Fresh salt each time.
        assert_ne!(
            stored,
            hash_password("correct horse battery staple").unwrap()
        );
    }

    #[test]
    fn argon2_verification_is_insensitive_to_nfkc_differences() {
        let stored = hash_password("pa\u{301}ssword\u{FB01}").unwrap();
        assert!(
            verify_password("p\u{e1}sswordfi", &stored)
                .unwrap()
                .is_valid()
        );
    }

    #[test]
    fn argon2_with_other_costs_verifies_and_needs_rehash() {
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let stored = weaker
            .hash_password(b"hunter2hunter2", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            verify_password("hunter2hunter2", &stored).unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        assert_eq!(
            verify_password("hunter3hunter3", &stored).unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn better_auth_scrypt_vectors_verify_and_need_rehash() {
        assert_eq!(
            verify_password("correct horse battery staple", BA_HORSE).unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        assert_eq!(
            verify_password("correct horse battery stapl", BA_HORSE).unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            verify_password("pa\u{301}ssword\u{FB01}", BA_UNNORMALIZED).unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        // The NFKC form of the same password is the same password.
        assert!(
            verify_password("p\u{e1}sswordfi", BA_UNNORMALIZED)
                .unwrap()
                .is_valid()
        );
        assert_eq!(
            verify_password("password", BA_UNNORMALIZED).unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn better_auth_salt_is_the_hex_string_not_its_bytes() {
        // Guards the trap: feeding scrypt the decoded salt gives another key.
        let (salt_hex, key) = parse_better_auth_scrypt(BA_HORSE).unwrap();
        assert_eq!(
            better_auth_scrypt("correct horse battery staple", salt_hex),
            key
        );
        let decoded = hex::decode(salt_hex).unwrap();
        let params = scrypt::Params::new(14, 16, 1, 64).unwrap();
        let mut other = [0u8; 64];
        scrypt::scrypt(
            b"correct horse battery staple",
            &decoded,
            &params,
            &mut other,
        )
        .unwrap();
        assert_ne!(other, key);
    }

    #[test]
    fn better_auth_format_round_trips() {
        let stored = hash_password_scrypt_better_auth("imported user password");
        let (salt, key) = stored.split_once(':').unwrap();
        assert_eq!(salt.len(), 32);
        assert_eq!(key.len(), 128);
        assert!(
            stored
                .bytes()
                .all(|b| b == b':' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(
            verify_password("imported user password", &stored).unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        assert_eq!(
            verify_password("imported user passworD", &stored).unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn unknown_or_damaged_hashes_are_unsupported() {
        let salt = "cc03685a2b88c38c3e9adeb75621596e";
        let key = BA_HORSE.split_once(':').unwrap().1;
        for stored in [
            String::new(),
            "correct horse battery staple".into(),
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy".into(),
            "$argon2id$v=19$m=19456,t=2,p=1$garbage".into(),
            "$argon2id".into(),
            format!("{salt}:{}", &key[..126]),
            format!("{}:{key}", &salt[..30]),
            format!("{}:{key}", salt.to_uppercase()),
            format!("{salt}:{key}:extra"),
            format!("{salt}{key}"),
            format!("{salt}:{}", key.replacen('c', "g", 1)),
        ] {
            assert_eq!(
                verify_password("correct horse battery staple", &stored),
                Err(AuthError::UnsupportedHash),
                "{stored:?}"
            );
        }
    }

    /// Written by Node 20's `crypto.scryptSync` with the parameters of
    /// `@better-auth/utils/password` 0.5.1 (Better Auth 1.7.25), for the
    /// salt bytes 0x00..0x0f and `"pa\u{301}ssword\u{FB01}"` normalised
    /// with `normalize("NFKC")`, as its `hashPassword` does.
    const NODE_FIXED_SALT: &str = "000102030405060708090a0b0c0d0e0f:7590981210cd55e80d09b19b4a1f76a7d00fff3768962ad2174a413e895bddd9d2e3ebc787036a7ef820cb5cdf1b1559e025d2220f3a74d4e3d9e023c8da8aba";

    #[test]
    fn the_scrypt_writer_matches_better_auths_byte_for_byte() {
        let salt: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            better_auth_hash_with_salt("pa\u{301}ssword\u{FB01}", salt),
            NODE_FIXED_SALT
        );
        // The precomposed form is the same password, so the same hash.
        assert_eq!(
            better_auth_hash_with_salt("p\u{e1}sswordfi", salt),
            NODE_FIXED_SALT
        );
    }

    #[test]
    fn scrypt_mode_writes_better_auths_format_with_a_fresh_salt() {
        let scrypt = PasswordHashing::BetterAuthScrypt;
        let stored = scrypt.hash("correct horse battery staple").unwrap();
        assert!(parse_better_auth_scrypt(&stored).is_some(), "{stored}");
        assert_ne!(stored, scrypt.hash("correct horse battery staple").unwrap());
        assert_eq!(
            scrypt
                .verify("correct horse battery staple", &stored)
                .unwrap(),
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            scrypt
                .verify("correct horse battery stapler", &stored)
                .unwrap(),
            PasswordCheck::Invalid
        );
        // The default format reads it too, and would replace it.
        assert_eq!(
            PasswordHashing::Argon2id
                .verify("correct horse battery staple", &stored)
                .unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn scrypt_mode_keeps_better_auth_hashes_and_rewrites_argon2() {
        let scrypt = PasswordHashing::BetterAuthScrypt;
        assert_eq!(
            scrypt
                .verify("correct horse battery staple", BA_HORSE)
                .unwrap(),
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        let argon = hash_password("correct horse battery staple").unwrap();
        assert_eq!(
            scrypt
                .verify("correct horse battery staple", &argon)
                .unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        assert_eq!(
            scrypt.verify("wrong horse battery staple", &argon).unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            scrypt.verify("correct horse battery staple", "$2b$10$x"),
            Err(AuthError::UnsupportedHash)
        );
    }

    #[test]
    fn argon2id_mode_is_the_default_and_what_verify_password_does() {
        let argon = PasswordHashing::default();
        assert_eq!(argon, PasswordHashing::Argon2id);
        let stored = argon.hash("correct horse battery staple").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert_eq!(
            argon
                .verify("correct horse battery staple", &stored)
                .unwrap(),
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            argon
                .verify("correct horse battery staple", BA_HORSE)
                .unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn the_setting_parses_its_two_spellings_only() {
        for format in [PasswordHashing::Argon2id, PasswordHashing::BetterAuthScrypt] {
            assert_eq!(format.as_str().parse::<PasswordHashing>(), Ok(format));
            assert_eq!(format.to_string(), format.as_str());
        }
        let err = "bcrypt".parse::<PasswordHashing>().unwrap_err();
        assert!(err.contains("argon2id") && err.contains("scrypt"), "{err}");
        assert!("Scrypt".parse::<PasswordHashing>().is_err());
        assert!("".parse::<PasswordHashing>().is_err());
    }
}
