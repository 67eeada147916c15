//! `/api/members` and `/api/audit-log`: reading the organization's people and history.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenantry_app::{AuditEntry, Member, Page};

use crate::error::ApiError;
use crate::extract::Scoped;
use crate::params::ApiQuery;
use crate::state::AppState;

/// The active organization's members and audit log: `GET /api/members`, `GET /api/audit-log`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/members", get(members))
        .route("/api/audit-log", get(audit_log))
}

/// The organization's members.
#[utoipa::path(get, path = "/api/members", tag = "members",
    responses((status = 200, body = Vec<Member>), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn members(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(state.app.list_members(&actor).await?))
}

/// The query of `GET /api/audit-log`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The organization's audit log, newest first. Owners and admins only
/// ([`MemberRole::can_read_audit_log`](tenantry_app::MemberRole::can_read_audit_log)):
/// its entries name invitees, invitation ids and role changes, which the
/// rest of the API shows only to those who manage members; a plain member
/// gets 403.
#[utoipa::path(get, path = "/api/audit-log", tag = "members", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    Scoped(actor): Scoped,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = state
        .app
        .audit_log(&actor, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}
