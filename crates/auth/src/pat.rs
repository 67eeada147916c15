//! Personal access tokens, in the style of GitHub's.
//!
//! A token is `tnty_` + 32 random base62 characters + 6 base62 characters of
//! checksum: 43 characters, about 190 bits of entropy. The checksum is the
//! CRC32 of the first 37 characters, as a base62 number left-padded with `'0'`
//! (digits `0-9A-Za-z`). It lets [`parse_pat`] turn away typos, truncated
//! copies and random strings before any database lookup, and lets secret
//! scanners recognise our tokens with few false positives.
//!
//! The token is shown once. The database keeps only the lookup prefix (the
//! first [`LOOKUP_PREFIX_LEN`] characters, `tnty_` + 8 random ones, also shown
//! in listings) and the SHA-256 of the whole token, compared in constant time
//! with [`hash_matches`].

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AuthError;

/// Every token starts with this.
pub const PAT_PREFIX: &str = "tnty_";

/// The length of every token, in characters (and bytes: it is ASCII).
pub const PAT_LEN: usize = 43;

/// The length of the lookup prefix: [`PAT_PREFIX`] and 8 random characters.
pub const LOOKUP_PREFIX_LEN: usize = 13;

/// Random characters after the prefix.
const RANDOM_LEN: usize = 32;
/// Checksum characters at the end.
const CHECKSUM_LEN: usize = 6;
/// Base62 digits, in value order.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const _: () = assert!(PAT_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN == PAT_LEN);

/// A newly minted token. `token` is shown to the user once and never stored;
/// `lookup_prefix` and `hash` are what the database keeps.
///
/// `Debug` redacts the token.
#[derive(Clone)]
pub struct MintedPat {
    /// The full token, e.g. `tnty_…` (43 characters). Show once, never store.
    pub token: String,
    /// The first [`LOOKUP_PREFIX_LEN`] characters: the `token_prefix` column.
    pub lookup_prefix: String,
    /// SHA-256 of the full token: the `token_hash` column.
    pub hash: [u8; 32],
}

impl fmt::Debug for MintedPat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedPat")
            .field("token", &"<redacted>")
            .field("lookup_prefix", &self.lookup_prefix)
            .finish_non_exhaustive()
    }
}

/// Mints a new token from the thread-local, OS-seeded generator.
///
/// # Examples
///
/// ```
/// use tenantry_auth::mint_pat;
///
/// let minted = mint_pat();
/// assert!(minted.token.starts_with("tnty_"));
/// // Store `lookup_prefix` and `hash`; show `token` once and forget it.
/// assert!(minted.token.starts_with(&minted.lookup_prefix));
/// assert_ne!(minted.token, mint_pat().token);
/// ```
pub fn mint_pat() -> MintedPat {
    let mut token = String::with_capacity(PAT_LEN);
    token.push_str(PAT_PREFIX);
    token.extend(
        rand::rng()
            .sample_iter(Alphanumeric)
            .take(RANDOM_LEN)
            .map(char::from),
    );
    let checksum = checksum(&token);
    token.push_str(std::str::from_utf8(&checksum).expect("base62 is ASCII"));
    MintedPat {
        lookup_prefix: token[..LOOKUP_PREFIX_LEN].to_owned(),
        hash: sha256(&token),
        token,
    }
}

/// A presented token whose format and checksum are right. Whether it exists,
/// is live, and matches its stored hash is for the caller to find out.
///
/// `Debug` redacts the token.
#[derive(Clone, Copy)]
pub struct ParsedPat<'a> {
    token: &'a str,
}

impl<'a> ParsedPat<'a> {
    /// The first [`LOOKUP_PREFIX_LEN`] characters, to find the stored row.
    pub fn lookup_prefix(&self) -> &'a str {
        &self.token[..LOOKUP_PREFIX_LEN]
    }

    /// SHA-256 of the full token, to compare with [`hash_matches`].
    pub fn hash(&self) -> [u8; 32] {
        sha256(self.token)
    }
}

impl fmt::Debug for ParsedPat<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedPat")
            .field("lookup_prefix", &self.lookup_prefix())
            .finish_non_exhaustive()
    }
}

/// Checks a presented token's prefix, length, alphabet and checksum, without
/// touching any store.
///
/// [`AuthError::MalformedToken`] when it does not look like one of our tokens
/// at all; [`AuthError::BadChecksum`] when it does but a character is wrong.
/// Leading or trailing whitespace is not trimmed: it is malformed.
///
/// # Examples
///
/// ```
/// use tenantry_auth::{AuthError, mint_pat, parse_pat, pat::hash_matches};
///
/// let minted = mint_pat();
/// let presented = parse_pat(&minted.token).unwrap();
/// assert_eq!(presented.lookup_prefix(), minted.lookup_prefix);
/// assert!(hash_matches(&presented.hash(), &minted.hash));
///
/// assert!(matches!(parse_pat("tnty_nope"), Err(AuthError::MalformedToken)));
/// // One character changed: the checksum catches it before any lookup.
/// let mut typo = minted.token.clone().into_bytes();
/// typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
/// let typo = String::from_utf8(typo).unwrap();
/// assert!(matches!(parse_pat(&typo), Err(AuthError::BadChecksum)));
/// ```
pub fn parse_pat(token: &str) -> Result<ParsedPat<'_>, AuthError> {
    if token.len() != PAT_LEN || !token.starts_with(PAT_PREFIX) {
        return Err(AuthError::MalformedToken);
    }
    let rest = &token.as_bytes()[PAT_PREFIX.len()..];
    if !rest.iter().all(u8::is_ascii_alphanumeric) {
        return Err(AuthError::MalformedToken);
    }
    let (body, presented) = token.as_bytes().split_at(PAT_LEN - CHECKSUM_LEN);
    let body = std::str::from_utf8(body).expect("checked ASCII");
    if checksum(body) != presented {
        return Err(AuthError::BadChecksum);
    }
    Ok(ParsedPat { token })
}

