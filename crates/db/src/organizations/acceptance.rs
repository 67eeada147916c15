//! Accepting an invitation: the one operation that joins a user to an
//! organization they are not yet a member of. The invitation is found on
//! the bare client (reason `OrganizationResolution`), before any tenant is
//! known.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::invitations::{INVITATION_COLUMNS, Invitation, invitation_from};
use super::members::{Member, get_member};
use crate::audit::append_audit;
use crate::client::{self, BypassReason};
use crate::context::with_tenant_context;
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{InvitationId, MemberId, OrganizationId};
use crate::statements::Query;
use crate::tenant::{MemberRole, Tenant};
use crate::users::User;

/// The refusal for an invitation that was used, withdrawn or has expired.
pub(super) const NOT_PENDING: DbError = DbError::Refused {
    code: "INVITATION_NOT_PENDING",
    message: "this invitation was already used, was withdrawn, or has expired",
};

/// Whether `invitee` may accept (or reject) `invitation`, the one found by
/// the id they gave (`None`: there is none), at `now`: the rule every
/// surface applies, before any tenant row is written.
///
/// With `require_verified_email` (Better Auth's
/// `requireEmailVerificationOnInvitation`, on by default in tenantry's
/// `AuthSettings`) an unverified invitee is refused before anything about
/// the invitation is considered: whoever registers an address first has not
/// proven they own it, and an invitation is addressed to the address's
/// owner. Someone else's invitation looks exactly like a missing one.
pub fn check_invitee(
    invitee: &User,
    invitation: Option<Invitation>,
    require_verified_email: bool,
    now: DateTime<Utc>,
) -> Result<Invitation> {
    if require_verified_email && !invitee.email_verified {
        return Err(DbError::Forbidden {
            code: "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
            message: "verify your email before accepting or rejecting an invitation",
        });
    }
    let invitation = invitation
        .filter(|i| i.email == invitee.email)
        .ok_or(DbError::NotFound("invitation"))?;
    if invitation.status != "pending" || invitation.expires_at <= now {
        return Err(NOT_PENDING);
    }
    Ok(invitation)
}

/// Why an invitation by a member who now holds `inviter_role` (`None`: no
/// longer a member) cannot make anyone `role`, if it cannot.
fn inviter_refusal(inviter_role: Option<MemberRole>, role: MemberRole) -> Option<DbError> {
    match inviter_role {
        None => Some(DbError::Forbidden {
            code: "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION",
            message: "whoever sent this invitation is no longer a member; it has been withdrawn",
        }),
        Some(now) if !now.can_manage_role(role) => Some(DbError::Forbidden {
            code: "INVITER_IS_NO_LONGER_ALLOWED_TO_INVITE_WITH_THIS_ROLE",
            message: "whoever sent this invitation may no longer grant its role; it has been withdrawn",
        }),
        Some(_) => None,
    }
}

/// Accept invitation `invitation_id` as `invitee` (see [`check_invitee`]).
/// The invitation is found across tenants (bare client, reason
/// `OrganizationResolution`: no tenant is known yet); the membership is
/// written inside the inviting organization's context, and only while the
/// inviter still may grant the invitation's role: otherwise the invitation
/// is withdrawn (committed, with an audit entry) and the acceptance refused.
pub async fn accept_invitation(
    db: &Database,
    invitee: &User,
    invitation_id: InvitationId,
    require_verified_email: bool,
) -> Result<(Invitation, Member)> {
    accept_invitation_within(db, invitee, invitation_id, require_verified_email, None).await
}

/// The invitation with this id, in whichever organization it is.
async fn find_invitation(db: &Database, invitation_id: InvitationId) -> Result<Option<Invitation>> {
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            &format!("select {INVITATION_COLUMNS} from invitation where id = $1"),
            &[&invitation_id],
        )
        .await?;
    row.as_ref().map(invitation_from).transpose()
}

/// The organization invitation `invitation_id` belongs to, if it exists:
/// which tenant a request about it by id alone (cancel-invitation) acts
/// in, to be checked against the caller's membership before anything else.
pub async fn invitation_organization(
    db: &Database,
    invitation_id: InvitationId,
) -> Result<Option<OrganizationId>> {
    Ok(find_invitation(db, invitation_id)
        .await?
        .map(|invitation| invitation.organization_id))
}

