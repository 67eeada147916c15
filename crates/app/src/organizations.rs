//! Organizations (Better Auth's organization plugin): create, list, set
//! active, read in full, invite, accept, remove or leave, change roles.
//!
//! Permissions follow the plugin's defaults: owners and admins invite,
//! remove members and change roles; only an owner grants, changes or removes
//! ownership; the last owner can neither leave nor be demoted (that rule
//! guards the rows, so it lives with them in `tenantry_db::organizations`).

use std::collections::BTreeMap;

use serde::Serialize;
use tenantry_auth::Email;
use tenantry_db::organizations::{
    self, Invitation, InvitePolicy, Member, Organization, OrganizationChanges, UserOrganization,
};
pub use tenantry_db::organizations::{
    AccountDeletion, InvitationView, MemberFilter, MemberFilterField, MemberPage, MemberSort,
    MembersQuery, UserInvitation,
};
use tenantry_db::{Membership, with_tenant_context};
use tenantry_domain::{BoundedName, InvitationId, MemberId, MemberRole, OrganizationId, name};

use crate::sessions::require_session;
use crate::{Actor, App, AppError, Scope};

/// Largest accepted organization metadata, as JSON text.
pub const MAX_METADATA_BYTES: usize = 8192;

/// An organization with its members and, for those who manage members, its invitations.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FullOrganization {
    /// The organization.
    #[serde(flatten)]
    pub organization: Organization,
    /// Its members, oldest first.
    pub members: Vec<Member>,
    /// Its invitations, newest first; empty for a plain member.
    pub invitations: Vec<Invitation>,
}

/// A new organization.
#[derive(Clone, Debug)]
pub struct NewOrganization<'a> {
    /// Display name (checked here).
    pub name: &'a str,
    /// Unique slug.
    pub slug: &'a str,
    /// Logo URL.
    pub logo: Option<&'a str>,
    /// Stored as a JSON string, as Better Auth does.
    pub metadata: Option<serde_json::Value>,
    /// Keep the session's active organization instead of switching to the new one.
    pub keep_current_active: bool,
}

/// Which organization a session should act in.
#[derive(Clone, Debug)]
pub enum ActiveChoice<'a> {
    /// None.
    Clear,
    /// By id, as given (parsed once the caller is known to have a session).
    Id(&'a str),
    /// By slug.
    Slug(&'a str),
}

/// Whom a removal is about.
#[derive(Clone, Debug)]
pub enum MemberRef {
    /// A membership id.
    Id(MemberId),
    /// The member's email.
    Email(Email),
}

impl MemberRef {
    /// A membership id, or else an email.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match MemberId::parse(text) {
            Ok(id) => Ok(MemberRef::Id(id)),
            Err(_) => Ok(MemberRef::Email(Email::parse(text.trim())?)),
        }
    }
}

/// The invitations `role` may see: invitations that grant ownership are
/// shown to owners only (the plugin's `withoutCreatorRoleInvitations`).
fn visible_invitations(role: MemberRole, invitations: Vec<Invitation>) -> Vec<Invitation> {
    invitations
        .into_iter()
        .filter(|i| role == MemberRole::Owner || i.role != MemberRole::Owner)
        .collect()
}

/// Owners and admins manage members; touching an owner takes an owner
/// ([`MemberRole::can_manage_role`]).
pub fn require_manager(membership: &Membership, subject: MemberRole) -> Result<(), AppError> {
    if membership.role().can_manage_role(subject) {
        Ok(())
    } else if membership.role().can_manage_members() {
        Err(AppError::forbidden(
            "only owners grant, change or remove ownership",
        ))
    } else {
        Err(AppError::forbidden("only owners and admins manage members"))
    }
}

/// Organization metadata as the JSON text Better Auth stores, at most
/// [`MAX_METADATA_BYTES`].
fn metadata_text(metadata: Option<serde_json::Value>) -> Result<Option<String>, AppError> {
    let metadata = metadata.map(|m| m.to_string());
    if metadata
        .as_ref()
        .is_some_and(|m| m.len() > MAX_METADATA_BYTES)
    {
        return Err(AppError::invalid("metadata", "must be at most 8 KiB"));
    }
    Ok(metadata)
}

