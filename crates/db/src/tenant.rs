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
    read_only: bool,
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
            read_only: false,
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

    /// The same tenant, allowed only to read: its transactions run `READ
    /// ONLY`, so PostgreSQL refuses every write in them (SQLSTATE 25006,
    /// [`DbError::ReadOnly`](crate::DbError::ReadOnly)), whichever statement
    /// attempts it. A read-only personal access token's work runs so. There
    /// is no way back: a tenant only ever loses the right to write.
    pub fn read_only(self) -> Self {
        Tenant {
            read_only: true,
            ..self
        }
    }

    /// Whether [`Tenant::read_only`] applies.
    pub fn is_read_only(&self) -> bool {
        self.read_only
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
    read_only: bool,
}

impl Membership {
    pub(crate) fn new(organization_id: OrganizationId, user_id: UserId, role: MemberRole) -> Self {
        Membership {
            organization_id,
            user_id,
            role,
            read_only: false,
        }
    }

    /// The same membership, whose [`Membership::tenant`] only reads
    /// ([`Tenant::read_only`]): how a read-only token acts. Only narrows, so
    /// anyone may call it.
    pub fn read_only(self) -> Self {
        Membership {
            read_only: true,
            ..self
        }
    }

    /// Whether the member's work runs read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The tenant to run this member's work in, with the user recorded as
    /// actor, read-only when the membership is.
    pub fn tenant(&self) -> Tenant {
        let tenant = Tenant::without_membership_check(self.organization_id).acting_as(self.user_id);
        if self.read_only {
            tenant.read_only()
        } else {
            tenant
        }
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