/// Compares a presented token's hash with a stored one in constant time.
/// False when the stored hash is not 32 bytes.
pub fn hash_matches(presented: &[u8; 32], stored: &[u8]) -> bool {
    stored.len() == presented.len() && bool::from(presented.as_slice().ct_eq(stored))
}

fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// CRC32 of `body` as 6 base62 digits, most significant first.
fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    debug_assert_eq!(n, 0, "62^6 > u32::MAX");
    digits
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn minted_tokens_parse_back() {
        let minted = mint_pat();
        assert_eq!(minted.token.len(), PAT_LEN);
        assert!(minted.token.starts_with(PAT_PREFIX));
        assert_eq!(minted.lookup_prefix.len(), LOOKUP_PREFIX_LEN);
        assert!(minted.token.starts_with(&minted.lookup_prefix));

        let parsed = parse_pat(&minted.token).unwrap();
        assert_eq!(parsed.lookup_prefix(), minted.lookup_prefix);
        assert_eq!(parsed.hash(), minted.hash);
        assert!(hash_matches(&parsed.hash(), &minted.hash));
    }

    #[test]
    fn checksum_is_crc32_in_padded_base62() {
        // Vectors computed independently with Python's zlib.crc32.
        assert_eq!(&checksum(""), b"000000"); // crc32("") == 0
        assert_eq!(crc32fast::hash(b"tnty_"), 0x4758_7f74);
        assert_eq!(&checksum("tnty_"), b"1J0PjQ");
        let fixed = format!("tnty_{}4AiFV9", "A".repeat(32)); // crc32 0xe3dbeb87
        assert_eq!(parse_pat(&fixed).unwrap().lookup_prefix(), "tnty_AAAAAAAA");
        // u32::MAX is 4:42:41:15:12:3 in base 62: six digits always suffice.
        assert_eq!(u64::from(u32::MAX) / 62u64.pow(5), 4);
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let minted = mint_pat();
        for i in PAT_PREFIX.len()..PAT_LEN {
            let mut bytes = minted.token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let flipped = String::from_utf8(bytes).unwrap();
            assert_eq!(
                parse_pat(&flipped).unwrap_err(),
                AuthError::BadChecksum,
                "position {i}"
            );
        }
    }

    #[test]
    fn wrong_shapes_are_malformed() {
        let token = mint_pat().token;
        let cases = [
            String::new(),
            "tnty_".into(),
            token.replacen("tnty_", "ghp__", 1),
            token.replacen("tnty_", "TNTY_", 1),
            token[..PAT_LEN - 1].into(),
            format!("{token}0"),
            format!(" {}", &token[1..]),
            format!("{}-{}", &token[..20], &token[21..]),
            format!("{}_{}", &token[..20], &token[21..]),
            format!("{}é{}", &token[..20], &token[22..]),
            format!("{token}\n"),
        ];
        for case in cases {
            assert_eq!(
                parse_pat(&case).unwrap_err(),
                AuthError::MalformedToken,
                "{case:?}"
            );
        }
        assert_eq!(AuthError::MalformedToken.field(), "token");
    }

    #[test]
    fn lookup_prefixes_do_not_collide() {
        let prefixes: HashSet<String> = (0..1000).map(|_| mint_pat().lookup_prefix).collect();
        assert_eq!(prefixes.len(), 1000);
    }

    #[test]
    fn debug_never_prints_the_token() {
        let minted = mint_pat();
        let secret_part = &minted.token[LOOKUP_PREFIX_LEN..];
        let debug = format!("{minted:?} {:?}", parse_pat(&minted.token).unwrap());
        assert!(!debug.contains(secret_part), "{debug}");
        assert!(debug.contains("<redacted>"));
        assert!(debug.contains(&minted.lookup_prefix));
    }

    #[test]
    fn hash_comparison_needs_same_length_and_bytes() {
        let hash = [9u8; 32];
        assert!(hash_matches(&hash, &[9u8; 32]));
        assert!(!hash_matches(&hash, &[9u8; 31]));
        assert!(!hash_matches(&hash, &[9u8; 33]));
        assert!(!hash_matches(&hash, &[]));
        let mut other = [9u8; 32];
        other[31] = 8;
        assert!(!hash_matches(&hash, &other));
    }
}
