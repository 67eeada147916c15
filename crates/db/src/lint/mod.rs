//! `tenantry audit`: lints over the live catalog that prove the tenancy
//! invariants of DESIGN.md hold in the database itself, not only in the
//! migrations that were meant to set them up.
//!
//! One read of `pg_catalog` (see `catalog.rs`) feeds pure rules in three
//! categories:
//!
//! * [`Category::Security`] (level [`Level::Error`]): RLS enabled and forced,
//!   policies for `authenticated` that pin `organization_id` to the current
//!   tenant and cannot fail open, keys that include the tenant, views and
//!   functions that cannot step around RLS, a safe application login, and no
//!   privileges on the secrets tables. `tenantry serve` refuses to start on any
//!   of these (DESIGN.md invariant 9, [`crate::check_safe_to_serve`]).
//! * [`Category::Performance`] (warnings): the initPlan form of the tenant
//!   call, an index leading with `organization_id`, no overlapping permissive
//!   policies.
//! * [`Category::Citus`] (warnings): what distributing tenant tables by
//!   `organization_id` would need (`docs/scale-out.md`).
//!
//! Every lint has a stable name ([`LINTS`]); `docs/audit.md` describes each
//! with an example and its fix.
//!
//! ```no_run
//! # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
//! use tenantry_db::lint::{self, Level, LintConfig};
//! let findings = lint::audit(&db, &LintConfig::default()).await?;
//! for finding in &findings {
//!     println!("{finding}");
//! }
//! assert!(findings.iter().all(|f| f.level != Level::Error));
//! # Ok(()) }
//! ```

mod catalog;
mod citus;
mod expr;
mod performance;
mod security;

use std::fmt;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;

/// How bad a finding is. Errors fail `tenantry audit` (exit status 1) and
/// stop `tenantry serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Tenant isolation is broken or can be bypassed.
    Error,
    /// Isolation holds, but costs more than it should or blocks scale-out.
    Warning,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
        })
    }
}

/// What a lint protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Tenant isolation (DESIGN.md invariants 1, 2, 3, 7).
    Security,
    /// The cost of RLS (DESIGN.md "Performance stance").
    Performance,
    /// Readiness to distribute tenant tables with Citus (DESIGN.md "Scale-out").
    Citus,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Security => "security",
            Category::Performance => "performance",
            Category::Citus => "citus",
        })
    }
}

/// One lint: its stable name, level, category and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// Stable, snake_case; CI and `docs/audit.md` refer to it.
    pub name: &'static str,
    /// Level of every finding it reports.
    pub level: Level,
    /// Category of every finding it reports.
    pub category: Category,
    /// One line: what it checks.
    pub summary: &'static str,
}

macro_rules! lints {
    ($($constant:ident: $name:literal, $level:ident, $category:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $constant: Lint = Lint {
                name: $name,
                level: Level::$level,
                category: Category::$category,
                summary: $summary,
            };
        )*
        /// Every lint, in the order `docs/audit.md` lists them.
        pub const LINTS: &[Lint] = &[$($constant),*];
    };
}

