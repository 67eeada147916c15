//! Passwords: the length policy, argon2id hashing, and verification of both our
//! argon2id hashes and Better Auth's scrypt hashes.
//!
//! Every password is normalised with Unicode NFKC before it is measured,
//! hashed or verified, as Better Auth does (`password.normalize("NFKC")`), so
//! the same password typed on different keyboards or pasted from different
//! places (`"ﬁ"` vs `"fi"`, a precomposed `"á"` vs `"a"` + combining accent)
//! is the same password.
//!
//! ## Users imported from Better Auth
//!
//! Better Auth (through `@better-auth/utils/password`) stores
//! `"<salt>:<key>"`: `salt` is 16 random bytes written as 32 lowercase hex
//! characters, and `key` is scrypt (N = 16384, r = 16, p = 1, 64 bytes) written
//! as 128 lowercase hex characters. The scrypt salt input is the **hex string
//! itself** (its 32 ASCII bytes), not the 16 bytes it encodes.
//! [`verify_password`] accepts that format and answers
//! `Valid { needs_rehash: true }`, so the caller replaces the stored hash with
//! [`hash_password`]'s argon2id on the next successful sign-in.

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

/// What [`verify_password`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches the stored hash.
    Valid {
        /// The stored hash is not what [`hash_password`] would make today
        /// (Better Auth's scrypt, or argon2 with other parameters): store
        /// `hash_password(password)` in its place.
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

/// Hashes a password with argon2id (the argon2 crate's defaults, which are
/// OWASP's: m = 19456 KiB, t = 2, p = 1) and a random 16-byte salt, and
/// returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
///
/// The password is NFKC-normalised first. The policy is not checked here (see
/// [`validate_password`]), so that a legacy hash can always be upgraded.
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
/// Comparisons are constant-time. A Better Auth hash that matches answers
/// `Valid { needs_rehash: true }`; so does an argon2 hash made with other
/// parameters than [`hash_password`] uses today. A stored value in any other
/// format is [`AuthError::UnsupportedHash`] (an internal error: the stored
/// data is wrong, not the password).
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
/// For tests and fixtures that create users as if imported from Better Auth;
/// new passwords are hashed with [`hash_password`].
#[tracing::instrument(level = "debug", skip_all)]
pub fn hash_password_scrypt_better_auth(password: &str) -> String {
    let mut salt_bytes = [0u8; SCRYPT_SALT_BYTES];
    rand::rng().fill(&mut salt_bytes);
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
}
