//! Email addresses, parsed and normalised once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::AuthError;

pub use tenantry_domain::name::MAX_EMAIL_CHARS;

/// The most characters the local part (before `@`) may have (RFC 5321).
pub const MAX_LOCAL_PART_CHARS: usize = 64;

/// A syntactically plausible email address: trimmed and lowercased (as Better
/// Auth stores them), so two spellings of one address compare equal.
///
/// The checks are deliberately few (one `@`, bounded lengths, a dotted domain
/// without empty labels, no whitespace or control characters): deliverability
/// is proven by the verification email, not by a regular expression.
///
/// Serialises as a plain string; deserialising goes through [`Email::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Trims, lowercases and checks `input`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tenantry_auth::Email;
    ///
    /// assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    /// assert!(Email::parse("not an email").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Email, AuthError> {
        let email = input.trim().to_lowercase();
        let invalid = |reason: &str| Err(AuthError::InvalidEmail(reason.to_owned()));
        if email.is_empty() {
            return invalid("email must not be empty");
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return invalid("email must have at most 254 characters");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("email must not contain spaces or control characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("email must contain an @");
        };
        if domain.contains('@') {
            return invalid("email must contain exactly one @");
        }
        if local.is_empty() {
            return invalid("email must have a name before the @");
        }
        if local.chars().count() > MAX_LOCAL_PART_CHARS {
            return invalid("the part before the @ must have at most 64 characters");
        }
        if domain.is_empty() {
            return invalid("email must have a domain after the @");
        }
        if !domain.contains('.') {
            return invalid("the domain must contain a dot");
        }
        if domain.split('.').any(str::is_empty) {
            return invalid("the domain must not have empty labels");
        }
        Ok(Email(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised address, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0
            .split_once('@')
            .map(|(_, domain)| domain)
            .unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = AuthError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &str) -> String {
        match Email::parse(input) {
            Err(AuthError::InvalidEmail(reason)) => reason,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn trims_and_lowercases() {
        let email = Email::parse("  Ada.Lovelace+Tenantry@Example.CO.uk\n").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace+tenantry@example.co.uk");
        assert_eq!(email.domain(), "example.co.uk");
        assert_eq!(email.to_string(), email.as_str());
        assert_eq!(
            "ÉMILE@EXEMPLE.FR".parse::<Email>().unwrap().as_str(),
            "émile@exemple.fr"
        );
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        assert!(reason("").contains("empty"));
        assert!(reason("   ").contains("empty"));
        assert!(reason("ada.example.com").contains("@"));
        assert!(reason("ada@lovelace@example.com").contains("exactly one"));
        assert!(reason("@example.com").contains("before"));
        assert!(reason("ada@").contains("domain"));
        assert!(reason("ada@localhost").contains("dot"));
        assert!(reason("ada@example..com").contains("empty labels"));
        assert!(reason("ada@.example.com").contains("empty labels"));
        assert!(reason("ada@example.com.").contains("empty labels"));
        assert!(reason("ada lovelace@example.com").contains("spaces"));
        assert!(reason("ada@exa\tmple.com").contains("spaces"));
        assert!(reason("ada\u{0}@example.com").contains("control"));
        assert!(reason("ada@example.com\u{7f}x").contains("control"));
    }

    #[test]
    fn bounds_lengths() {
        let local = "a".repeat(MAX_LOCAL_PART_CHARS);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert!(reason(&format!("{local}a@example.com")).contains("64"));

        // 254 characters in all is fine, 255 is not.
        let domain = |len: usize| format!("{}.com", "d".repeat(len - 4));
        let fits = format!("{local}@{}", domain(MAX_EMAIL_CHARS - 65));
        assert_eq!(fits.len(), MAX_EMAIL_CHARS);
        assert!(Email::parse(&fits).is_ok());
        let long = format!("{local}@{}", domain(MAX_EMAIL_CHARS - 64));
        assert!(reason(&long).contains("254"));
    }

    #[test]
    fn errors_name_the_email_field() {
        assert_eq!(Email::parse("nope").unwrap_err().field(), "email");
    }

    #[test]
    fn serde_is_a_validated_string() {
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            r#""ada@example.com""#
        );
        let back: Email = serde_json::from_str(r#"" ADA@Example.com ""#).unwrap();
        assert_eq!(back, email);
        let err = serde_json::from_str::<Email>(r#""not an email""#).unwrap_err();
        assert!(err.to_string().contains("invalid email"), "{err}");
    }
}