lints! {
    RLS_DISABLED: "rls_disabled", Error, Security,
        "A tenant table does not have row-level security enabled.";
    RLS_NOT_FORCED: "rls_not_forced", Error, Security,
        "A tenant table has RLS enabled but not forced, so its owner bypasses it.";
    NO_AUTHENTICATED_POLICY: "no_authenticated_policy", Error, Security,
        "A tenant table has policies, but no permissive one for `authenticated`.";
    POLICY_MISSING_WITH_CHECK: "policy_missing_with_check", Error, Security,
        "A permissive INSERT, UPDATE or ALL policy on a tenant table has no WITH CHECK.";
    POLICY_NOT_PINNED_TO_TENANT: "policy_not_pinned_to_tenant", Error, Security,
        "A permissive policy on a tenant table does not compare organization_id with the current tenant.";
    POLICY_TO_PUBLIC: "policy_to_public", Error, Security,
        "A policy on a tenant table applies to PUBLIC (every role) instead of `authenticated`.";
    POLICY_FAILS_OPEN: "policy_fails_open", Error, Security,
        "A policy mentions the tenant but has a branch that passes when no tenant is set.";
    UNLISTED_NON_TENANT_TABLE: "unlisted_non_tenant_table", Error, Security,
        "A table without organization_id is not on the non-tenant allow-list.";
    RLS_ENABLED_WITHOUT_POLICY: "rls_enabled_without_policy", Error, Security,
        "RLS is enabled but no permissive policy exists: every query silently sees nothing.";
    POLICIES_ON_RLS_DISABLED_TABLE: "policies_on_rls_disabled_table", Error, Security,
        "A table has policies but RLS is disabled, so they are ignored.";
    UNIQUE_WITHOUT_TENANT: "unique_without_tenant", Error, Security,
        "A primary key, unique constraint or unique index on a tenant table leaves out organization_id.";
    FOREIGN_KEY_WITHOUT_TENANT: "foreign_key_without_tenant", Error, Security,
        "A foreign key between tenant tables does not match organization_id to organization_id.";
    VIEW_WITHOUT_SECURITY_INVOKER: "view_without_security_invoker", Error, Security,
        "A view reading a tenant table runs with its owner's rights (no security_invoker).";
    SECURITY_DEFINER_READS_TENANT_TABLE: "security_definer_reads_tenant_table", Error, Security,
        "A SECURITY DEFINER function that `authenticated` may execute reads a tenant table.";
    FUNCTION_WITHOUT_SEARCH_PATH: "function_without_search_path", Error, Security,
        "A function has no fixed search_path.";
    APP_ROLE_MISSING: "app_role_missing", Error, Security,
        "The configured application login role does not exist, so it cannot be checked.";
    APP_ROLE_SUPERUSER: "app_role_superuser", Error, Security,
        "The application login role is a superuser.";
    APP_ROLE_BYPASSRLS: "app_role_bypassrls", Error, Security,
        "The application login role has BYPASSRLS.";
    APP_ROLE_OWNS_TENANT_TABLE: "app_role_owns_tenant_table", Error, Security,
        "The application login role owns a tenant table.";
    APP_ROLE_INHERITS: "app_role_inherits", Error, Security,
        "The application login role has another role's privileges without SET ROLE.";
    SECRETS_TABLE_PRIVILEGE: "secrets_table_privilege", Error, Security,
        "`authenticated` or PUBLIC holds a privilege on a secrets table.";
    TEMP_TABLES_ALLOWED: "temp_tables_allowed", Error, Security,
        "A pooled login or `authenticated` may create temporary tables, which outlive a transaction on a pooled connection.";
    POLICY_PER_ROW_TENANT_CALL: "policy_per_row_tenant_call", Warning, Performance,
        "A policy calls the tenant function or current_setting per row, not as a (select ...) initPlan.";
    NO_TENANT_LEADING_INDEX: "no_tenant_leading_index", Warning, Performance,
        "A tenant table has no index whose first column is organization_id.";
    MULTIPLE_PERMISSIVE_POLICIES: "multiple_permissive_policies", Warning, Performance,
        "Several permissive policies apply to the same role and command; each one is evaluated.";
    CITUS_PRIMARY_KEY_WITHOUT_TENANT: "citus_primary_key_without_tenant", Warning, Citus,
        "A tenant table has no primary key, or one without organization_id: it cannot be distributed by tenant.";
    CITUS_FOREIGN_KEY_TO_NON_REFERENCE_TABLE: "citus_foreign_key_to_non_reference_table", Warning, Citus,
        "A tenant table references a non-tenant table that would not be a Citus reference table.";
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The lint's stable name, e.g. `rls_not_forced`.
    pub lint: &'static str,
    /// Error or warning.
    pub level: Level,
    /// Security, performance or citus.
    pub category: Category,
    /// What is wrong, schema-qualified: `public.project`,
    /// `project_tenant_isolation on public.project`, `app.current_tenant()`,
    /// or a role name.
    pub object: String,
    /// One line: what is wrong and why it matters.
    pub message: String,
    /// SQL that fixes it, where one statement can.
    pub fix: Option<String>,
}

impl Finding {
    fn new(lint: &Lint, object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            lint: lint.name,
            level: lint.level,
            category: lint.category,
            object: object.into(),
            message: message.into(),
            fix: None,
        }
    }

    fn fix(mut self, sql: impl Into<String>) -> Self {
        self.fix = Some(sql.into());
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.level, self.lint, self.object, self.message
        )
    }
}

/// What the lints take as given about the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LintConfig {
    /// The application's pooled login role (DESIGN.md invariant 3).
    pub app_role: String,
    /// Tables that may lack `organization_id` (DESIGN.md invariant 7, plus
    /// migration bookkeeping). Unqualified names.
    pub non_tenant_tables: Vec<String>,
    /// Non-tenant tables that tenant tables may reference and that would
    /// become Citus reference tables (`docs/scale-out.md`).
    pub reference_tables: Vec<String>,
    /// Non-tenant tables `authenticated` and PUBLIC must hold no privilege on.
    pub secret_tables: Vec<String>,
    /// The schemas audited. `app` holds the tenant functions.
    pub schemas: Vec<String>,
    /// SECURITY INVOKER SQL functions deliberately left without a fixed
    /// `search_path`, because PostgreSQL inlines only functions without a
    /// `SET` clause (a +45% tenant point read for `app.current_tenant()`,
    /// see BENCHMARKS.md). Their bodies must qualify every name; pg_catalog,
    /// searched first, supplies the rest. Signatures as `schema.name(args)`.
    pub inlined_functions: Vec<String>,
}

