//! AI usage: recording model calls and reporting tokens and cost.

use chrono::{DateTime, Utc};
use tenantry_db::usage::{self, NewUsage, UsageEvent, UsageReport};
use tenantry_db::{Membership, with_tenant_context};

use crate::{Actor, App, AppError, Scope};

impl App {
    /// Record one model call in the actor's organization.
    pub async fn record_usage(
        &self,
        actor: &Actor<Membership>,
        new: NewUsage<'_>,
    ) -> Result<UsageEvent, AppError> {
        actor.require(Scope::Write)?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            usage::record_usage(tx, new).await
        })
        .await?)
    }

    /// Tokens and cost per model and per day over `[from, to)`.
    pub async fn usage_report(
        &self,
        actor: &Actor<Membership>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<UsageReport, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            usage::usage_report(tx, from, to).await
        })
        .await?)
    }
}