/// [`accept_invitation`], refused with 403 `ORGANIZATION_MEMBERSHIP_LIMIT_REACHED`
/// when the organization already has `membership_limit` members (Better
/// Auth's `membershipLimit`), counted with the organization's row locked so
/// that two acceptances cannot both take the last place.
pub async fn accept_invitation_within(
    db: &Database,
    invitee: &User,
    invitation_id: InvitationId,
    require_verified_email: bool,
    membership_limit: Option<u32>,
) -> Result<(Invitation, Member)> {
    let found = find_invitation(db, invitation_id).await?;
    let invitation = check_invitee(invitee, found, require_verified_email, Utc::now())?;
    let user_id = invitee.id;
    let tenant = Tenant::without_membership_check(invitation.organization_id).acting_as(user_id);
    with_tenant_context(db, tenant, async |tx| {
        // The row lock orders this acceptance with a concurrent one and with
        // the inviter's removal or demotion, which withdraw it in their own
        // transaction: whichever comes second sees what the first did.
        let locked = tx
            .query_opt(
                "select 1 from invitation
                 where id = $1 and status = 'pending' and expires_at > now() for update",
                &[&invitation_id],
            )
            .await?;
        if locked.is_none() {
            return Err(NOT_PENDING);
        }
        let inviter_role = tx
            .query_opt(
                "select role from member where user_id = $1",
                &[&invitation.inviter_id],
            )
            .await?
            .map(|row| MemberRole::parse(row.get(0)))
            .transpose()?;
        if let Some(refusal) = inviter_refusal(inviter_role, invitation.role) {
            tx.execute(
                "update invitation set status = 'canceled' where id = $1",
                &[&invitation_id],
            )
            .await?;
            append_audit(
                tx,
                "invitation.cancel",
                "invitation",
                &invitation_id.to_string(),
                json!({ "inviterId": invitation.inviter_id, "count": 1, "reason": "inviter_may_no_longer_grant" }),
            )
            .await?;
            // Commit the withdrawal; refuse after.
            return Ok(Err(refusal));
        }
        if let Some(limit) = membership_limit {
            super::lock_current_organization(tx).await?;
            let members: i64 = tx
                .query_one("select count(*) from member", &[])
                .await?
                .get(0);
            if members >= i64::from(limit) {
                return Err(DbError::Forbidden {
                    code: "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
                    message: "this organization has reached its membership limit",
                });
            }
        }
        tx.execute(
            "update invitation set status = 'accepted' where id = $1",
            &[&invitation_id],
        )
        .await?;
        let row = tx
            .query_one(
                "insert into member (user_id, role) values ($1, $2) returning id",
                &[&user_id, &invitation.role.as_str()],
            )
            .await?;
        let member_id: Uuid = row.get(0);
        append_audit(
            tx,
            "invitation.accept",
            "invitation",
            &invitation_id.to_string(),
            json!({ "memberId": member_id }),
        )
        .await?;
        let member = get_member(tx, MemberId::from_uuid(member_id)).await?;
        Ok(Ok((
            Invitation {
                status: "accepted".into(),
                ..invitation.clone()
            },
            member,
        )))
    })
    .await?
}

/// Reject invitation `invitation_id` as `invitee` (the same checks as
/// [`accept_invitation`]: their own, pending, unexpired, and with a verified
/// email when `require_verified_email`). Written in the inviting
/// organization's context, with an audit entry.
pub async fn reject_invitation(
    db: &Database,
    invitee: &User,
    invitation_id: InvitationId,
    require_verified_email: bool,
) -> Result<Invitation> {
    let found = find_invitation(db, invitation_id).await?;
    let invitation = check_invitee(invitee, found, require_verified_email, Utc::now())?;
    let tenant = Tenant::without_membership_check(invitation.organization_id).acting_as(invitee.id);
    with_tenant_context(db, tenant, async |tx| {
        let rejected = tx
            .execute(
                "update invitation set status = 'rejected'
                 where id = $1 and status = 'pending' and expires_at > now()",
                &[&invitation_id],
            )
            .await?;
        if rejected == 0 {
            return Err(NOT_PENDING);
        }
        append_audit(
            tx,
            "invitation.reject",
            "invitation",
            &invitation_id.to_string(),
            json!({ "email": invitation.email }),
        )
        .await?;
        Ok(Invitation {
            status: "rejected".into(),
            ..invitation.clone()
        })
    })
    .await
}

/// An invitation as its invitee sees it before answering (Better Auth's
/// `get-invitation`): the organization's name and slug and the inviter's email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The inviting organization's name.
    pub organization_name: String,
    /// Its slug.
    pub organization_slug: String,
    /// Who invited.
    pub inviter_email: String,
}