impl Default for LintConfig {
    fn default() -> Self {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        LintConfig {
            app_role: crate::setup::APP_ROLE.to_owned(),
            non_tenant_tables: names(&[
                "user",
                "session",
                "account",
                "verification",
                "organization",
                "ai_model",
                "ai_model_pricing",
                "personal_access_token",
                crate::migrate::MIGRATION_TABLE,
            ]),
            reference_tables: names(&["organization", "user", "ai_model", "ai_model_pricing"]),
            secret_tables: names(&[
                "personal_access_token",
                "session",
                "account",
                "verification",
            ]),
            schemas: names(&["public", "app"]),
            inlined_functions: names(&["app.current_tenant()", "app.current_user_id()"]),
        }
    }
}

/// Run every lint over the catalog as `client` sees it. Findings come back
/// sorted: errors first, then by category, lint and object.
///
/// Any role can run it (the catalogs read are world-readable); the result
/// does not depend on who runs it.
pub async fn run_lints<C: GenericClient + Sync>(
    client: &C,
    config: &LintConfig,
) -> Result<Vec<Finding>> {
    let snapshot = catalog::snapshot(client, config).await?;
    let mut findings = Vec::new();
    security::check(&snapshot, config, &mut findings);
    performance::check(&snapshot, &mut findings);
    citus::check(&snapshot, config, &mut findings);
    findings.sort_by(|a, b| {
        (a.level, a.category, a.lint, &a.object).cmp(&(b.level, b.category, b.lint, &b.object))
    });
    Ok(findings)
}

/// `tenantry audit`: run every lint through the owner connection (reason
/// `Migration`: auditing the schema is the migrator's business).
#[tracing::instrument(skip_all)]
pub async fn audit(db: &Database, config: &LintConfig) -> Result<Vec<Finding>> {
    let conn = client::bare(db, BypassReason::Migration).await?;
    let client: &tokio_postgres::Client = conn.connection();
    run_lints(client, config).await
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Error)
}

/// The findings as a JSON array, for CI.
pub fn to_json(findings: &[Finding]) -> String {
    // Serializing plain strings and enums cannot fail.
    serde_json::to_string_pretty(findings).unwrap_or_else(|_| "[]".to_owned())
}

/// The tenant check a policy on a tenant table should have.
fn pinned_expression() -> String {
    format!(
        "{} = (select {}())",
        expr::TENANT_COLUMN,
        expr::TENANT_FUNCTION
    )
}

/// `create policy` giving `authenticated` the tenant's rows of `table`.
fn tenant_policy_sql(table: &catalog::Table) -> String {
    let pinned = pinned_expression();
    format!(
        "create policy {} on {} for all to {} using ({pinned}) with check ({pinned});",
        quote_ident(&format!("{}_tenant_isolation", table.name)),
        table.qualified,
        catalog::TENANT_ROLE,
    )
}

/// Quote an identifier the way `quote_ident` would for names we build.
fn quote_ident(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `name on schema.table`: how policies, constraints and indexes are named.
fn on_table(name: &str, table: &catalog::Table) -> String {
    format!("{name} on {}", table.qualified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_names_are_unique_snake_case() {
        let mut names: Vec<&str> = LINTS.iter().map(|l| l.name).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LINTS.len());
    }

    #[test]
    fn security_lints_are_errors_and_the_others_warnings() {
        for lint in LINTS {
            assert_eq!(
                lint.level == Level::Error,
                lint.category == Category::Security,
                "{}",
                lint.name
            );
        }
    }

    #[test]
    fn findings_serialize_for_ci() {
        let finding = Finding::new(&RLS_NOT_FORCED, "public.t", "not forced")
            .fix("alter table public.t force row level security;");
        let json: serde_json::Value = serde_json::from_str(&to_json(&[finding])).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "lint": "rls_not_forced",
                "level": "error",
                "category": "security",
                "object": "public.t",
                "message": "not forced",
                "fix": "alter table public.t force row level security;"
            }])
        );
    }

    #[test]
    fn built_names_are_quoted_when_needed() {
        assert_eq!(
            quote_ident("member_tenant_isolation"),
            "member_tenant_isolation"
        );
        assert_eq!(quote_ident("Member"), "\"Member\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
