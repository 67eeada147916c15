//! `/api/members` and `/api/audit-log`: reading the organization's people and history.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenantry_db::audit::{AuditEntry, list_audit_log, require_audit_reader};
use tenantry_db::members::{Member, list_members};
use tenantry_db::page::{Page, page_size};
use tenantry_db::with_tenant_context;

use crate::error::ApiError;
use crate::extract::TenantScope;
use crate::params::ApiQuery;
use crate::state::AppState;

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
    scope: TenantScope,
) -> Result<Json<Vec<Member>>, ApiError> {
    let members = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        list_members(tx).await
    })
    .await?;
    Ok(Json(members))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The organization's audit log, newest first. Owners and admins only
/// ([`MemberRole::can_read_audit_log`](tenantry_db::MemberRole::can_read_audit_log)):
/// its entries name invitees, invitation ids and role changes, which the
/// rest of the API shows only to those who manage members; a plain member
/// gets 403.
#[utoipa::path(get, path = "/api/audit-log", tag = "members", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    require_audit_reader(scope.membership.role())?;
    let limit = page_size(query.limit)?;
    let page = with_tenant_context(&state.db, scope.membership.tenant(), async |tx| {
        list_audit_log(tx, limit, query.cursor.as_deref()).await
    })
    .await?;
    Ok(Json(page))
}
