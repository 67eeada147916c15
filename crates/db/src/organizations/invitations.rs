//! Invitations to the current organization, and their withdrawal when the
//! inviter loses the authority they carry.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::members::{Member, find_member_by_email};
use crate::audit::append_audit;
use crate::context::{TenantStatements, TenantTx};
use crate::error::{DbError, Result};
use crate::ids::{InvitationId, OrganizationId, UserId};
use crate::statements::Query;
use crate::tenant::MemberRole;

/// An invitation to the current organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// The invitation's id (what the invitee accepts).
    pub id: Uuid,
    /// The organization.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub organization_id: OrganizationId,
    /// Who is invited.
    pub email: String,
    /// The role they will get.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: MemberRole,
    /// pending, accepted, rejected or canceled.
    pub status: String,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Who invited.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub inviter_id: UserId,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// How long an invitation stays valid (Better Auth's default: 48 hours).
pub const INVITATION_VALIDITY: Duration = Duration::hours(48);

pub(super) const INVITATION_COLUMNS: &str =
    "id, organization_id, email, role, status, expires_at, inviter_id, created_at";

pub(super) fn invitation_from(row: &tokio_postgres::Row) -> Result<Invitation> {
    Ok(Invitation {
        id: row.get("id"),
        organization_id: row.get("organization_id"),
        email: row.get("email"),
        role: MemberRole::parse(row.get("role"))?,
        status: row.get("status"),
        expires_at: row.get("expires_at"),
        inviter_id: row.get("inviter_id"),
        created_at: row.get("created_at"),
    })
}

/// Withdraw the pending invitations `inviter` made that their role now
/// (`None`: they are no longer a member) could not make, in the transaction
/// that removed or demoted them, with one audit entry. An invitation carries
/// its inviter's authority, so it must not outlive it: otherwise a removed
/// admin's invitee would still join as an admin. Better Auth keeps such
/// invitations (only its get-invitation then answers
/// `INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION`); [`super::accept_invitation`]
/// checks the inviter again, for invitations this did not reach.
pub(super) async fn cancel_invitations_of(
    tx: &TenantTx,
    inviter: &Member,
    role_now: Option<MemberRole>,
) -> Result<()> {
    let still_grantable: Vec<&str> = [MemberRole::Owner, MemberRole::Admin, MemberRole::Member]
        .into_iter()
        .filter(|&role| role_now.is_some_and(|now| now.can_manage_role(role)))
        .map(|role| role.as_str())
        .collect();
    let canceled = tx
        .execute(
            "update invitation set status = 'canceled'
             where inviter_id = $1 and status = 'pending' and role <> all($2)",
            &[&inviter.user_id, &still_grantable],
        )
        .await?;
    if canceled == 0 {
        return Ok(());
    }
    let reason = match role_now {
        None => "inviter_left",
        Some(_) => "inviter_role_changed",
    };
    append_audit(
        tx,
        "invitation.cancel",
        "member",
        &inviter.id.to_string(),
        json!({ "inviterId": inviter.user_id, "count": canceled, "reason": reason }),
    )
    .await
}

/// The limits and the re-invite rule an invitation is made under (Better
/// Auth's `invitationLimit` and `cancelPendingInvitationsOnReInvite`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvitePolicy {
    /// Most live pending invitations an organization may have (Better Auth: 100).
    pub invitation_limit: u32,
    /// Withdraw a live pending invitation to the same email instead of
    /// refusing the new one (Better Auth: off).
    pub cancel_pending_on_reinvite: bool,
}

impl Default for InvitePolicy {
    fn default() -> Self {
        InvitePolicy {
            invitation_limit: 100,
            cancel_pending_on_reinvite: false,
        }
    }
}

/// [`invite_member_with`] under Better Auth's defaults.
pub async fn invite_member(
    tx: &TenantTx,
    email: &str,
    role: MemberRole,
    inviter: UserId,
) -> Result<Invitation> {
    invite_member_with(tx, email, role, inviter, InvitePolicy::default()).await
}

