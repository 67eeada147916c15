//! The typed tenant (docs/architecture.md invariant 5).
//!
//! A [`Tenant`] is the only thing [`crate::with_tenant_context`] accepts. Request
//! code gets one from a [`Membership`], which only
//! [`crate::organizations::find_membership`] and
//! [`crate::organizations::resolve_tenant`] produce, after checking that the
//! user belongs to the organization. It is `Copy + Send + Sync`, so it
//! travels into spawned tasks without re-resolving.

pub use tenantry_domain::MemberRole;

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
    fn tenants_are_send_sync_copy() {
        fn assert_traits<T: Send + Sync + Copy + 'static>() {}
        assert_traits::<Tenant>();
    }
}
