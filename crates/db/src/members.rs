//! Members and invitations of the current organization, and the two
//! operations that create a tenant's first rows from outside it: creating an
//! organization and accepting an invitation.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::append_audit;
use crate::client::{self, BareStatements, BypassReason};
use crate::context::{TenantStatements, TenantTx, with_tenant_context};
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{InvitationId, MemberId, OrganizationId, UserId};
use crate::tenant::{MemberRole, Tenant};
use crate::users::User;
use tenantry_domain::BoundedName;

/// An organization, as Better Auth's organization plugin returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organization's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique, URL-friendly name.
    pub slug: String,
    /// Logo URL.
    pub logo: Option<String>,
    /// Free-form metadata (a JSON string, as Better Auth stores it).
    pub metadata: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The public part of a member's user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MemberUser {
    /// The user's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Avatar URL.
    pub image: Option<String>,
}

/// A member of the current organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The membership's id.
    pub id: Uuid,
    /// The organization.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub organization_id: OrganizationId,
    /// The user.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    /// Their role.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: MemberRole,
    /// When they joined.
    pub created_at: DateTime<Utc>,
    /// Who they are.
    pub user: MemberUser,
}

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

const MEMBER_SELECT: &str = "select m.id, m.organization_id, m.user_id, m.role, m.created_at,
        u.name as user_name, u.email as user_email, u.image as user_image
     from member m join \"user\" u on u.id = m.user_id";

fn member_from(row: &tokio_postgres::Row) -> Result<Member> {
    Ok(Member {
        id: row.get("id"),
        organization_id: row.get("organization_id"),
        user_id: row.get("user_id"),
        role: MemberRole::parse(row.get("role"))?,
        created_at: row.get("created_at"),
        user: MemberUser {
            id: row.get("user_id"),
            name: row.get("user_name"),
            email: row.get("user_email"),
            image: row.get("user_image"),
        },
    })
}

const INVITATION_COLUMNS: &str =
    "id, organization_id, email, role, status, expires_at, inviter_id, created_at";

