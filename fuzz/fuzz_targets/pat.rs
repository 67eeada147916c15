//! Personal access tokens: `tenantry_auth::pat::parse_pat` and its checksum.
//!
//! Properties, checked against an independent bit-by-bit CRC-32 (not the
//! crc32fast the crate uses):
//!
//! 1. Any text: `parse_pat` never panics, and it accepts exactly the
//!    documented format (`tnty_`, 32 + 6 ASCII letters or digits, the last 6
//!    being the base62 CRC-32 of the first 37). What it accepts is the input
//!    whole: the lookup prefix is its first 13 characters and the hash is the
//!    SHA-256 of all of it (it re-serialises identically). `MalformedToken`
//!    means the shape is wrong, `BadChecksum` that only the checksum is.
//!    `Debug` never shows the secret part.
//! 2. A token built from the input with the right checksum parses; any single
//!    character changed, any two neighbours swapped, any character dropped or
//!    added, and it does not (CRC-32 catches every burst of up to 32 bits).
//! 3. `hash_matches` is byte equality of 32-byte hashes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tenantry_auth::AuthError;
use tenantry_auth::pat::{LOOKUP_PREFIX_LEN, PAT_LEN, PAT_PREFIX, hash_matches, parse_pat};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN: usize = PAT_LEN - 6;

/// CRC-32 (IEEE 802.3, reflected, as zlib), one bit at a time.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The oracle's checksum: CRC-32 as 6 base62 digits, most significant first.
fn checksum(body: &[u8]) -> [u8; 6] {
    let mut n = crc32(body);
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits
}

fn well_formed(text: &str) -> bool {
    text.len() == PAT_LEN
        && text.starts_with(PAT_PREFIX)
        && text.as_bytes()[PAT_PREFIX.len()..]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

fn check_any_text(text: &str) {
    match parse_pat(text) {
        Ok(parsed) => {
            assert!(well_formed(text), "accepted a malformed token {text:?}");
            assert_eq!(
                checksum(&text.as_bytes()[..BODY_LEN]),
                text.as_bytes()[BODY_LEN..],
                "accepted a wrong checksum {text:?}"
            );
            assert_eq!(parsed.lookup_prefix(), &text[..LOOKUP_PREFIX_LEN]);
            let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            assert_eq!(parsed.hash(), hash, "the parsed token is not the input");
            let debug = format!("{parsed:?}");
            assert!(!debug.contains(&text[LOOKUP_PREFIX_LEN..]), "{debug}");
        }
        Err(AuthError::MalformedToken) => {
            assert!(!well_formed(text), "well-formed {text:?} called malformed");
        }
        Err(AuthError::BadChecksum) => {
            assert!(
                well_formed(text),
                "malformed {text:?} called a bad checksum"
            );
            assert_ne!(
                checksum(&text.as_bytes()[..BODY_LEN]),
                text.as_bytes()[BODY_LEN..],
                "refused a right checksum {text:?}"
            );
        }
        Err(other) => panic!("parse_pat({text:?}) failed with {other:?}"),
    }
}

fn refused(text: &str, what: &str) {
    assert!(parse_pat(text).is_err(), "{what} still parses: {text:?}");
    check_any_text(text);
}

fn check_built_token(data: &[u8]) {
    let mut token = String::from(PAT_PREFIX);
    token.extend(
        data[..32]
            .iter()
            .map(|b| char::from(BASE62[usize::from(*b) % 62])),
    );
    let sum = checksum(token.as_bytes());
    token.push_str(std::str::from_utf8(&sum).unwrap());
    let parsed = parse_pat(&token).expect("a token with the right checksum parses");
    assert_eq!(parsed.lookup_prefix(), &token[..LOOKUP_PREFIX_LEN]);

    let position = usize::from(data[32]) % PAT_LEN;
    let replacement = char::from(data[33]);
    if token.as_bytes()[position] != data[33] {
        let mut changed = token.clone();
        changed.replace_range(position..=position, replacement.encode_utf8(&mut [0; 4]));
        let expected = if position < PAT_PREFIX.len() || !replacement.is_ascii_alphanumeric() {
            AuthError::MalformedToken
        } else {
            AuthError::BadChecksum
        };
        assert_eq!(parse_pat(&changed).err(), Some(expected), "{changed:?}");
    }
    let swap = PAT_PREFIX.len() + usize::from(data[34]) % (PAT_LEN - PAT_PREFIX.len() - 1);
    let bytes = token.as_bytes();
    if bytes[swap] != bytes[swap + 1] {
        let mut swapped = bytes.to_vec();
        swapped.swap(swap, swap + 1);
        let swapped = String::from_utf8(swapped).unwrap();
        assert_eq!(
            parse_pat(&swapped).err(),
            Some(AuthError::BadChecksum),
            "{swapped:?}"
        );
    }
    let mut shorter = token.clone();
    shorter.remove(position);
    refused(&shorter, "a token less a character");
    let mut longer = token.clone();
    longer.insert(position, 'a');
    refused(&longer, "a token with a character more");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_any_text(text);
        let hash: [u8; 32] = Sha256::digest(data).into();
        assert!(hash_matches(&hash, &hash));
    }
    if data.len() >= 35 {
        check_built_token(data);
    }
    if data.len() >= 32 {
        let presented: [u8; 32] = data[..32].try_into().unwrap();
        let stored = &data[32..];
        assert_eq!(hash_matches(&presented, stored), stored == presented);
    }
});