/// What an organization update asks to change; absent fields stay.
#[derive(Clone, Debug, Default)]
pub struct OrganizationUpdate<'a> {
    /// New display name.
    pub name: Option<&'a str>,
    /// New slug.
    pub slug: Option<&'a str>,
    /// New logo; `Some(None)` clears it.
    pub logo: Option<Option<&'a str>>,
    /// New metadata (a JSON object).
    pub metadata: Option<serde_json::Value>,
}

/// The actions each role may take on each resource: the organization
/// plugin's default access control (`defaultStatements` and the `owner`,
/// `admin` and `member` roles), which its `has-permission` answers from.
pub fn role_permits(role: MemberRole, resource: &str, action: &str) -> bool {
    const TEAM: &[&str] = &["create", "update", "delete"];
    const AC: &[&str] = &["create", "read", "update", "delete"];
    let allowed: &[&str] = match (role, resource) {
        (MemberRole::Owner, "organization") => &["update", "delete"],
        (MemberRole::Admin, "organization") => &["update"],
        (MemberRole::Owner | MemberRole::Admin, "member") => &["create", "update", "delete"],
        (MemberRole::Owner | MemberRole::Admin, "invitation") => &["create", "cancel"],
        (MemberRole::Owner | MemberRole::Admin, "team") => TEAM,
        (MemberRole::Owner | MemberRole::Admin, "ac") => AC,
        (MemberRole::Member, "ac") => &["read"],
        _ => &[],
    };
    allowed.contains(&action)
}

/// Whether `role` holds every action asked for, as the plugin's
/// `authorize` decides it: nothing asked for, or a resource with no
/// actions, is no permission.
pub fn role_has_permissions(role: MemberRole, permissions: &BTreeMap<String, Vec<String>>) -> bool {
    !permissions.is_empty()
        && permissions.iter().all(|(resource, actions)| {
            !actions.is_empty()
                && actions
                    .iter()
                    .all(|action| role_permits(role, resource, action))
        })
}

/// The organization plugin's refusal codes for a role without a permission.
fn refuse_unless(allowed: bool, code: &'static str, message: &'static str) -> Result<(), AppError> {
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden { code, message })
    }
}