/// Invitation `invitation_id` as `invitee` may see it: the same checks as
/// [`accept_invitation`] (but an unverified invitee gets Better Auth's
/// `EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`), and 400
/// `INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION` when the inviter left.
pub async fn invitation_view(
    db: &Database,
    invitee: &User,
    invitation_id: InvitationId,
    require_verified_email: bool,
) -> Result<InvitationView> {
    if require_verified_email && !invitee.email_verified {
        return Err(DbError::Forbidden {
            code: "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
            message: "verify your email to see invitations addressed to it",
        });
    }
    let found = find_invitation(db, invitation_id).await?;
    let invitation = check_invitee(invitee, found, false, Utc::now())?;
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            "select o.name, o.slug,
                    (select u.email from member m join \"user\" u on u.id = m.user_id
                     where m.organization_id = o.id and m.user_id = $2) as inviter_email
             from organization o where o.id = $1",
            &[&invitation.organization_id, &invitation.inviter_id],
        )
        .await?
        .ok_or(DbError::NotFound("invitation"))?;
    let inviter_email: Option<String> = row.get("inviter_email");
    let inviter_email = inviter_email.ok_or(DbError::Refused {
        code: "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION",
        message: "whoever sent this invitation is no longer a member",
    })?;
    Ok(InvitationView {
        invitation,
        organization_name: row.get("name"),
        organization_slug: row.get("slug"),
        inviter_email,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::ids::{OrganizationId, UserId};
    use crate::organizations::INVITATION_VALIDITY;

    fn invitee(email_verified: bool) -> User {
        let now = Utc::now();
        User {
            id: UserId::from_uuid(Uuid::new_v4()),
            name: "Nina".into(),
            email: "nina@example.com".into(),
            email_verified,
            image: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn invitation_to(email: &str, status: &str, expires_at: DateTime<Utc>) -> Invitation {
        Invitation {
            id: Uuid::new_v4(),
            organization_id: OrganizationId::from_uuid(Uuid::new_v4()),
            email: email.into(),
            role: MemberRole::Admin,
            status: status.into(),
            expires_at,
            inviter_id: UserId::from_uuid(Uuid::new_v4()),
            created_at: expires_at - INVITATION_VALIDITY,
        }
    }

    fn code(result: Result<Invitation>) -> &'static str {
        match result {
            Err(DbError::Forbidden { code, .. } | DbError::Refused { code, .. }) => code,
            Err(DbError::NotFound(_)) => "NOT_FOUND",
            Err(other) => panic!("unexpected {other}"),
            Ok(_) => "OK",
        }
    }

    #[test]
    fn only_a_verified_owner_of_the_address_takes_a_live_invitation() {
        let now = Utc::now();
        let live = || {
            Some(invitation_to(
                "nina@example.com",
                "pending",
                now + Duration::hours(1),
            ))
        };
        let unverified = "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION";
        assert_eq!(code(check_invitee(&invitee(true), live(), true, now)), "OK");
        assert_eq!(
            code(check_invitee(&invitee(false), live(), true, now)),
            unverified
        );
        // Refused before the invitation is looked at: an unverified account
        // learns nothing about which invitations exist.
        assert_eq!(
            code(check_invitee(&invitee(false), None, true, now)),
            unverified
        );
        // Better Auth's opt-out.
        assert_eq!(
            code(check_invitee(&invitee(false), live(), false, now)),
            "OK"
        );

        let other = Some(invitation_to(
            "someone@example.com",
            "pending",
            now + Duration::hours(1),
        ));
        assert_eq!(
            code(check_invitee(&invitee(true), other, true, now)),
            "NOT_FOUND"
        );
        assert_eq!(
            code(check_invitee(&invitee(true), None, true, now)),
            "NOT_FOUND"
        );
        for (status, expires_at) in [
            ("accepted", now + Duration::hours(1)),
            ("canceled", now + Duration::hours(1)),
            ("pending", now),
        ] {
            let invitation = Some(invitation_to("nina@example.com", status, expires_at));
            assert_eq!(
                code(check_invitee(&invitee(true), invitation, true, now)),
                "INVITATION_NOT_PENDING",
                "{status}"
            );
        }
    }

    #[test]
    fn an_invitation_stands_only_while_its_inviter_may_grant_its_role() {
        use MemberRole::*;
        let refused = |inviter, role| match inviter_refusal(inviter, role) {
            Some(DbError::Forbidden { code, .. }) => Some(code),
            Some(other) => panic!("unexpected {other}"),
            None => None,
        };
        for role in [Owner, Admin, Member] {
            assert_eq!(
                refused(None, role),
                Some("INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION")
            );
            assert_eq!(refused(Some(Owner), role), None);
            assert_eq!(
                refused(Some(Member), role),
                Some("INVITER_IS_NO_LONGER_ALLOWED_TO_INVITE_WITH_THIS_ROLE")
            );
        }
        assert_eq!(refused(Some(Admin), Admin), None);
        assert!(refused(Some(Admin), Owner).is_some());
    }
}
