//! Opaque random tokens (sessions, verification links) and Better Auth's
//! signed cookie values.
//!
//! Better Auth signs its session cookie with better-call's `signCookieValue`:
//!
//! ```text
//! encodeURIComponent(value + "." + base64(HMAC-SHA256(key = secret, message = value)))
//! ```
//!
//! with the standard base64 alphabet (`+`, `/`) and its `=` padding, so the
//! signature is always 44 characters ending in `=`, and the whole value is
//! percent-encoded as JavaScript's `encodeURIComponent` does. Reading it back
//! (`getSignedCookie`), the value is percent-decoded when it contains `%` (and
//! kept as it is when that fails), split at its **last** `.`, the signature
//! must be 44 characters ending in `=`, and the HMAC is checked. The functions
//! here do the same, so cookies set by either side are accepted by the other.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::Sha256;

/// The length of a session token: Better Auth's `generateId(32)`, 32
/// characters of `a-zA-Z0-9` (about 190 bits).
pub const SESSION_TOKEN_LEN: usize = 32;

/// The length of a base64 HMAC-SHA256 signature with its padding.
const SIGNATURE_B64_LEN: usize = 44;

type HmacSha256 = Hmac<Sha256>;

/// `len` characters drawn uniformly from `A-Za-z0-9` by the thread-local,
/// OS-seeded generator. Use [`SESSION_TOKEN_LEN`] for session tokens.
pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The signature part of a signed cookie value: standard, padded base64 of
/// HMAC-SHA256 of `value` keyed with `secret` (better-call's `makeSignature`).
pub fn cookie_signature(value: &str, secret: &[u8]) -> String {
    STANDARD.encode(mac(secret, value).finalize().into_bytes())
}

/// Signs a cookie value as Better Auth does (better-call's `signCookieValue`):
/// `encodeURIComponent(value + "." + cookie_signature(value, secret))`. The
/// result goes into `Set-Cookie` as it is, with no further encoding.
///
/// # Examples
///
/// ```
/// use tenantry_auth::token::{SESSION_TOKEN_LEN, random_token, sign_cookie_value,
///     verify_signed_cookie_value};
///
/// let secret = b"a secret of at least 32 characters";
/// let session = random_token(SESSION_TOKEN_LEN);
/// let cookie = sign_cookie_value(&session, secret);
/// assert_eq!(verify_signed_cookie_value(&cookie, secret), Some(session));
/// assert_eq!(verify_signed_cookie_value(&cookie, b"another secret, 32 characters.."), None);
/// ```
pub fn sign_cookie_value(value: &str, secret: &[u8]) -> String {
    encode_uri_component(&format!("{value}.{}", cookie_signature(value, secret)))
}

/// Checks a signed cookie value as Better Auth does (better-call's
/// `getSignedCookie`) and returns the value that was signed, or `None` when
/// the format or the signature is wrong. The comparison is constant-time.
///
/// `signed` is the cookie's value as sent by the browser (percent-encoded);
/// an already-decoded value is accepted too, as Better Auth decodes only
/// values containing `%`.
pub fn verify_signed_cookie_value(signed: &str, secret: &[u8]) -> Option<String> {
    let decoded = if signed.contains('%') {
        decode_uri_component(signed).unwrap_or_else(|| signed.to_owned())
    } else {
        signed.to_owned()
    };
    let dot = decoded.rfind('.')?;
    if dot < 1 {
        return None;
    }
    let (value, signature) = (&decoded[..dot], &decoded[dot + 1..]);
    if signature.len() != SIGNATURE_B64_LEN || !signature.ends_with('=') {
        return None;
    }
    let signature = STANDARD.decode(signature).ok()?;
    mac(secret, value).verify_slice(&signature).ok()?;
    Some(value.to_owned())
}

fn mac(secret: &[u8], value: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(value.as_bytes());
    mac
}

