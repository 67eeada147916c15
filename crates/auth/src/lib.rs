//! # tenantry-auth: credentials
//!
//! This crate owns everything about credentials. Most of it is pure logic,
//! decided without a database or a network:
//!
//! - [`password`]: the password policy, hashing in the configured format
//!   ([`PasswordHashing`]: argon2id, or Better Auth's scrypt for a database
//!   shared with a Better Auth app), and verification of both, flagging a
//!   hash in the other format for rewriting;
//! - [`email`]: the [`Email`] newtype, parsed and normalised once;
//! - [`pat`]: personal access tokens in the style of GitHub's (`tnty_` prefix,
//!   CRC32 checksum, SHA-256 at rest, constant-time comparison);
//! - [`token`]: opaque random tokens (sessions, verification links) and Better
//!   Auth's HMAC-signed cookie values.
//!
//! Nothing here does I/O or knows about HTTP, MCP or the database: checking
//! a presented token against the stored one is `tenantry-app`'s, with these
//! functions. Every failure is an [`AuthError`] that names the input field
//! it concerns, so the HTTP and MCP layers can answer with a clear 4xx.
//!
//! ```
//! use tenantry_auth::{Email, PasswordCheck, hash_password, mint_pat, parse_pat,
//!     pat::hash_matches, validate_password, verify_password};
//!
//! # fn main() -> Result<(), tenantry_auth::AuthError> {
//! let email = Email::parse("  Ada@Example.COM ")?;
//! assert_eq!(email.as_str(), "ada@example.com");
//!
//! validate_password("correct horse battery staple")?;
//! let stored = hash_password("correct horse battery staple")?;
//! assert!(matches!(
//!     verify_password("correct horse battery staple", &stored)?,
//!     PasswordCheck::Valid { needs_rehash: false }
//! ));
//!
//! // A PAT is shown once; only its lookup prefix and hash are stored.
//! let minted = mint_pat();
//! let presented = parse_pat(&minted.token)?; // cheap: format and checksum only
//! assert_eq!(presented.lookup_prefix(), minted.lookup_prefix);
//! assert!(hash_matches(&presented.hash(), &minted.hash));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod email;
mod error;
pub mod password;
pub mod pat;
pub mod token;

pub use email::Email;
pub use error::AuthError;
pub use password::{
    PasswordCheck, PasswordHashing, hash_password, validate_password, verify_password,
};
pub use pat::{MintedPat, ParsedPat, mint_pat, parse_pat};
pub use token::{random_token, sign_cookie_value, verify_signed_cookie_value};

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
