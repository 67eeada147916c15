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
/// two concurrent removals of the last two owners serialize. The
/// organization row is locked first, as an account deletion locks it before
/// counting owners (`account_deletion`), so a deletion and a leave or
/// demotion cannot both count two owners and leave none. (The audit entry's
/// foreign key also takes a key-share lock on that row, which the deletion's
/// lock waits for; this lock makes the order not depend on it.)
async fn refuse_if_last_owner(tx: &TenantTx, member: &Member, last_owner: DbError) -> Result<()> {
    if member.role != MemberRole::Owner {
        return Ok(());
    }
    super::lock_current_organization(tx).await?;
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

/// The member that `user_id` is in the current organization.
pub async fn find_member_by_user(tx: &impl TenantStatements, user_id: UserId) -> Result<Member> {
    let row = tx
        .query_opt(
            &format!("{MEMBER_SELECT} where m.user_id = $1"),
            &[&user_id],
        )
        .await?;
    row.as_ref()
        .map(member_from)
        .ok_or(DbError::NotFound("member"))?
}

/// Which column a member list is sorted by (Better Auth's `sortBy`, a
/// member field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemberSort {
    /// When they joined (the default).
    #[default]
    CreatedAt,
    /// Their role.
    Role,
    /// Their user's id.
    UserId,
    /// The membership id.
    Id,
}

impl MemberSort {
    /// Better Auth's field name; anything else is a 400 naming `sortBy`.
    pub fn parse(field: &str) -> Result<Self> {
        match field {
            "createdAt" => Ok(MemberSort::CreatedAt),
            "role" => Ok(MemberSort::Role),
            "userId" => Ok(MemberSort::UserId),
            "id" => Ok(MemberSort::Id),
            _ => Err(DbError::invalid(
                "sortBy",
                "must be one of createdAt, role, userId, id",
            )),
        }
    }

    fn column(self) -> &'static str {
        match self {
            MemberSort::CreatedAt => "m.created_at",
            MemberSort::Role => "m.role",
            MemberSort::UserId => "m.user_id",
            MemberSort::Id => "m.id",
        }
    }
}

/// The member field a list is filtered on (Better Auth's `filterField`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberFilterField {
    /// `role`.
    Role,
    /// `userId`.
    UserId,
}

impl MemberFilterField {
    /// Better Auth's field name; anything else is a 400 naming `filterField`.
    pub fn parse(field: &str) -> Result<Self> {
        match field {
            "role" => Ok(MemberFilterField::Role),
            "userId" => Ok(MemberFilterField::UserId),
            _ => Err(DbError::invalid("filterField", "must be role or userId")),
        }
    }
}

/// A filter: the field equals (or, with `negate`, differs from) one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFilter {
    /// Which field.
    pub field: MemberFilterField,
    /// Accepted values (one for `eq`/`ne`, several for `in`/`not_in`).
    pub values: Vec<String>,
    /// `ne` / `not_in`.
    pub negate: bool,
}

/// One page of a member list, as Better Auth's `list-members` asks for it.
#[derive(Clone, Debug, Default)]
pub struct MembersQuery {
    /// At most this many (1 to 1000, checked by the caller).
    pub limit: i64,
    /// Skip this many.
    pub offset: i64,
    /// Sort column.
    pub sort: MemberSort,
    /// Newest / largest first.
    pub descending: bool,
    /// Optional filter.
    pub filter: Option<MemberFilter>,
}

/// A page of members and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberPage {
    /// The page.
    pub members: Vec<Member>,
    /// Every member the filter matches.
    pub total: i64,
}

/// A page of the current organization's members, with the total that match.
/// The SQL is one of a fixed set of texts: only parameters carry input.
pub async fn list_members_page(
    tx: &impl TenantStatements,
    query: &MembersQuery,
) -> Result<MemberPage> {
    let condition = match &query.filter {
        None => "true".to_owned(),
        Some(filter) => {
            let test = match filter.field {
                MemberFilterField::Role => "m.role = any($3::text[])",
                MemberFilterField::UserId => "m.user_id::text = any($3::text[])",
            };
            if filter.negate {
                format!("not ({test})")
            } else {
                test.to_owned()
            }
        }
    };
    let values: Vec<String> = query
        .filter
        .as_ref()
        .map(|f| f.values.clone())
        .unwrap_or_default();
    let direction = if query.descending { "desc" } else { "asc" };
    let column = query.sort.column();
    let page_sql = format!(
        "{MEMBER_SELECT} where {condition}
         order by {column} {direction}, m.id {direction}
         limit $1 offset $2"
    );
    let count_sql = format!(
        "select count(*) from member m where {}",
        condition.replace("$3", "$1")
    );
    let (rows, total) = if query.filter.is_some() {
        let rows = tx
            .query(&page_sql, &[&query.limit, &query.offset, &values])
            .await?;
        let total: i64 = tx.query_one(&count_sql, &[&values]).await?.get(0);
        (rows, total)
    } else {
        let rows = tx.query(&page_sql, &[&query.limit, &query.offset]).await?;
        let total: i64 = tx.query_one(&count_sql, &[]).await?.get(0);
        (rows, total)
    };
    let members = rows.iter().map(member_from).collect::<Result<Vec<_>>>()?;
    Ok(MemberPage { members, total })
}
