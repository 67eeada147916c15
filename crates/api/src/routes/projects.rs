//! Projects: `/api/projects`, inside the caller's organization.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenantry_db::page::{Page, page_size};
use tenantry_db::projects::{self, Project};
use tenantry_db::{autocommit, with_tenant_context};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{ApiJson, TenantScope};
use crate::params::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route("/api/projects/{id}", get(show).patch(update).delete(remove))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The organization's projects, oldest first.
#[utoipa::path(get, path = "/api/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = Page<Project>), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Project>>, ApiError> {
    let limit = page_size(query.limit)?;
    let tenant = autocommit(&state.db, scope.membership.tenant());
    let page = projects::list_projects(&tenant, limit, query.cursor.as_deref()).await?;
    Ok(Json(page))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(id).map_err(|_| ApiError::invalid("id", "must be a UUID"))
}

/// One project.
#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path, description = "The project's id")),
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Project>, ApiError> {
    let id = parse_id(&id)?;
    let project =
        projects::get_project(&autocommit(&state.db, scope.membership.tenant()), id).await?;
    Ok(Json(project))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// 1 to 200 characters, unique in the organization.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Up to 4000 characters.
    #[schema(max_length = 4000)]
    description: Option<String>,
}

/// Create a project.
#[utoipa::path(post, path = "/api/projects", tag = "projects", request_body = CreateBody,
    responses((status = 201, body = Project), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let project = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        projects::create_project(tx, &body.name, body.description.as_deref()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(project)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// 1 to 200 characters, unique in the organization.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Up to 4000 characters.
    #[schema(max_length = 4000)]
    description: Option<String>,
}

/// Rename a project or change its description.
#[utoipa::path(patch, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path, description = "The project's id")),
    request_body = UpdateBody,
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Project>, ApiError> {
    let id = parse_id(&id)?;
    let project = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        projects::update_project(tx, id, body.name.as_deref(), body.description.as_deref()).await
    })
    .await?;
    Ok(Json(project))
}

/// Delete a project.
#[utoipa::path(delete, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path, description = "The project's id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        projects::delete_project(tx, id).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
