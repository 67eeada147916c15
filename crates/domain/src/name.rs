//! Bounded names: the one rule for every human-given name.

use std::fmt;

use serde::Serialize;

use crate::error::InvalidInput;

/// Longest project name.
pub const MAX_PROJECT_NAME_CHARS: usize = 200;
/// Longest organization name.
pub const MAX_ORGANIZATION_NAME_CHARS: usize = 200;
/// Longest user display name.
pub const MAX_USER_NAME_CHARS: usize = 200;
/// Longest personal access token name.
pub const MAX_PAT_NAME_CHARS: usize = 100;
/// The most characters an email address may have (RFC 5321's path limit less
/// the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A name a person gave something: trimmed, 1 to a bound of characters, no
/// control characters. What is stored is the trimmed text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedName(String);

impl BoundedName {
    /// Check `text` as the value of `field`, at most `max_chars` characters
    /// once trimmed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tenantry_domain::BoundedName;
    ///
    /// let name = BoundedName::parse("name", "  Ticket triage ", 200).unwrap();
    /// assert_eq!(name.as_str(), "Ticket triage");
    /// // The error names the field, for a 400 that says what to fix.
    /// let empty = BoundedName::parse("subject", "   ", 200).unwrap_err();
    /// assert!(empty.to_string().contains("subject"));
    /// assert!(BoundedName::parse("name", "tab\there", 200).is_err());
    /// ```
    pub fn parse(field: &'static str, text: &str, max_chars: usize) -> Result<Self, InvalidInput> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > max_chars {
            return Err(InvalidInput::new(
                field,
                format!("must be 1 to {max_chars} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(BoundedName(name.to_owned()))
    }

    /// The checked, trimmed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The checked text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for BoundedName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BoundedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(BoundedName::parse("name", "  a ", 3).unwrap().as_str(), "a");
        assert_eq!(
            BoundedName::parse("name", "abc", 3).unwrap().as_str(),
            "abc"
        );
        for bad in ["", "   ", "abcd", "a\u{7}b", "a\nb"] {
            let err = BoundedName::parse("name", bad, 3).unwrap_err();
            assert_eq!(err.field, "name", "{bad:?}");
        }
    }

    #[test]
    fn the_bound_counts_characters_not_bytes() {
        assert!(BoundedName::parse("name", "ééé", 3).is_ok());
        assert!(BoundedName::parse("name", "éééé", 3).is_err());
    }
}
