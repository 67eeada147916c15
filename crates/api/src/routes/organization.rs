//! Better Auth's organization plugin routes: create, list, set-active,
//! get-full-organization, update, delete, leave, check-slug, members,
//! permissions, and invitations. The rules (who may invite, remove, change
//! roles, update or delete) are `tenantry_app::organizations`'.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use tenantry_app::organizations::{
    ActiveChoice, FullOrganization, InvitationView, MemberFilter, MemberFilterField, MemberPage,
    MemberRef, MemberSort, MembersQuery, NewOrganization, OrganizationUpdate, UserInvitation,
};
use tenantry_app::{
    Actor, Email, Invitation, InvitationId, Member, MemberId, MemberRole, Organization,
    OrganizationId, UserOrganization,
};

use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated};
use crate::params::ApiQuery;
use crate::state::AppState;

/// Better Auth's organization plugin under `/api/auth/organization/`: organizations, members, invitations and permissions.
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
        .route("/api/auth/organization/update", post(update))
        .route("/api/auth/organization/delete", post(delete))
        .route("/api/auth/organization/leave", post(leave))
        .route("/api/auth/organization/check-slug", post(check_slug))
        .route("/api/auth/organization/list-members", get(list_members))
        .route(
            "/api/auth/organization/get-active-member",
            get(get_active_member),
        )
        .route(
            "/api/auth/organization/has-permission",
            post(has_permission),
        )
        .route(
            "/api/auth/organization/list-invitations",
            get(list_invitations),
        )
        .route(
            "/api/auth/organization/list-user-invitations",
            get(list_user_invitations),
        )
        .route("/api/auth/organization/get-invitation", get(get_invitation))
        .route(
            "/api/auth/organization/reject-invitation",
            post(reject_invitation),
        )
        .route(
            "/api/auth/organization/cancel-invitation",
            post(cancel_invitation),
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

/// The body of `POST /api/auth/organization/create`.
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

/// The body of `POST /api/auth/organization/set-active`.
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

/// The query of `GET /api/auth/organization/get-full-organization` and `list-invitations`: which organization, else the active one.
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

/// The body of `POST /api/auth/organization/invite-member`.
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

/// The body of `POST /api/auth/organization/accept-invitation` and `reject-invitation`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptBody {
    #[schema(format = Uuid)]
    invitation_id: String,
}

/// The answer to `POST /api/auth/organization/accept-invitation`.
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

/// The body of `POST /api/auth/organization/remove-member`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveBody {
    /// A membership id, or the member's email.
    member_id_or_email: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// The answer to `POST /api/auth/organization/remove-member`: the member removed.
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

/// The body of `POST /api/auth/organization/update-member-role`.
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

/// `null` and absence told apart: `Some(None)` is an explicit `null`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A required id in a body, parsed, or a 400 naming it.
fn required<'a>(field: &'static str, text: Option<&'a str>) -> Result<&'a str, ApiError> {
    text.ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// The fields `POST /api/auth/organization/update` changes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateData {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Lower-case letters, digits and dashes; unique.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    slug: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    logo: Option<Option<String>>,
    /// A JSON object, stored as a JSON string as Better Auth does.
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

/// The body of `POST /api/auth/organization/update`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    /// The fields to change; absent ones stay.
    data: UpdateData,
    /// Defaults to the session's active organization.
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// Change the organization's name, slug, logo or metadata (owners and
/// admins; a member gets 403 `YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION`).
/// A taken slug is a 409 `ORGANIZATION_ALREADY_EXISTS`.
#[utoipa::path(post, path = "/api/auth/organization/update", tag = "organization", request_body = UpdateBody,
    responses((status = 200, body = Organization), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Organization>, ApiError> {
    if body.data.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(ApiError::invalid("metadata", "must be a JSON object"));
    }
    let actor = scoped(&state, actor, body.organization_id.as_deref()).await?;
    let update = OrganizationUpdate {
        name: body.data.name.as_deref(),
        slug: body.data.slug.as_deref(),
        logo: body.data.logo.as_ref().map(|logo| logo.as_deref()),
        metadata: body.data.metadata,
    };
    Ok(Json(state.app.update_organization(&actor, update).await?))
}

/// The body of `POST /api/auth/organization/delete` and `leave`: which organization.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationIdBody {
    #[schema(value_type = String, format = Uuid)]
    organization_id: Option<String>,
}

/// Delete the organization and every row it holds: members, invitations,
/// projects, usage, audit log (owners; an admin or member gets 403
/// `YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION`). Sessions acting in it
/// then act in none. Returns the deleted organization.
#[utoipa::path(post, path = "/api/auth/organization/delete", tag = "organization", request_body = OrganizationIdBody,
    responses((status = 200, body = Organization), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<OrganizationIdBody>,
) -> Result<Json<Organization>, ApiError> {
    let requested = required("organizationId", body.organization_id.as_deref())?;
    let actor = scoped(&state, actor, Some(requested)).await?;
    Ok(Json(state.app.delete_organization(&actor).await?))
}

