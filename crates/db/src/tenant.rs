//! The typed tenant (DESIGN.md invariant 5).
//!
//! A [`Tenant`] is the only thing [`crate::with_tenant_context`] accepts. Request
//! code gets one from a [`Membership`], which only
//! [`crate::find_membership`] and [`crate::resolve_tenant`] produce, after
//! checking that the user belongs to the organization. It is `Copy + Send +
//! Sync`, so it travels into spawned tasks without re-resolving.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DbError;
use crate::ids::{OrganizationId, UserId};

/// The organization a transaction acts for, and the user acting (for audit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tenant {
    organization_id: OrganizationId,
    user_id: Option<UserId>,
}

impl Tenant {
    /// A tenant for work that established the organization by other means than
    /// a membership check: seeds, background jobs, tests, a freshly created
    /// organization's first write. Request handlers get their tenant from a
    /// [`Membership`] instead; the long name is meant to stand out in review.
    pub fn without_membership_check(organization_id: OrganizationId) -> Self {
        Tenant {
            organization_id,
            user_id: None,
        }
    }

    /// The same tenant with the acting user recorded (exposed to SQL as
    /// `app.current_user_id()`, used by audit defaults).
    pub fn acting_as(self, user_id: UserId) -> Self {
        Tenant {
            user_id: Some(user_id),
            ..self
        }
    }

    /// The organization.
    pub fn organization_id(&self) -> OrganizationId {
        self.organization_id
    }

    /// The acting user, when known.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }
}

/// A member's role in an organization (Better Auth's organization plugin roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    pub fn parse(text: &str) -> Result<Self, DbError> {
        match text {
            "owner" => Ok(MemberRole::Owner),
            "admin" => Ok(MemberRole::Admin),
            "member" => Ok(MemberRole::Member),
            _ => Err(DbError::invalid("role", "must be owner, admin or member")),
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
    /// true (see [`crate::members::accept_invitation`]).
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

/// Proof that a user belongs to an organization, with their role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    organization_id: OrganizationId,
    user_id: UserId,
    role: MemberRole,
}

impl Membership {
    pub(crate) fn new(organization_id: OrganizationId, user_id: UserId, role: MemberRole) -> Self {
        Membership {
            organization_id,
            user_id,
            role,
        }
    }

    /// The tenant to run this member's work in, with the user recorded as actor.
    pub fn tenant(&self) -> Tenant {
        Tenant::without_membership_check(self.organization_id).acting_as(self.user_id)
    }

    /// The organization.
    pub fn organization_id(&self) -> OrganizationId {
        self.organization_id
    }

    /// The member.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The member's role.
    pub fn role(&self) -> MemberRole {
        self.role
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

    #[test]
    fn tenants_are_send_sync_copy() {
        fn assert_traits<T: Send + Sync + Copy + 'static>() {}
        assert_traits::<Tenant>();
    }
}
