//! Member roles and what each may do (Better Auth's organization plugin roles).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// A member's role in an organization.
///
/// # Examples
///
/// ```
/// use tenantry_domain::MemberRole;
///
/// let admin = MemberRole::parse("admin").unwrap();
/// assert!(admin.can_manage_members());
/// assert!(admin.can_manage_role(MemberRole::Member));
/// assert!(!admin.can_manage_role(MemberRole::Owner)); // only owners grant ownership
/// assert!(MemberRole::parse("superuser").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    /// Full control, including deleting the organization.
    Owner,
    /// Manages members and invitations.
    Admin,
    /// Works with the organization's data.
    Member,
}

impl MemberRole {
    /// The role's name as stored in `member.role`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Admin => "admin",
            MemberRole::Member => "member",
        }
    }

    /// Parse the stored or submitted name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        match text {
            "owner" => Ok(MemberRole::Owner),
            "admin" => Ok(MemberRole::Admin),
            "member" => Ok(MemberRole::Member),
            _ => Err(InvalidInput::new("role", "must be owner, admin or member")),
        }
    }

    /// Owners and admins manage members and invitations.
    pub fn can_manage_members(&self) -> bool {
        matches!(self, MemberRole::Owner | MemberRole::Admin)
    }

    /// Whether this role may invite someone as `subject`, or change or remove
    /// a member who holds it: owners and admins manage members, and only an
    /// owner grants, changes or removes ownership. A pending invitation
    /// stands only while its inviter still holds a role for which this is
    /// true.
    pub fn can_manage_role(&self, subject: MemberRole) -> bool {
        self.can_manage_members() && (subject != MemberRole::Owner || *self == MemberRole::Owner)
    }

    /// Owners and admins read the audit log. Its entries name invitees,
    /// invitation ids and role changes, which the rest of the API shows
    /// only to those who manage members; so a plain member reads none.
    pub fn can_read_audit_log(&self) -> bool {
        self.can_manage_members()
    }
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown_names() {
        for role in [MemberRole::Owner, MemberRole::Admin, MemberRole::Member] {
            assert_eq!(MemberRole::parse(role.as_str()).unwrap(), role);
        }
        assert!(MemberRole::parse("superuser").is_err());
        assert!(MemberRole::parse("Owner").is_err());
        assert!(MemberRole::Admin.can_manage_members());
        assert!(!MemberRole::Member.can_manage_members());
        assert!(MemberRole::Owner.can_read_audit_log());
        assert!(MemberRole::Admin.can_read_audit_log());
        assert!(!MemberRole::Member.can_read_audit_log());
    }

    #[test]
    fn only_owners_manage_ownership_and_plain_members_manage_nothing() {
        use MemberRole::*;
        for subject in [Owner, Admin, Member] {
            assert!(Owner.can_manage_role(subject));
            assert_eq!(Admin.can_manage_role(subject), subject != Owner);
            assert!(!Member.can_manage_role(subject));
        }
    }
}
