//! Better Auth's organization plugin routes: create, list, set-active,
//! get-full-organization, invitations and member management.
//!
//! Permissions follow the plugin's defaults: owners and admins invite,
//! remove members and change roles; only an owner makes someone an owner;
//! the last owner can neither leave nor be demoted.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenantry_auth::email::Email;
use tenantry_db::members::{self, Invitation, Member, Organization};
use tenantry_db::{MemberRole, Membership, OrganizationId, UserOrganization, with_tenant_context};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{ApiJson, Identity, membership_for};
use crate::params::ApiQuery;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/organization/create", post(create))
        .route("/api/auth/organization/list", get(list))
        .route("/api/auth/organization/set-active", post(set_active))
        .route(
            "/api/auth/organization/get-full-organization",
            get(get_full_organization),
        )
        .route("/api/auth/organization/invite-member", post(invite_member))
        .route(
            "/api/auth/organization/accept-invitation",
            post(accept_invitation),
        )
        .route("/api/auth/organization/remove-member", post(remove_member))
        .route(
            "/api/auth/organization/update-member-role",
            post(update_member_role),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Lower-case letters, digits and dashes; unique.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    slug: String,
    logo: Option<String>,
    /// Stored as a JSON string, as Better Auth does.
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
    /// Keep the session's current active organization instead of switching to the new one.
    keep_current_active_organization: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FullOrganization {
    #[serde(flatten)]
    organization: Organization,
    members: Vec<Member>,
    invitations: Vec<Invitation>,
}

/// Create an organization; the caller becomes its owner and, unless asked
/// otherwise, it becomes the session's active organization.
#[utoipa::path(post, path = "/api/auth/organization/create", tag = "organization", request_body = CreateBody,
    responses((status = 200, body = FullOrganization), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Json<FullOrganization>, ApiError> {
    let metadata = body.metadata.map(|m| m.to_string());
    if metadata.as_ref().is_some_and(|m| m.len() > 8192) {
        return Err(ApiError::invalid("metadata", "must be at most 8 KiB"));
    }
    let organization = members::create_organization(
        &state.db,
        identity.user.id,
        &body.name,
        &body.slug,
        body.logo.as_deref(),
        metadata.as_deref(),
    )
    .await?;
    if let Some(session) = identity.session()
        && !body.keep_current_active_organization.unwrap_or(false)
    {
        tenantry_db::users::set_active_organization(&state.db, session.id, Some(organization.id))
            .await?;
    }
    let membership = membership_for(&state, &identity, Some(organization.id)).await?;
    full_organization(&state, &membership).await.map(Json)
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/auth/organization/list", tag = "organization",
    responses((status = 200, body = Vec<UserOrganization>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<UserOrganization>>, ApiError> {
    Ok(Json(
        tenantry_db::list_user_organizations(&state.db, identity.user.id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetActiveBody {
    /// `null` clears the active organization.
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    organization_slug: Option<String>,
}

/// Choose the organization this session acts in (`null` to clear it).
#[utoipa::path(post, path = "/api/auth/organization/set-active", tag = "organization", request_body = SetActiveBody,
    responses((status = 200, body = Option<FullOrganization>), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn set_active(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<SetActiveBody>,
) -> Result<Json<Option<FullOrganization>>, ApiError> {
    let session = identity
        .session()
        .ok_or(ApiError::Forbidden(
            "only a session has an active organization",
        ))?
        .clone();
    let requested = match (body.organization_id, body.organization_slug) {
        (Some(id), _) => Some(OrganizationId::parse(&id)?),
        (None, Some(slug)) => Some(
            members::find_organization_by_slug(&state.db, &slug)
                .await?
                .ok_or(ApiError::NotFound("organization"))?
                .id,
        ),
        (None, None) => None,
    };
    let Some(requested) = requested else {
        tenantry_db::users::set_active_organization(&state.db, session.id, None).await?;
        return Ok(Json(None));
    };
    let membership = membership_for(&state, &identity, Some(requested)).await?;
    tenantry_db::users::set_active_organization(&state.db, session.id, Some(requested)).await?;
    Ok(Json(Some(full_organization(&state, &membership).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationQuery {
    /// Defaults to the session's active organization.
    #[param(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// The organization with its members and invitations.
#[utoipa::path(get, path = "/api/auth/organization/get-full-organization", tag = "organization",
    params(OrganizationQuery),
    responses((status = 200, body = FullOrganization), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_full_organization(
    State(state): State<AppState>,
    identity: Identity,
    ApiQuery(query): ApiQuery<OrganizationQuery>,
) -> Result<Json<FullOrganization>, ApiError> {
    let requested = query
        .organization_id
        .as_deref()
        .map(OrganizationId::parse)
        .transpose()?;
    let membership = membership_for(&state, &identity, requested).await?;
    full_organization(&state, &membership).await.map(Json)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteBody {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// owner, admin or member.
    #[schema(pattern = "^(owner|admin|member)$")]
    role: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// Invite someone by email (owners and admins). An expired invitation to the
/// same email is withdrawn rather than blocking this one; a live one is a 409
/// `USER_IS_ALREADY_INVITED`.
#[utoipa::path(post, path = "/api/auth/organization/invite-member", tag = "organization", request_body = InviteBody,
    responses((status = 200, body = Invitation), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn invite_member(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Json<Invitation>, ApiError> {
    let email = Email::parse(&body.email)?;
    let role = MemberRole::parse(&body.role)?;
    let requested = body
        .organization_id
        .as_deref()
        .map(OrganizationId::parse)
        .transpose()?;
    let membership = membership_for(&state, &identity, requested).await?;
    require_manager(&membership, role)?;
    let inviter = identity.user.id;
    let invitation = with_tenant_context(&state.db, membership.tenant(), async |tx| {
        members::invite_member(tx, email.as_str(), role, inviter).await
    })
    .await?;
    state.mailer.send(crate::mailer::Message::new(
        email.as_str(),
        "You are invited",
        &format!(
            "{} invited you to join as {role}. Accept: POST /api/auth/organization/accept-invitation {{\"invitationId\": \"{}\"}}",
            identity.user.name, invitation.id
        ),
    ));
    Ok(Json(invitation))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptBody {
    #[schema(format = Uuid)]
    invitation_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AcceptResponse {
    invitation: Invitation,
    member: Member,
}

/// Accept an invitation addressed to the caller's email. The email must be
/// verified (403 `EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION`,
/// unless `require_email_verification_on_invitation` is off), and the inviter
/// must still be a member who may grant the invitation's role (403
/// `INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION` or
/// `INVITER_IS_NO_LONGER_ALLOWED_TO_INVITE_WITH_THIS_ROLE`; the invitation is
/// then withdrawn). Someone else's invitation is a 404, like a missing one;
/// a used, withdrawn or expired one is a 400 `INVITATION_NOT_PENDING`.
#[utoipa::path(post, path = "/api/auth/organization/accept-invitation", tag = "organization", request_body = AcceptBody,
    responses((status = 200, body = AcceptResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let invitation_id = Uuid::try_parse(body.invitation_id.trim())
        .map_err(|_| ApiError::invalid("invitationId", "must be a UUID"))?;
    let (invitation, member) = members::accept_invitation(
        &state.db,
        &identity.user,
        invitation_id,
        state.auth.require_email_verification_on_invitation,
    )
    .await?;
    if let Some(session) = identity.session() {
        tenantry_db::users::set_active_organization(
            &state.db,
            session.id,
            Some(invitation.organization_id),
        )
        .await?;
    }
    Ok(Json(AcceptResponse { invitation, member }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveBody {
    /// A membership id, or the member's email.
    member_id_or_email: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberResponse {
    member: Member,
}

/// Remove a member (owners and admins), or leave (anyone, for themselves).
/// The member's pending invitations are withdrawn in the same transaction.
#[utoipa::path(post, path = "/api/auth/organization/remove-member", tag = "organization", request_body = RemoveBody,
    responses((status = 200, body = MemberResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<RemoveBody>,
) -> Result<Json<MemberResponse>, ApiError> {
    let requested = body
        .organization_id
        .as_deref()
        .map(OrganizationId::parse)
        .transpose()?;
    let membership = membership_for(&state, &identity, requested).await?;
    let target = body.member_id_or_email.trim().to_owned();
    let caller = identity.user.id;
    let member = with_tenant_context(&state.db, membership.tenant(), async |tx| {
        let member = match Uuid::try_parse(&target) {
            Ok(id) => members::get_member(tx, id).await?,
            Err(_) => members::find_member_by_email(tx, Email::parse(&target)?.as_str()).await?,
        };
        let leaving = member.user_id == caller;
        if !leaving {
            require_manager(&membership, member.role)?;
        }
        Ok::<_, ApiError>(members::remove_member(tx, member.id).await?)
    })
    .await?;
    Ok(Json(MemberResponse { member }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRoleBody {
    #[schema(format = Uuid)]
    member_id: String,
    /// owner, admin or member.
    #[schema(pattern = "^(owner|admin|member)$")]
    role: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// Change a member's role (owners and admins; only owners grant or take
/// ownership). The member's pending invitations that the new role could not
/// make (all of them for a plain member, those as owner for an admin) are
/// withdrawn in the same transaction. Returns the member itself, unwrapped,
/// as Better Auth does.
#[utoipa::path(post, path = "/api/auth/organization/update-member-role", tag = "organization",
    request_body = UpdateRoleBody,
    responses((status = 200, body = Member), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn update_member_role(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<UpdateRoleBody>,
) -> Result<Json<Member>, ApiError> {
    let member_id = Uuid::try_parse(body.member_id.trim())
        .map_err(|_| ApiError::invalid("memberId", "must be a UUID"))?;
    let role = MemberRole::parse(&body.role)?;
    let requested = body
        .organization_id
        .as_deref()
        .map(OrganizationId::parse)
        .transpose()?;
    let membership = membership_for(&state, &identity, requested).await?;
    require_manager(&membership, role)?;
    let member = with_tenant_context(&state.db, membership.tenant(), async |tx| {
        let current = members::get_member(tx, member_id).await?;
        require_manager(&membership, current.role)?;
        Ok::<_, ApiError>(members::update_member_role(tx, member_id, role).await?)
    })
    .await?;
    Ok(Json(member))
}

/// Owners and admins manage members; touching an owner takes an owner
/// ([`MemberRole::can_manage_role`]).
fn require_manager(membership: &Membership, subject_role: MemberRole) -> Result<(), ApiError> {
    if membership.role().can_manage_role(subject_role) {
        Ok(())
    } else if membership.role().can_manage_members() {
        Err(ApiError::Forbidden(
            "only owners grant, change or remove ownership",
        ))
    } else {
        Err(ApiError::Forbidden("only owners and admins manage members"))
    }
}

pub(crate) async fn full_organization(
    state: &AppState,
    membership: &Membership,
) -> Result<FullOrganization, ApiError> {
    let show_invitations = membership.role().can_manage_members();
    Ok(
        with_tenant_context(&state.db, membership.tenant(), async |tx| {
            let organization = members::current_organization(tx).await?;
            let members = members::list_members(tx).await?;
            let invitations = if show_invitations {
                members::list_invitations(tx).await?
            } else {
                Vec::new()
            };
            Ok::<_, tenantry_db::DbError>(FullOrganization {
                organization,
                members,
                invitations,
            })
        })
        .await?,
    )
}
