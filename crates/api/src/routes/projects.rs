//! Projects: `/api/projects`, inside the caller's organization.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenantry_app::{Page, Project, ProjectId};

use crate::error::ApiError;
use crate::extract::{ApiJson, Scoped};
use crate::params::{ApiQuery, PathId};
use crate::state::AppState;

/// The active organization's projects: `/api/projects` and `/api/projects/{id}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route("/api/projects/{id}", get(show).patch(update).delete(remove))
}

/// The query of `GET /api/projects`: cursor paging.
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
    Scoped(actor): Scoped,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Project>>, ApiError> {
    let page = state
        .app
        .list_projects(&actor, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

/// One project.
#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path, description = "The project's id")),
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<ProjectId>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(state.app.get_project(&actor, id).await?))
}

/// The body of `POST /api/projects`.
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
    Scoped(actor): Scoped,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let project = state
        .app
        .create_project(&actor, &body.name, body.description.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// The body of `PATCH /api/projects/{id}`: the fields to change.
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
    Scoped(actor): Scoped,
    PathId(id): PathId<ProjectId>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Project>, ApiError> {
    let project = state
        .app
        .update_project(
            &actor,
            id,
            body.name.as_deref(),
            body.description.as_deref(),
        )
        .await?;
    Ok(Json(project))
}

/// Delete a project.
#[utoipa::path(delete, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path, description = "The project's id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<ProjectId>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_project(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
