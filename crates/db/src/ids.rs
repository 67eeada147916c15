//! Typed identifiers, parsed at the edge (DESIGN.md invariant 8).

use std::fmt;
use std::str::FromStr;

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DbError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSql, FromSql,
        )]
        #[serde(transparent)]
        #[postgres(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Parse from text; anything but a UUID is an invalid-input error naming the field.
            pub fn parse(text: &str) -> Result<Self, DbError> {
                Uuid::try_parse(text.trim())
                    .map($name)
                    .map_err(|_| DbError::invalid($field, "must be a UUID"))
            }

            /// Wrap an already-typed UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DbError;
            fn from_str(text: &str) -> Result<Self, DbError> {
                Self::parse(text)
            }
        }
    };
}

uuid_id!(
    /// The id of an organization, i.e. of a tenant.
    OrganizationId,
    "organizationId"
);
uuid_id!(
    /// The id of a user.
    UserId,
    "userId"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uuids_and_rejects_everything_else() {
        let id = OrganizationId::parse("0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a11").unwrap();
        assert_eq!(id.to_string(), "0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a11");
        for bad in [
            "",
            "1",
            "not-a-uuid",
            "0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a1",
            "'; drop table x; --",
        ] {
            let err = OrganizationId::parse(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    DbError::InvalidInput {
                        field: "organizationId",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        assert!(UserId::parse(" 0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a11 ").is_ok());
    }
}
