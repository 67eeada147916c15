//! The help desk's HTTP routes: `/api/tickets`, in the caller's
//! organization.
//!
//! Handlers take tenantry's extractors, so identity (a session cookie, a
//! session bearer or a PAT), the organization (`X-Organization-Id`, else
//! the active or default one, checked against membership) and malformed
//! input are handled exactly as on tenantry's own routes, and every error
//! is tenantry's JSON error body.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenantry_api::error::ErrorBody;
use tenantry_api::extract::{ApiJson, Scoped};
use tenantry_api::params::{ApiQuery, PathId};
use tenantry_api::{ApiError, ApiExtension, AppState};
use utoipa::OpenApi;

use crate::tickets::{self, Comment, Status, Ticket, TicketId};

/// The routes and their OpenAPI paths, for [`crate::extension`].
pub fn api() -> ApiExtension {
    ApiExtension {
        routes: routes(),
        openapi: HelpdeskApi::openapi(),
    }
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tickets", get(list).post(create))
        .route("/api/tickets/{id}", get(show).patch(update))
        .route(
            "/api/tickets/{id}/comments",
            get(list_comments).post(add_comment),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, update, list_comments, add_comment),
    components(schemas(Ticket, Comment, Status)),
    tags((name = "tickets", description = "The help desk's tickets and comments"))
)]
struct HelpdeskApi;

/// Query of `GET /api/tickets`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Only tickets in this status.
    status: Option<Status>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The organization's tickets, newest first.
#[utoipa::path(get, path = "/api/tickets", tag = "tickets", params(TicketQuery),
    responses((status = 200, body = Vec<Ticket>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
    Ok(Json(
        tickets::list_tickets(&state.app, &actor, query.status, query.limit).await?,
    ))
}

/// Body of `POST /api/tickets`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    subject: String,
    /// 1 to 10,000 characters.
    #[schema(min_length = 1, max_length = 10000)]
    body: String,
}

/// Open a ticket.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", request_body = NewTicket,
    responses((status = 201, body = Ticket)))]
async fn create(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    ApiJson(body): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let ticket = tickets::create_ticket(&state.app, &actor, &body.subject, &body.body).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// One ticket.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses((status = 200, body = Ticket)))]
async fn show(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<TicketId>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(tickets::get_ticket(&state.app, &actor, id).await?))
}

/// Body of `PATCH /api/tickets/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    /// The new status.
    status: Status,
}

/// Move a ticket to another status.
#[utoipa::path(patch, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    request_body = TicketUpdate, responses((status = 200, body = Ticket)))]
async fn update(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<TicketId>,
    ApiJson(body): ApiJson<TicketUpdate>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        tickets::set_status(&state.app, &actor, id, body.status).await?,
    ))
}

/// The comments on a ticket, oldest first.
#[utoipa::path(get, path = "/api/tickets/{id}/comments", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses((status = 200, body = Vec<Comment>)))]
async fn list_comments(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<TicketId>,
) -> Result<Json<Vec<Comment>>, ApiError> {
    Ok(Json(tickets::list_comments(&state.app, &actor, id).await?))
}

/// Body of `POST /api/tickets/{id}/comments`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 10,000 characters.
    #[schema(min_length = 1, max_length = 10000)]
    body: String,
}

/// Comment on a ticket.
#[utoipa::path(post, path = "/api/tickets/{id}/comments", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    request_body = NewComment, responses((status = 201, body = Comment)))]
async fn add_comment(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    PathId(id): PathId<TicketId>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let comment = tickets::add_comment(&state.app, &actor, id, &body.body).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}
