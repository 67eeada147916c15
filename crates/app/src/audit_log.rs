//! The organization's audit log, for owners and admins.

use tenantry_db::audit::{self, AuditEntry};
use tenantry_db::page::{Page, page_size};
use tenantry_db::{Membership, with_tenant_context};

use crate::{Actor, App, AppError};

impl App {
    /// Newest first, `limit` (1 to 100, default 20) at a time. Owners and
    /// admins only ([`tenantry_domain::MemberRole::can_read_audit_log`]): its
    /// entries name invitees, invitation ids and role changes, which the rest
    /// of tenantry shows only to those who manage members.
    pub async fn audit_log(
        &self,
        actor: &Actor<Membership>,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, AppError> {
        if !actor.role().can_read_audit_log() {
            return Err(AppError::forbidden(
                "only owners and admins read the audit log",
            ));
        }
        let limit = page_size(limit)?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            audit::list_audit_log(tx, limit, cursor).await
        })
        .await?)
    }
}