/// Invite `email` (already normalised) with `role`. A live pending
/// invitation for the same email is a conflict (on
/// `invitation_pending_email_key`) unless `policy` withdraws it; so is
/// inviting an existing member. An expired one is withdrawn first: it can
/// never be accepted, so it must not block a new one. With the
/// organization's row locked, more than `policy.invitation_limit` live
/// pending invitations are refused (403 `INVITATION_LIMIT_REACHED`).
pub async fn invite_member_with(
    tx: &TenantTx,
    email: &str,
    role: MemberRole,
    inviter: UserId,
    policy: InvitePolicy,
) -> Result<Invitation> {
    // Only "no such member" lets the invitation go ahead: a failed lookup is
    // an error, not a sign that the invitee is a stranger.
    match find_member_by_email(tx, email).await {
        Ok(_) => {
            return Err(DbError::Refused {
                code: "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
                message: "that user is already a member of this organization",
            });
        }
        Err(DbError::NotFound(_)) => {}
        Err(error) => return Err(error),
    }
    super::lock_current_organization(tx).await?;
    tx.execute(
        "update invitation set status = 'canceled'
         where email = $1 and status = 'pending' and expires_at <= now()",
        &[&email],
    )
    .await?;
    if policy.cancel_pending_on_reinvite {
        let withdrawn = tx
            .query(
                "update invitation set status = 'canceled'
                 where email = $1 and status = 'pending' returning id",
                &[&email],
            )
            .await?;
        for row in withdrawn {
            let id: Uuid = row.get(0);
            append_audit(
                tx,
                "invitation.cancel",
                "invitation",
                &id.to_string(),
                json!({ "inviterId": inviter, "count": 1, "reason": "reinvited" }),
            )
            .await?;
        }
    }
    let pending: i64 = tx
        .query_one(
            "select count(*) from invitation where status = 'pending' and expires_at > now()",
            &[],
        )
        .await?
        .get(0);
    if pending >= i64::from(policy.invitation_limit) {
        return Err(DbError::Forbidden {
            code: "INVITATION_LIMIT_REACHED",
            message: "this organization has reached its limit of pending invitations",
        });
    }
    let row = tx
        .query_one(
            &format!(
                "insert into invitation (email, role, expires_at, inviter_id) values ($1, $2, $3, $4)
                 returning {INVITATION_COLUMNS}"
            ),
            &[&email, &role.as_str(), &(Utc::now() + INVITATION_VALIDITY), &inviter],
        )
        .await?;
    let invitation = invitation_from(&row)?;
    append_audit(
        tx,
        "invitation.create",
        "invitation",
        &invitation.id.to_string(),
        json!({ "email": email, "role": role }),
    )
    .await?;
    Ok(invitation)
}

/// One invitation of the current organization.
pub async fn get_invitation(tx: &impl TenantStatements, id: InvitationId) -> Result<Invitation> {
    let row = tx
        .query_opt(
            &format!("select {INVITATION_COLUMNS} from invitation where id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref()
        .map(invitation_from)
        .transpose()?
        .ok_or(DbError::NotFound("invitation"))
}

/// Withdraw a pending invitation of the current organization (an expired
/// one too: it can do no harm, and this tidies it). One that was accepted,
/// rejected or withdrawn already is a 400 `INVITATION_NOT_PENDING`.
pub async fn cancel_invitation(tx: &TenantTx, id: InvitationId) -> Result<Invitation> {
    let row = tx
        .query_opt(
            &format!(
                "update invitation set status = 'canceled' where id = $1 and status = 'pending'
                 returning {INVITATION_COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        get_invitation(tx, id).await?;
        return Err(super::acceptance::NOT_PENDING);
    };
    let invitation = invitation_from(&row)?;
    append_audit(
        tx,
        "invitation.cancel",
        "invitation",
        &id.to_string(),
        json!({ "inviterId": invitation.inviter_id, "count": 1, "reason": "canceled" }),
    )
    .await?;
    Ok(invitation)
}

/// Invitations of the current organization, newest first.
pub async fn list_invitations(tx: &impl TenantStatements) -> Result<Vec<Invitation>> {
    let rows = tx
        .query(
            &format!("select {INVITATION_COLUMNS} from invitation order by created_at desc, id"),
            &[],
        )
        .await?;
    rows.iter().map(invitation_from).collect()
}
