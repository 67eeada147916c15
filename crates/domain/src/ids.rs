//! Typed identifiers, parsed at the edge.
//!
//! Each is a UUID that knows what it names, so a project id cannot be passed
//! where a member id is expected, and each parse failure names its field.

use std::fmt;
use std::str::FromStr;

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::InvalidInput;

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
            /// The field name parse errors carry.
            pub const FIELD: &'static str = $field;

            /// Parse from text; anything but a UUID is an error naming the field.
            pub fn parse(text: &str) -> Result<Self, InvalidInput> {
                Uuid::try_parse(text.trim())
                    .map($name)
                    .map_err(|_| InvalidInput::new($field, "must be a UUID"))
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
            type Err = InvalidInput;
            fn from_str(text: &str) -> Result<Self, InvalidInput> {
                Self::parse(text)
            }
        }
    };
}

uuid_id!(
    /// An organization, i.e. a tenant.
    OrganizationId,
    "organizationId"
);
uuid_id!(
    /// A user.
    UserId,
    "userId"
);
uuid_id!(
    /// A project (a tenant resource).
    ProjectId,
    "projectId"
);
uuid_id!(
    /// A membership row: one user in one organization.
    MemberId,
    "memberId"
);
uuid_id!(
    /// An invitation to an organization.
    InvitationId,
    "invitationId"
);
uuid_id!(
    /// A personal access token (its row, never its secret).
    PatId,
    "tokenId"
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
            assert_eq!(err.field, "organizationId", "{bad}");
        }
        assert!(UserId::parse(" 0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a11 ").is_ok());
    }

    #[test]
    fn each_id_names_its_own_field() {
        assert_eq!(ProjectId::parse("x").unwrap_err().field, "projectId");
        assert_eq!(MemberId::parse("x").unwrap_err().field, "memberId");
        assert_eq!(InvitationId::parse("x").unwrap_err().field, "invitationId");
        assert_eq!(PatId::parse("x").unwrap_err().field, "tokenId");
    }
}