/// Leave the organization. Its last owner cannot (400
/// `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`). Returns the
/// membership that ended.
#[utoipa::path(post, path = "/api/auth/organization/leave", tag = "organization", request_body = OrganizationIdBody,
    responses((status = 200, body = Member), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn leave(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<OrganizationIdBody>,
) -> Result<Json<Member>, ApiError> {
    let requested = required("organizationId", body.organization_id.as_deref())?;
    let actor = scoped(&state, actor, Some(requested)).await?;
    Ok(Json(state.app.leave_organization(&actor).await?))
}

/// The body of `POST /api/auth/organization/check-slug`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckSlugBody {
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    slug: String,
}

/// The answer to `POST /api/auth/organization/check-slug`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SlugStatus {
    /// Always `true`: a taken slug is a 400.
    status: bool,
}

/// Whether a slug is free: `{"status": true}`, or 400
/// `ORGANIZATION_SLUG_ALREADY_TAKEN` as Better Auth answers.
#[utoipa::path(post, path = "/api/auth/organization/check-slug", tag = "organization", request_body = CheckSlugBody,
    responses((status = 200, body = SlugStatus), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn check_slug(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<CheckSlugBody>,
) -> Result<Json<SlugStatus>, ApiError> {
    state.app.check_slug(&actor, &body.slug).await?;
    Ok(Json(SlugStatus { status: true }))
}

/// Largest `limit` list-members accepts.
const MAX_MEMBERS_PAGE: i64 = 1000;

/// The query of `GET /api/auth/organization/list-members`: paging, sorting and filtering.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ListMembersQuery {
    /// 1 to 1000; defaults to the membership limit (100), as Better Auth.
    limit: Option<i64>,
    /// Members to skip; 0 by default.
    offset: Option<i64>,
    /// createdAt (default), role, userId or id.
    sort_by: Option<String>,
    /// asc (default) or desc.
    sort_direction: Option<String>,
    /// role or userId.
    filter_field: Option<String>,
    /// The value (for `in` and `not_in`, comma-separated values).
    filter_value: Option<String>,
    /// eq (default), ne, in or not_in.
    filter_operator: Option<String>,
    /// Defaults to the session's active organization.
    #[param(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

impl ListMembersQuery {
    fn parse(&self, default_limit: i64) -> Result<MembersQuery, ApiError> {
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=MAX_MEMBERS_PAGE).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {MAX_MEMBERS_PAGE}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::invalid("offset", "must not be negative"));
        }
        let sort = self
            .sort_by
            .as_deref()
            .map(MemberSort::parse)
            .transpose()?
            .unwrap_or_default();
        let descending = match self.sort_direction.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::invalid("sortDirection", "must be asc or desc")),
        };
        let filter = match &self.filter_field {
            None => None,
            Some(field) => {
                let field = MemberFilterField::parse(field)?;
                let value = self.filter_value.as_deref().ok_or_else(|| {
                    ApiError::invalid("filterValue", "is required with filterField")
                })?;
                // PostgreSQL refuses NUL in text: say so here, not with a 500.
                if value.chars().any(char::is_control) {
                    return Err(ApiError::invalid(
                        "filterValue",
                        "must not contain control characters",
                    ));
                }
                let (negate, several) = match self.filter_operator.as_deref() {
                    None | Some("eq") => (false, false),
                    Some("ne") => (true, false),
                    Some("in") => (false, true),
                    Some("not_in") => (true, true),
                    Some(_) => {
                        return Err(ApiError::invalid(
                            "filterOperator",
                            "must be eq, ne, in or not_in",
                        ));
                    }
                };
                let values = if several {
                    value.split(',').map(str::to_owned).collect()
                } else {
                    vec![value.to_owned()]
                };
                Some(MemberFilter {
                    field,
                    values,
                    negate,
                })
            }
        };
        Ok(MembersQuery {
            limit,
            offset,
            sort,
            descending,
            filter,
        })
    }
}

/// A page of the organization's members and how many there are in all
/// (`{members, total}`), for any member.
#[utoipa::path(get, path = "/api/auth/organization/list-members", tag = "organization",
    params(ListMembersQuery),
    responses((status = 200, body = MemberPage), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<ListMembersQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let default_limit = i64::from(state.app.settings().membership_limit).clamp(1, MAX_MEMBERS_PAGE);
    let parsed = query.parse(default_limit)?;
    let actor = scoped(&state, actor, query.organization_id.as_deref()).await?;
    Ok(Json(state.app.list_members_page(&actor, &parsed).await?))
}

/// The caller's own membership of the session's active organization (or,
/// without one, the organization they act in by default).
#[utoipa::path(get, path = "/api/auth/organization/get-active-member", tag = "organization",
    responses((status = 200, body = Member), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_active_member(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Member>, ApiError> {
    let actor = scoped(&state, actor, None).await?;
    Ok(Json(state.app.active_member(&actor).await?))
}

/// The body of `POST /api/auth/organization/has-permission`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HasPermissionBody {
    /// Resource to actions, e.g. `{"organization": ["update"]}`.
    permissions: Option<BTreeMap<String, Vec<String>>>,
    /// The same, under its older name (deprecated in Better Auth).
    permission: Option<BTreeMap<String, Vec<String>>>,
    #[schema(value_type = Option<String>, format = Uuid)]
    organization_id: Option<String>,
}

/// The answer to `POST /api/auth/organization/has-permission`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PermissionAnswer {
    /// Always `null`.
    #[schema(value_type = Option<String>)]
    error: Option<String>,
    /// Whether the caller's role holds every permission asked for.
    success: bool,
}

