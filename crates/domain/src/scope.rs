//! What a personal access token may do: its scopes.
//!
//! Two scopes, as GitHub's fine-grained tokens have per permission: `read`
//! (every request that only looks) and `write` (every request that changes
//! something). Writing implies reading, since every write answers with what
//! it wrote, so a token holds either [`Scopes::READ_ONLY`] or [`Scopes::ALL`].
//! Managing tokens is never a scope: only a signed-in session mints, lists
//! or revokes them (a token may revoke itself).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::InvalidInput;

/// One thing a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the organization's data.
    Read,
    /// Change it: create, update, delete, record.
    Write,
}

impl Scope {
    /// Every scope, in the order they are listed.
    pub const EVERY: [Scope; 2] = [Scope::Read, Scope::Write];

    /// The scope's name, as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// Parse a stored or submitted name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        Scope::EVERY
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                InvalidInput::new(
                    "scopes",
                    format!("unknown scope {text:?}: the scopes are \"read\" and \"write\""),
                )
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes a token holds. Shown as a JSON array of names, `["read"]` or
/// `["read","write"]`.
///
/// # Examples
///
/// ```
/// use tenantry_domain::{Scope, Scopes};
///
/// let scopes = Scopes::parse(["read"]).unwrap();
/// assert_eq!(scopes, Scopes::READ_ONLY);
/// assert!(!scopes.can_write());
/// // Writing implies reading.
/// assert_eq!(Scopes::parse(["write"]).unwrap(), Scopes::ALL);
/// assert!(Scopes::parse(["admin"]).is_err());
/// assert!(Scopes::parse::<&str>([]).is_err());
/// assert_eq!(serde_json::to_string(&Scopes::ALL).unwrap(), r#"["read","write"]"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scopes {
    write: bool,
}

impl Scopes {
    /// Read and write: what a session may do, and every token made before
    /// scopes existed.
    pub const ALL: Scopes = Scopes { write: true };
    /// Read only: PostgreSQL runs the token's tenant work in read-only transactions.
    pub const READ_ONLY: Scopes = Scopes { write: false };

    /// Scopes from their names: at least one, each known; `write` brings `read`.
    pub fn parse<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<Self, InvalidInput> {
        let mut any = false;
        let mut write = false;
        for name in names {
            any = true;
            write |= Scope::parse(name.as_ref())? == Scope::Write;
        }
        if !any {
            return Err(InvalidInput::new(
                "scopes",
                "must name at least one scope: \"read\", or \"read\" and \"write\"",
            ));
        }
        Ok(Scopes { write })
    }

    /// Whether the scope is held.
    pub fn contains(&self, scope: Scope) -> bool {
        match scope {
            Scope::Read => true,
            Scope::Write => self.write,
        }
    }

    /// Whether `write` is held.
    pub fn can_write(&self) -> bool {
        self.write
    }

    /// The scopes held, as names in [`Scope::EVERY`]'s order: what is stored
    /// in `personal_access_token.scopes`.
    pub fn names(&self) -> Vec<&'static str> {
        Scope::EVERY
            .into_iter()
            .filter(|scope| self.contains(*scope))
            .map(|scope| scope.as_str())
            .collect()
    }
}

impl Default for Scopes {
    /// [`Scopes::ALL`], today's behaviour for a token given no scopes.
    fn default() -> Self {
        Scopes::ALL
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Scopes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(<Scope as utoipa::PartialSchema>::schema())
            .min_items(Some(1))
            .unique_items(true)
            .description(Some("`[\"read\"]` or `[\"read\",\"write\"]`"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Scopes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scopes in [Scopes::ALL, Scopes::READ_ONLY] {
            assert_eq!(Scopes::parse(scopes.names()).unwrap(), scopes);
        }
        assert_eq!(Scopes::READ_ONLY.names(), ["read"]);
        assert_eq!(Scopes::ALL.to_string(), "read,write");
    }

    #[test]
    fn bad_scopes_name_the_field_and_the_fix() {
        let unknown = Scopes::parse(["read", "admin"]).unwrap_err();
        assert_eq!(unknown.field, "scopes");
        assert!(unknown.reason.contains("\"admin\""), "{}", unknown.reason);
        assert!(Scopes::parse(["READ"]).is_err(), "names are lowercase");
        assert_eq!(
            Scopes::parse(Vec::<String>::new()).unwrap_err().field,
            "scopes"
        );
    }

    #[test]
    fn read_is_always_held_and_write_only_when_granted() {
        assert!(Scopes::READ_ONLY.contains(Scope::Read));
        assert!(!Scopes::READ_ONLY.contains(Scope::Write));
        assert!(Scopes::ALL.contains(Scope::Write));
        assert_eq!(Scopes::default(), Scopes::ALL);
    }
}
