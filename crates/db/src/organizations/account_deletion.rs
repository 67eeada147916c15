//! Deleting a user's account, with the organizations that would otherwise
//! be left behind: the one operation that removes tenant rows across
//! tenants. It runs on the bare client under its own reason,
//! `AccountDeletion`, as one transaction: the user is deleted whole or not
//! at all.

use uuid::Uuid;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{OrganizationId, UserId};

/// What deleting an account took with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountDeletion {
    /// Organizations whose only member the user was, deleted with every
    /// tenant row they held.
    pub organizations_deleted: Vec<OrganizationId>,
}

/// Delete `user_id`, unless they are the only owner of an organization that
/// has other members (400 `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`,
/// Better Auth's code for the same rule on leaving: the organization would
/// be left without an owner). Organizations whose only member they are go
/// with them, every tenant row included; their sessions, accounts, personal
/// access tokens, memberships and the invitations they sent go through the
/// foreign keys' `on delete cascade`, and the links mailed to them with them; rows that only name them as creator or
/// actor keep the row and lose the name (`on delete set null`).
///
/// One transaction: the user's row is locked first, so no membership of
/// theirs can be added meanwhile (inserting one takes a key-share lock on
/// it), then the rows of their organizations, so no member can join those
/// (likewise) while the counts decide which go and whether to refuse.
pub async fn delete_user_account(db: &Database, user_id: UserId) -> Result<AccountDeletion> {
    let mut conn = client::bare(db, BypassReason::AccountDeletion).await?;
    let tx = conn.connection_mut().transaction().await?;
    tx.query_opt(
        "select 1 from \"user\" where id = $1 for update",
        &[&user_id],
    )
    .await?
    .ok_or(DbError::NotFound("user"))?;
    let organizations: Vec<Uuid> = tx
        .query(
            "select organization_id from member where user_id = $1",
            &[&user_id],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tx.query(
        "select 1 from organization where id = any($1) order by id for update",
        &[&organizations],
    )
    .await?;
    let counts = tx
        .query(
            "select organization_id,
                    count(*) as members,
                    count(*) filter (where role = 'owner') as owners,
                    bool_or(user_id = $1 and role = 'owner') as is_owner
             from member where organization_id = any($2)
             group by organization_id",
            &[&user_id, &organizations],
        )
        .await?;
    let mut alone_in = Vec::new();
    for row in &counts {
        let members: i64 = row.get("members");
        let owners: i64 = row.get("owners");
        let is_owner: bool = row.get("is_owner");
        if members == 1 {
            alone_in.push(row.get::<_, Uuid>("organization_id"));
        } else if is_owner && owners == 1 {
            return Err(DbError::Refused {
                code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
                message: "you are the only owner of an organization with other members: \
                          make someone else an owner, or remove the other members, first",
            });
        }
    }
    tx.execute("delete from organization where id = any($1)", &[&alone_in])
        .await?;
    // Links mailed to them (password reset, email verification) name them
    // by id, with no foreign key: they go too, rather than outlive the account.
    tx.execute(
        "delete from verification where value = $1",
        &[&user_id.to_string()],
    )
    .await?;
    tx.execute("delete from \"user\" where id = $1", &[&user_id])
        .await?;
    tx.commit().await?;
    Ok(AccountDeletion {
        organizations_deleted: alone_in
            .into_iter()
            .map(OrganizationId::from_uuid)
            .collect(),
    })
}
