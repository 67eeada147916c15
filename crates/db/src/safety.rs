//! Refuse to serve an unsafe database (DESIGN.md invariant 9).
//!
//! Checked through the tenant pool's own login, as the server will run:
//! that login must be neither superuser nor BYPASSRLS, and every table with
//! an `organization_id` column must have RLS enabled and forced.
//! `tenantry audit` runs the full set of lints; this is the part a server
//! checks before it accepts a single request.

use std::fmt;

use crate::database::Database;
use crate::error::Result;

/// One reason the database is not safe to serve tenants from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetyProblem {
    /// A stable name for the check that failed.
    pub lint: &'static str,
    /// The role or table concerned.
    pub object: String,
}

impl fmt::Display for SafetyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.lint, self.object)
    }
}

/// Every problem found; empty means safe to serve.
pub async fn check_safe_to_serve(db: &Database) -> Result<Vec<SafetyProblem>> {
    let conn = db.app.get().await?;
    let mut problems = Vec::new();
    let role = conn
        .query_one(
            "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
            &[],
        )
        .await?;
    let login: String = role.get(0);
    if role.get::<_, bool>(1) {
        problems.push(SafetyProblem {
            lint: "app_role_is_superuser",
            object: login.clone(),
        });
    }
    if role.get::<_, bool>(2) {
        problems.push(SafetyProblem {
            lint: "app_role_bypasses_rls",
            object: login,
        });
    }
    let tables = conn
        .query(
            "select c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p')
               and n.nspname not in ('pg_catalog', 'information_schema')
               and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                           and a.attname = 'organization_id' and not a.attisdropped)
             order by 1",
            &[],
        )
        .await?;
    for table in tables {
        let name: String = table.get(0);
        if !table.get::<_, bool>(1) {
            problems.push(SafetyProblem {
                lint: "tenant_table_rls_disabled",
                object: name.clone(),
            });
        }
        if !table.get::<_, bool>(2) {
            problems.push(SafetyProblem {
                lint: "tenant_table_rls_not_forced",
                object: name,
            });
        }
    }
    Ok(problems)
}