/// Whether the caller's role in the organization holds every permission
/// asked for, under the organization plugin's default roles (owner: all;
/// admin: all but `organization: delete`; member: `ac: read`).
#[utoipa::path(post, path = "/api/auth/organization/has-permission", tag = "organization",
    request_body = HasPermissionBody,
    responses((status = 200, body = PermissionAnswer), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn has_permission(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<HasPermissionBody>,
) -> Result<Json<PermissionAnswer>, ApiError> {
    let permissions = match (body.permissions, body.permission) {
        (Some(p), None) | (None, Some(p)) => p,
        _ => {
            return Err(ApiError::invalid(
                "permissions",
                "give exactly one of permissions or permission",
            ));
        }
    };
    let actor = scoped(&state, actor, body.organization_id.as_deref()).await?;
    Ok(Json(PermissionAnswer {
        error: None,
        success: state.app.has_permissions(&actor, &permissions),
    }))
}

/// The organization's invitations, newest first (owners and admins; a member
/// gets 403 `YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS`). Only owners see those
/// that grant ownership.
#[utoipa::path(get, path = "/api/auth/organization/list-invitations", tag = "organization",
    params(OrganizationQuery),
    responses((status = 200, body = Vec<Invitation>), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list_invitations(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<OrganizationQuery>,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    let actor = scoped(&state, actor, query.organization_id.as_deref()).await?;
    Ok(Json(state.app.list_invitations(&actor).await?))
}

/// The query of `GET /api/auth/organization/list-user-invitations`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct UserInvitationsQuery {
    /// Not accepted from clients (Better Auth takes it only from its own server).
    email: Option<String>,
}

/// The caller's pending, unexpired invitations across organizations, with
/// each organization's name. Needs a verified email (403
/// `EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`).
#[utoipa::path(get, path = "/api/auth/organization/list-user-invitations", tag = "organization",
    params(UserInvitationsQuery),
    responses((status = 200, body = Vec<UserInvitation>), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn list_user_invitations(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<UserInvitationsQuery>,
) -> Result<Json<Vec<UserInvitation>>, ApiError> {
    if query.email.is_some() {
        return Err(ApiError::invalid(
            "email",
            "cannot be passed by a client: the signed-in user's own email is used",
        ));
    }
    Ok(Json(state.app.list_user_invitations(&actor).await?))
}

/// The query of `GET /api/auth/organization/get-invitation`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct InvitationQuery {
    /// The invitation's id.
    #[param(value_type = String, format = Uuid)]
    id: Option<String>,
}

/// An invitation addressed to the caller, with the organization's name and
/// slug and the inviter's email (Better Auth's invitee view). Someone
/// else's is a 404 like a missing one; a used, withdrawn or expired one is a
/// 400 `INVITATION_NOT_PENDING`; an unverified caller gets 403
/// `EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`.
#[utoipa::path(get, path = "/api/auth/organization/get-invitation", tag = "organization",
    params(InvitationQuery),
    responses((status = 200, body = InvitationView), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_invitation(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<InvitationQuery>,
) -> Result<Json<InvitationView>, ApiError> {
    let invitation = InvitationId::parse(required("id", query.id.as_deref())?)
        .map_err(|e| ApiError::invalid("id", e.reason))?;
    Ok(Json(state.app.invitation_view(&actor, invitation).await?))
}

/// The answer to `POST /api/auth/organization/reject-invitation`: the invitation, and `member: null`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RejectResponse {
    invitation: Invitation,
    /// Always `null`.
    #[schema(value_type = Option<Object>)]
    member: Option<Member>,
}

/// Reject an invitation addressed to the caller (the same checks as
/// accepting it). Returns `{invitation, member: null}`, as Better Auth.
#[utoipa::path(post, path = "/api/auth/organization/reject-invitation", tag = "organization", request_body = AcceptBody,
    responses((status = 200, body = RejectResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn reject_invitation(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<RejectResponse>, ApiError> {
    let invitation = InvitationId::parse(&body.invitation_id)?;
    let invitation = state.app.reject_invitation(&actor, invitation).await?;
    Ok(Json(RejectResponse {
        invitation,
        member: None,
    }))
}

/// Withdraw a pending invitation (owners and admins of its organization; a
/// member gets 403 `YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION`, anyone
/// outside the organization a 404). Returns the invitation, now `canceled`.
#[utoipa::path(post, path = "/api/auth/organization/cancel-invitation", tag = "organization", request_body = AcceptBody,
    responses((status = 200, body = Invitation), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn cancel_invitation(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<Invitation>, ApiError> {
    let invitation = InvitationId::parse(&body.invitation_id)?;
    Ok(Json(state.app.cancel_invitation(&actor, invitation).await?))
}