/// JavaScript's `encodeURIComponent`: everything but `A-Za-z0-9-_.!~*'()`
/// becomes `%XX` (upper-case hex) per UTF-8 byte.
fn encode_uri_component(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// JavaScript's `decodeURIComponent`; `None` where it would throw (a `%` not
/// followed by two hex digits, or escapes that are not UTF-8).
fn decode_uri_component(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let mut byte = [0u8; 1];
            hex::decode_to_slice(hex, &mut byte).ok()?;
            out.push(byte[0]);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-at-least-32-characters-long";

    /// Made by better-call 1.4.5's own `signCookieValue` (as used by Better
    /// Auth 1.7.25) under Node 20, with `SECRET`.
    const SIGNED_ABC123: &str = "abc123.Lf%2FiDiCQognAPZffIKp3%2B%2F1hOeMRiVyrI6h6AgUK%2Bok%3D";
    /// Same, for the value `"a b/ü+é"`.
    const SIGNED_UNICODE: &str =
        "a%20b%2F%C3%BC%2B%C3%A9.50s2t1Xcts9OK7HLZdakFc3B2ncfUFReRUHtp2O3uaQ%3D";

    #[test]
    fn random_tokens_are_alphanumeric_and_distinct() {
        let token = random_token(SESSION_TOKEN_LEN);
        assert_eq!(token.len(), SESSION_TOKEN_LEN);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(token, random_token(SESSION_TOKEN_LEN));
        assert_eq!(random_token(0), "");
    }

    #[test]
    fn signing_matches_better_call() {
        assert_eq!(
            cookie_signature("abc123", SECRET),
            "Lf/iDiCQognAPZffIKp3+/1hOeMRiVyrI6h6AgUK+ok="
        );
        assert_eq!(sign_cookie_value("abc123", SECRET), SIGNED_ABC123);
        assert_eq!(sign_cookie_value("a b/ü+é", SECRET), SIGNED_UNICODE);
    }

    #[test]
    fn better_call_cookies_verify() {
        assert_eq!(
            verify_signed_cookie_value(SIGNED_ABC123, SECRET).as_deref(),
            Some("abc123")
        );
        assert_eq!(
            verify_signed_cookie_value(SIGNED_UNICODE, SECRET).as_deref(),
            Some("a b/ü+é")
        );
        // Already percent-decoded by the caller's cookie parser.
        assert_eq!(
            verify_signed_cookie_value(
                "abc123.Lf/iDiCQognAPZffIKp3+/1hOeMRiVyrI6h6AgUK+ok=",
                SECRET
            )
            .as_deref(),
            Some("abc123")
        );
    }

    #[test]
    fn values_with_dots_and_percents_round_trip() {
        for value in ["a.b.c", "100%", "%zz", "session.token.", "é"] {
            let signed = sign_cookie_value(value, SECRET);
            assert_eq!(
                verify_signed_cookie_value(&signed, SECRET).as_deref(),
                Some(value)
            );
        }
        let token = random_token(SESSION_TOKEN_LEN);
        let signed = sign_cookie_value(&token, SECRET);
        assert_eq!(verify_signed_cookie_value(&signed, SECRET), Some(token));
    }

    #[test]
    fn tampering_and_bad_shapes_are_rejected() {
        assert_eq!(
            verify_signed_cookie_value(SIGNED_ABC123, b"another-secret"),
            None
        );
        let tampered = SIGNED_ABC123.replacen("abc123", "abc124", 1);
        assert_eq!(verify_signed_cookie_value(&tampered, SECRET), None);
        let signature = cookie_signature("abc123", SECRET);
        for bad in [
            String::new(),
            "abc123".into(),
            format!(".{signature}"),
            format!("abc123{signature}"),
            format!("abc123.{}", &signature[..43]),
            format!("abc123.{signature}="),
            format!("abc123.{}A", &signature[..43]),
            format!("abc123.{}", signature.replace('+', "-").replace('/', "_")),
            format!("abc123.{signature}.{signature}"),
            "abc123.%%%".into(),
        ] {
            assert_eq!(verify_signed_cookie_value(&bad, SECRET), None, "{bad:?}");
        }
    }

    #[test]
    fn uri_component_coding_is_javascripts() {
        assert_eq!(
            encode_uri_component("AZaz09-_.!~*'() +/=?&é"),
            "AZaz09-_.!~*'()%20%2B%2F%3D%3F%26%C3%A9"
        );
        assert_eq!(decode_uri_component("%C3%a9%20x").as_deref(), Some("é x"));
        assert_eq!(decode_uri_component("%"), None);
        assert_eq!(decode_uri_component("%4"), None);
        assert_eq!(decode_uri_component("%zz"), None);
        assert_eq!(decode_uri_component("%C3"), None);
    }
}
