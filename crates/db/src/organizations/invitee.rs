//! The invitations addressed to one email, across every organization: what
//! Better Auth's `list-user-invitations` shows a signed-in user. They belong
//! to many tenants and the invitee belongs to none of them yet, so they are
//! read on the bare client under their own reason, `InviteeInvitations`,
//! keyed on the invitee's (verified) email and nothing else.

use serde::Serialize;

use super::invitations::{Invitation, invitation_from};
use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;
use crate::statements::Query;

/// A pending invitation to `email`, with the inviting organization's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserInvitation {
    /// The invitation (always `pending`).
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The inviting organization's name.
    pub organization_name: String,
}

/// The live (pending, unexpired) invitations to `email`, newest first. The
/// caller has checked that `email` is the signed-in user's own, verified.
pub async fn list_user_invitations(db: &Database, email: &str) -> Result<Vec<UserInvitation>> {
    let conn = client::bare(db, BypassReason::InviteeInvitations).await?;
    let rows = conn
        .query(
            "select i.id, i.organization_id, o.name as organization_name, i.email, i.role,
                    i.status, i.expires_at, i.inviter_id, i.created_at
             from invitation i join organization o on o.id = i.organization_id
             where i.email = $1 and i.status = 'pending' and i.expires_at > now()
             order by i.created_at desc, i.id",
            &[&email],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(UserInvitation {
                invitation: invitation_from(row)?,
                organization_name: row.get("organization_name"),
            })
        })
        .collect()
}
