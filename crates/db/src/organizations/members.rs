//! The members of the current organization, and the rule that it keeps an
//! owner.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::invitations::cancel_invitations_of;
use crate::audit::append_audit;
use crate::context::{TenantStatements, TenantTx};
use crate::error::{DbError, Result};
use crate::ids::{MemberId, OrganizationId, UserId};
use crate::statements::Query;
use crate::tenant::MemberRole;

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