fn invitation_from(row: &tokio_postgres::Row) -> Result<Invitation> {
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

/// Every member of the current organization, oldest first.
pub async fn list_members(tx: &impl TenantStatements) -> Result<Vec<Member>> {
    let rows = tx
        .query(&format!("{MEMBER_SELECT} order by m.created_at, m.id"), &[])
        .await?;
    rows.iter().map(member_from).collect()
}

/// One member, by membership id.
pub async fn get_member(tx: &impl TenantStatements, member_id: MemberId) -> Result<Member> {
    let row = tx
        .query_opt(&format!("{MEMBER_SELECT} where m.id = $1"), &[&member_id])
        .await?;
    row.as_ref()
        .map(member_from)
        .ok_or(DbError::NotFound("member"))?
}

/// One member, by their user's email.
pub async fn find_member_by_email(tx: &impl TenantStatements, email: &str) -> Result<Member> {
    let row = tx
        .query_opt(&format!("{MEMBER_SELECT} where u.email = $1"), &[&email])
        .await?;
    row.as_ref()
        .map(member_from)
        .ok_or(DbError::NotFound("member"))?
}

/// The current organization's row.
pub async fn current_organization(tx: &impl TenantStatements) -> Result<Organization> {
    let row = tx
        .query_opt(
            "select id, name, slug, logo, metadata, created_at from organization",
            &[],
        )
        .await?;
    row.as_ref()
        .map(organization_from)
        .ok_or(DbError::NotFound("organization"))
}

fn organization_from(row: &tokio_postgres::Row) -> Organization {
    Organization {
        id: row.get("id"),
        name: row.get("name"),
        slug: row.get("slug"),
        logo: row.get("logo"),
        metadata: row.get("metadata"),
        created_at: row.get("created_at"),
    }
}

/// Lock the owners and refuse when `member` is the only one. Locking makes
/// two concurrent removals of the last two owners serialize.
async fn refuse_if_last_owner(tx: &TenantTx, member: &Member, last_owner: DbError) -> Result<()> {
    if member.role != MemberRole::Owner {
        return Ok(());
    }
    let owners = tx
        .query("select id from member where role = 'owner' for update", &[])
        .await?;
    if owners.len() <= 1 {
        return Err(last_owner);
    }
    Ok(())
}

/// Remove a member; the last owner cannot be removed (nor leave).
pub async fn remove_member(tx: &TenantTx, member_id: MemberId) -> Result<Member> {
    let member = get_member(tx, member_id).await?;
    // Better Auth's codes, so its clients recognise the refusal.
    let last_owner = DbError::Refused {
        code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
        message: "an organization must keep at least one owner",
    };
    refuse_if_last_owner(tx, &member, last_owner).await?;
    tx.execute("delete from member where id = $1", &[&member_id])
        .await?;
    append_audit(
        tx,
        "member.remove",
        "member",
        &member_id.to_string(),
        json!({ "userId": member.user_id, "role": member.role }),
    )
    .await?;
    cancel_invitations_of(tx, &member, None).await?;
    Ok(member)
}

/// Change a member's role; the last owner cannot be demoted.
pub async fn update_member_role(
    tx: &TenantTx,
    member_id: MemberId,
    role: MemberRole,
) -> Result<Member> {
    let member = get_member(tx, member_id).await?;
    if role != MemberRole::Owner {
        let last_owner = DbError::Refused {
            code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
            message: "an organization must keep at least one owner",
        };
        refuse_if_last_owner(tx, &member, last_owner).await?;
    }
    tx.execute(
        "update member set role = $2 where id = $1",
        &[&member_id, &role.as_str()],
    )
    .await?;
    append_audit(
        tx,
        "member.update_role",
        "member",
        &member_id.to_string(),
        json!({ "from": member.role, "to": role }),
    )
    .await?;
    cancel_invitations_of(tx, &member, Some(role)).await?;
    Ok(Member { role, ..member })
}

/// Withdraw the pending invitations `inviter` made that their role now
/// (`None`: they are no longer a member) could not make, in the transaction
/// that removed or demoted them, with one audit entry. An invitation carries
/// its inviter's authority, so it must not outlive it: otherwise a removed
/// admin's invitee would still join as an admin. Better Auth keeps such
/// invitations (only its get-invitation then answers
/// `INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION`); [`accept_invitation`]
/// checks the inviter again, for invitations this did not reach.
async fn cancel_invitations_of(
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

/// Invite `email` (already normalised) with `role`. A live pending
/// invitation for the same email is a conflict (on
/// `invitation_pending_email_key`); so is inviting an existing member. An
/// expired one is withdrawn first: it can never be accepted, so it must not
/// block a new one.
pub async fn invite_member(
    tx: &TenantTx,
    email: &str,
    role: MemberRole,
    inviter: UserId,
) -> Result<Invitation> {
    if find_member_by_email(tx, email).await.is_ok() {
        return Err(DbError::Refused {
            code: "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
            message: "that user is already a member of this organization",
        });
    }
    tx.execute(
        "update invitation set status = 'canceled'
         where email = $1 and status = 'pending' and expires_at <= now()",
        &[&email],
    )
    .await?;
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

/// Create an organization with `creator` as its owner.
///
/// The organization, the owner's membership and the audit entry are one
/// tenant transaction in the context of the new organization's id, chosen
/// here (migration 0008 lets `authenticated` insert exactly that
/// organization): interrupted anywhere, nothing is committed, so no
/// organization is ever left without an owner. A taken slug is a conflict
/// on `organization_slug_key`.
pub async fn create_organization(
    db: &Database,
    creator: UserId,
    name: &BoundedName,
    slug: &str,
    logo: Option<&str>,
    metadata: Option<&str>,
) -> Result<Organization> {
    let name = name.as_str();
    validate_slug(slug)?;
    let logo = logo.map(validate_logo).transpose()?;
    let id = OrganizationId::from_uuid(Uuid::new_v4());
    let tenant = Tenant::without_membership_check(id).acting_as(creator);
    with_tenant_context(db, tenant, async |tx| {
        let row = tx
            .query_one(
                "insert into organization (id, name, slug, logo, metadata)
                 values ($1, $2, $3, $4, $5)
                 returning id, name, slug, logo, metadata, created_at",
                &[&id, &name, &slug, &logo, &metadata],
            )
            .await?;
        let organization = organization_from(&row);
        tx.execute(
            "insert into member (user_id, role) values ($1, 'owner')",
            &[&creator],
        )
        .await?;
        append_audit(
            tx,
            "organization.create",
            "organization",
            &organization.id.to_string(),
            json!({ "name": name, "slug": slug }),
        )
        .await?;
        Ok(organization)
    })
    .await
}

/// The organization with this id or slug (bare; for set-active by slug).
pub async fn find_organization_by_slug(db: &Database, slug: &str) -> Result<Option<Organization>> {
    validate_slug(slug)?;
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            "select id, name, slug, logo, metadata, created_at from organization where slug = $1",
            &[&slug],
        )
        .await?;
    Ok(row.as_ref().map(organization_from))
}

/// The refusal for an invitation that was used, withdrawn or has expired.
const NOT_PENDING: DbError = DbError::Refused {
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
    let found = {
        let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
        let row = conn
            .query_opt(
                &format!("select {INVITATION_COLUMNS} from invitation where id = $1"),
                &[&invitation_id],
            )
            .await?;
        row.as_ref().map(invitation_from).transpose()?
    };
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

/// Check an organization's logo (a URL, as Better Auth stores it): no
/// control characters. Its length is bounded by the request body limit.
pub fn validate_logo(logo: &str) -> Result<&str> {
    if logo.chars().any(char::is_control) {
        return Err(DbError::invalid(
            "logo",
            "must not contain control characters",
        ));
    }
    Ok(logo)
}

/// Check a slug: 1 to 64 lower-case ASCII letters, digits or dashes, not
/// starting or ending with a dash. Pure: run before any query.
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(DbError::invalid(
            "slug",
            "must be 1 to 64 lower-case letters, digits or dashes, not starting or ending with a dash",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
