//! Better Auth's organization plugin routes: create, list, set-active,
//! get-full-organization, invitations and member management. The rules
//! (who may invite, remove, change roles) are `tenantry_app::organizations`'.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenantry_app::organizations::{ActiveChoice, FullOrganization, MemberRef, NewOrganization};
use tenantry_app::{
    Actor, Email, Invitation, InvitationId, Member, MemberId, MemberRole, OrganizationId,
    UserOrganization,
};

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
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

/// An optional `organizationId` field.
fn organization_id(text: Option<&str>) -> Result<Option<OrganizationId>, ApiError> {
    Ok(text.map(OrganizationId::parse).transpose()?)
}

/// The caller in the organization a body or query names (else their default).
async fn scoped(
    state: &AppState,
    actor: Actor,
    requested: Option<&str>,
) -> Result<Actor<tenantry_app::Membership>, ApiError> {
    let requested = organization_id(requested)?;
    Ok(state.app.resolve(actor, requested).await?)
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

/// Create an organization; the caller becomes its owner and, unless asked
/// otherwise, it becomes the session's active organization.
#[utoipa::path(post, path = "/api/auth/organization/create", tag = "organization", request_body = CreateBody,
    responses((status = 200, body = FullOrganization), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Json<FullOrganization>, ApiError> {
    let new = NewOrganization {
        name: &body.name,
        slug: &body.slug,
        logo: body.logo.as_deref(),
        metadata: body.metadata,
        keep_current_active: body.keep_current_active_organization.unwrap_or(false),
    };
    Ok(Json(state.app.create_organization(&actor, new).await?))
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/auth/organization/list", tag = "organization",
    responses((status = 200, body = Vec<UserOrganization>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<UserOrganization>>, ApiError> {
    Ok(Json(state.app.list_organizations(&actor).await?))
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
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<SetActiveBody>,
) -> Result<Json<Option<FullOrganization>>, ApiError> {
    let choice = match (&body.organization_id, &body.organization_slug) {
        (Some(id), _) => ActiveChoice::Id(id),
        (None, Some(slug)) => ActiveChoice::Slug(slug),
        (None, None) => ActiveChoice::Clear,
    };
    Ok(Json(
        state.app.set_active_organization(&actor, choice).await?,
    ))
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
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<OrganizationQuery>,
) -> Result<Json<FullOrganization>, ApiError> {
    let actor = scoped(&state, actor, query.organization_id.as_deref()).await?;
    Ok(Json(state.app.full_organization(&actor).await?))
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
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Json<Invitation>, ApiError> {
    let email = Email::parse(&body.email)?;
    let role = MemberRole::parse(&body.role)?;
    let actor = scoped(&state, actor, body.organization_id.as_deref()).await?;
    let invitation = state.app.invite_member(&actor, &email, role).await?;
    state.mailer.send(crate::mailer::Message::new(
        email.as_str(),
        "You are invited",
        &format!(
            "{} invited you to join as {role}. Accept: POST /api/auth/organization/accept-invitation {{\"invitationId\": \"{}\"}}",
            actor.user().name, invitation.id
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
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let invitation = InvitationId::parse(&body.invitation_id)?;
    let (invitation, member) = state.app.accept_invitation(&actor, invitation).await?;
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
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<RemoveBody>,
) -> Result<Json<MemberResponse>, ApiError> {
    let actor = scoped(&state, actor, body.organization_id.as_deref()).await?;
    let target = MemberRef::parse(&body.member_id_or_email)?;
    let member = state.app.remove_member(&actor, &target).await?;
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
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<UpdateRoleBody>,
) -> Result<Json<Member>, ApiError> {
    let member = MemberId::parse(&body.member_id)?;
    let role = MemberRole::parse(&body.role)?;
    let actor = scoped(&state, actor, body.organization_id.as_deref()).await?;
    Ok(Json(
        state.app.update_member_role(&actor, member, role).await?,
    ))
}