impl App {
    /// Create an organization with `actor` as its owner; unless asked
    /// otherwise, it becomes the session's active organization.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        new: NewOrganization<'_>,
    ) -> Result<FullOrganization, AppError> {
        actor.require_account(Scope::Write)?;
        let name = BoundedName::parse("name", new.name, name::MAX_ORGANIZATION_NAME_CHARS)?;
        let metadata = metadata_text(new.metadata)?;
        let organization = organizations::create_organization_within(
            &self.db,
            actor.user().id,
            &name,
            new.slug,
            new.logo,
            metadata.as_deref(),
            self.settings.organization_limit,
        )
        .await?;
        if let Some(session) = actor.session()
            && !new.keep_current_active
        {
            tenantry_db::users::set_active_organization(
                &self.db,
                session.id,
                Some(organization.id),
            )
            .await?;
        }
        let actor = self
            .resolve(actor.unscoped(), Some(organization.id))
            .await?;
        self.full_organization(&actor).await
    }

    /// The organizations `actor` belongs to, with their role in each; to a
    /// token bound to one, that one alone (none once the user has left it).
    pub async fn list_organizations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<UserOrganization>, AppError> {
        let mut listed = organizations::list_user_organizations(&self.db, actor.user().id).await?;
        if let Some(bound) = actor.bound_organization() {
            listed.retain(|organization| organization.id == bound);
        }
        Ok(listed)
    }

    /// Choose the organization this session acts in; only a session has one.
    pub async fn set_active_organization(
        &self,
        actor: &Actor,
        choice: ActiveChoice<'_>,
    ) -> Result<Option<FullOrganization>, AppError> {
        let session = actor
            .session()
            .ok_or(AppError::forbidden(
                "only a session has an active organization",
            ))?
            .id;
        let requested = match choice {
            ActiveChoice::Id(id) => OrganizationId::parse(id)?,
            ActiveChoice::Slug(slug) => {
                organizations::find_organization_by_slug(&self.db, slug)
                    .await?
                    .ok_or(AppError::NotFound("organization"))?
                    .id
            }
            ActiveChoice::Clear => {
                tenantry_db::users::set_active_organization(&self.db, session, None).await?;
                return Ok(None);
            }
        };
        let actor = self.resolve(actor.unscoped(), Some(requested)).await?;
        tenantry_db::users::set_active_organization(&self.db, session, Some(requested)).await?;
        Ok(Some(self.full_organization(&actor).await?))
    }

    /// The organization with its members, and its invitations for those who
    /// manage members (as [`App::list_invitations`] shows them).
    pub async fn full_organization(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<FullOrganization, AppError> {
        let role = actor.role();
        let show_invitations = role.can_manage_members();
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let organization = organizations::current_organization(tx).await?;
            let members = organizations::list_members(tx).await?;
            let invitations = if show_invitations {
                visible_invitations(role, organizations::list_invitations(tx).await?)
            } else {
                Vec::new()
            };
            Ok::<_, tenantry_db::DbError>(FullOrganization {
                organization,
                members,
                invitations,
            })
        })
        .await?)
    }

    /// The organization's own row.
    pub async fn current_organization(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<Organization, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::current_organization(tx).await
        })
        .await?)
    }

    /// The organization's members.
    pub async fn list_members(&self, actor: &Actor<Membership>) -> Result<Vec<Member>, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::list_members(tx).await
        })
        .await?)
    }

    /// Invite `email` as `role` (owners and admins; owners for ownership).
    pub async fn invite_member(
        &self,
        actor: &Actor<Membership>,
        email: &Email,
        role: MemberRole,
    ) -> Result<Invitation, AppError> {
        actor.require(Scope::Write)?;
        require_manager(actor.membership(), role)?;
        let inviter = actor.user().id;
        let policy = InvitePolicy {
            invitation_limit: self.settings.invitation_limit,
            cancel_pending_on_reinvite: self.settings.cancel_pending_invitations_on_reinvite,
        };
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::invite_member_with(tx, email.as_str(), role, inviter, policy).await
        })
        .await?)
    }

    /// Accept an invitation addressed to `actor`'s email (see
    /// `tenantry_db::organizations::accept_invitation`); a session then acts in
    /// the organization joined.
    pub async fn accept_invitation(
        &self,
        actor: &Actor,
        invitation: InvitationId,
    ) -> Result<(Invitation, Member), AppError> {
        actor.require_account(Scope::Write)?;
        let (invitation, member) = organizations::accept_invitation_within(
            &self.db,
            actor.user(),
            invitation,
            self.settings.require_email_verification_on_invitation,
            Some(self.settings.membership_limit),
        )
        .await?;
        if let Some(session) = actor.session() {
            tenantry_db::users::set_active_organization(
                &self.db,
                session.id,
                Some(invitation.organization_id),
            )
            .await?;
        }
        Ok((invitation, member))
    }

    /// Remove a member (owners and admins), or leave (anyone, for
    /// themselves). Their pending invitations are withdrawn in the same transaction.
    pub async fn remove_member(
        &self,
        actor: &Actor<Membership>,
        target: &MemberRef,
    ) -> Result<Member, AppError> {
        actor.require(Scope::Write)?;
        let caller = actor.user().id;
        let membership = *actor.membership();
        with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let member = match target {
                MemberRef::Id(id) => organizations::get_member(tx, *id).await?,
                MemberRef::Email(email) => {
                    organizations::find_member_by_email(tx, email.as_str()).await?
                }
            };
            if member.user_id != caller {
                require_manager(&membership, member.role)?;
            }
            Ok::<_, AppError>(
                organizations::remove_member(tx, MemberId::from_uuid(member.id)).await?,
            )
        })
        .await
    }

    /// Change a member's role (owners and admins; only owners grant or take
    /// ownership). Their pending invitations the new role could not make are
    /// withdrawn in the same transaction.
    pub async fn update_member_role(
        &self,
        actor: &Actor<Membership>,
        member: MemberId,
        role: MemberRole,
    ) -> Result<Member, AppError> {
        actor.require(Scope::Write)?;
        let membership = *actor.membership();
        require_manager(&membership, role)?;
        with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let current = organizations::get_member(tx, member).await?;
            require_manager(&membership, current.role)?;
            Ok::<_, AppError>(organizations::update_member_role(tx, member, role).await?)
        })
        .await
    }

    /// Change the organization's name, slug, logo or metadata (owners and
    /// admins: the plugin's `organization: update`).
    pub async fn update_organization(
        &self,
        actor: &Actor<Membership>,
        update: OrganizationUpdate<'_>,
    ) -> Result<Organization, AppError> {
        actor.require(Scope::Write)?;
        refuse_unless(
            role_permits(actor.role(), "organization", "update"),
            "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION",
            "only owners and admins update the organization",
        )?;
        let name = update
            .name
            .map(|n| BoundedName::parse("name", n, name::MAX_ORGANIZATION_NAME_CHARS))
            .transpose()?;
        let metadata = metadata_text(update.metadata)?;
        let changes = OrganizationChanges {
            name: name.as_ref(),
            slug: update.slug,
            logo: update.logo,
            metadata: metadata.as_deref(),
        };
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::update_organization(tx, &changes).await
        })
        .await?)
    }

    /// Delete the organization and every row it holds (owners: the plugin's
    /// `organization: delete`; a session, not a personal access token).
    /// Sessions acting in it then act in none.
    pub async fn delete_organization(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<Organization, AppError> {
        actor.require(Scope::Write)?;
        refuse_unless(
            role_permits(actor.role(), "organization", "delete"),
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
            "only owners delete the organization",
        )?;
        // Irreversible and takes the audit log with it: a leaked token must
        // not be enough.
        require_session(actor)?;
        let organization = with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::delete_organization(tx).await
        })
        .await?;
        tracing::info!(organization_id = %organization.id, user_id = %actor.user().id, "organization deleted");
        Ok(organization)
    }

    /// Leave the organization (anyone but its last owner); a session acting
    /// in it then acts in none, as Better Auth does.
    pub async fn leave_organization(&self, actor: &Actor<Membership>) -> Result<Member, AppError> {
        actor.require(Scope::Write)?;
        let caller = actor.user().id;
        let member = with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let member = organizations::find_member_by_user(tx, caller).await?;
            organizations::remove_member(tx, MemberId::from_uuid(member.id)).await
        })
        .await?;
        if let Some(session) = actor.session()
            && session.active_organization_id == Some(member.organization_id)
        {
            tenantry_db::users::set_active_organization(&self.db, session.id, None).await?;
        }
        Ok(member)
    }

    /// Whether `slug` is free (Better Auth's `check-slug`: a taken one is a
    /// 400 `ORGANIZATION_SLUG_ALREADY_TAKEN`).
    pub async fn check_slug(&self, actor: &Actor, slug: &str) -> Result<(), AppError> {
        // Only to name a new organization, which a bound token may not make.
        actor.require_account(Scope::Read)?;
        match organizations::find_organization_by_slug(&self.db, slug).await? {
            None => Ok(()),
            Some(_) => Err(AppError::Refused {
                code: "ORGANIZATION_SLUG_ALREADY_TAKEN",
                message: "this organization slug is already taken",
            }),
        }
    }

    /// A page of the organization's members, with their total (any member).
    pub async fn list_members_page(
        &self,
        actor: &Actor<Membership>,
        query: &MembersQuery,
    ) -> Result<MemberPage, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::list_members_page(tx, query).await
        })
        .await?)
    }

    /// The caller's own membership of the organization.
    pub async fn active_member(&self, actor: &Actor<Membership>) -> Result<Member, AppError> {
        let caller = actor.user().id;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::find_member_by_user(tx, caller).await
        })
        .await?)
    }

    /// Whether the caller's role holds every permission asked for.
    pub fn has_permissions(
        &self,
        actor: &Actor<Membership>,
        permissions: &BTreeMap<String, Vec<String>>,
    ) -> bool {
        role_has_permissions(actor.role(), permissions)
    }

    /// The organization's invitations, newest first, for those who may
    /// invite (the plugin's `canViewInvitations`: invitation ids work as
    /// links). Only an owner sees invitations that grant ownership.
    pub async fn list_invitations(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<Vec<Invitation>, AppError> {
        let role = actor.role();
        refuse_unless(
            role_permits(role, "invitation", "create"),
            "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
            "only owners and admins list the organization's invitations",
        )?;
        let invitations = with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::list_invitations(tx).await
        })
        .await?;
        Ok(visible_invitations(role, invitations))
    }

    /// The caller's live invitations across organizations, by their email,
    /// which must be verified (Better Auth's
    /// `EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`): an address someone
    /// registered without proving it must not reveal who invites it.
    pub async fn list_user_invitations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<UserInvitation>, AppError> {
        // Invitations are to other organizations: none of a bound token's business.
        actor.require_account(Scope::Read)?;
        if !actor.user().email_verified {
            return Err(AppError::Forbidden {
                code: "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
                message: "verify your email to see invitations addressed to it",
            });
        }
        Ok(organizations::list_user_invitations(&self.db, &actor.user().email).await?)
    }

    /// An invitation addressed to the caller, with the inviting
    /// organization's name and the inviter's email.
    pub async fn invitation_view(
        &self,
        actor: &Actor,
        invitation: InvitationId,
    ) -> Result<InvitationView, AppError> {
        // Invitations are to other organizations: none of a bound token's business.
        actor.require_account(Scope::Read)?;
        Ok(organizations::invitation_view(
            &self.db,
            actor.user(),
            invitation,
            self.settings.require_email_verification_on_invitation,
        )
        .await?)
    }

    /// Reject an invitation addressed to the caller.
    pub async fn reject_invitation(
        &self,
        actor: &Actor,
        invitation: InvitationId,
    ) -> Result<Invitation, AppError> {
        actor.require_account(Scope::Write)?;
        Ok(organizations::reject_invitation(
            &self.db,
            actor.user(),
            invitation,
            self.settings.require_email_verification_on_invitation,
        )
        .await?)
    }

    /// Withdraw an invitation (owners and admins of its organization: the
    /// plugin's `invitation: cancel`). Someone outside that organization
    /// gets the 404 of a missing invitation.
    pub async fn cancel_invitation(
        &self,
        actor: &Actor,
        invitation: InvitationId,
    ) -> Result<Invitation, AppError> {
        actor.require(Scope::Write)?;
        let organization = organizations::invitation_organization(&self.db, invitation)
            .await?
            .ok_or(AppError::NotFound("invitation"))?;
        let actor = self
            .resolve(actor.unscoped(), Some(organization))
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => AppError::NotFound("invitation"),
                other => other,
            })?;
        refuse_unless(
            role_permits(actor.role(), "invitation", "cancel"),
            "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION",
            "only owners and admins cancel invitations",
        )?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::cancel_invitation(tx, invitation).await
        })
        .await?)
    }

    /// Delete the caller's account once they have proven it is theirs (the
    /// surface checks the password): refused while they are the only owner
    /// of an organization with other members; organizations whose only
    /// member they are go with them (see
    /// `tenantry_db::organizations::delete_user_account`). Only a session
    /// may do it, not a personal access token, and only when enabled.
    pub async fn delete_account(&self, actor: &Actor) -> Result<AccountDeletion, AppError> {
        if !self.settings.delete_user_enabled {
            return Err(AppError::NotFound("route"));
        }
        require_session(actor)?;
        let deleted = organizations::delete_user_account(&self.db, actor.user().id).await?;
        tracing::info!(
            user_id = %actor.user().id,
            organizations = deleted.organizations_deleted.len(),
            "account deleted"
        );
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(resource, actions)| {
                (
                    (*resource).to_owned(),
                    actions.iter().map(|a| (*a).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_default_roles_hold_the_plugins_default_statements() {
        use MemberRole::*;
        for (resource, action, owner, admin, member) in [
            ("organization", "update", true, true, false),
            ("organization", "delete", true, false, false),
            ("member", "create", true, true, false),
            ("member", "update", true, true, false),
            ("member", "delete", true, true, false),
            ("invitation", "create", true, true, false),
            ("invitation", "cancel", true, true, false),
            ("team", "create", true, true, false),
            ("ac", "read", true, true, true),
            ("ac", "delete", true, true, false),
            ("organization", "read", false, false, false),
            ("billing", "update", false, false, false),
        ] {
            for (role, expected) in [(Owner, owner), (Admin, admin), (Member, member)] {
                assert_eq!(
                    role_permits(role, resource, action),
                    expected,
                    "{role} {resource}:{action}"
                );
            }
        }
    }

    #[test]
    fn every_action_asked_for_must_be_held_and_nothing_asked_is_no_permission() {
        use MemberRole::*;
        assert!(role_has_permissions(
            Admin,
            &ask(&[
                ("organization", &["update"]),
                ("member", &["create", "delete"])
            ])
        ));
        assert!(!role_has_permissions(
            Admin,
            &ask(&[("organization", &["update", "delete"])])
        ));
        assert!(!role_has_permissions(
            Owner,
            &ask(&[("organization", &["update"]), ("unknown", &["x"])])
        ));
        assert!(!role_has_permissions(Owner, &ask(&[])));
        assert!(!role_has_permissions(Owner, &ask(&[("organization", &[])])));
    }
}
