//! # tenantry-lint: the RLS linter
//!
//! `tenantry audit`, and the safety check `tenantry serve` runs before it
//! serves: lints over the live catalog that prove the tenancy invariants of
//! docs/architecture.md hold in the database itself, not only in the migrations that
//! were meant to set them up.
//!
//! This crate owns the lints and nothing else. It reads the catalog through
//! [`tenantry_db::catalog`], which holds the SQL and takes the connection;
//! every lint is a pure function over that [`Snapshot`]. It must not run SQL
//! of its own, take a bypass connection, or depend on anything above
//! `tenantry-db` (the application layer, HTTP, MCP, the CLI): they depend on
//! it.
//!
//! Each lint is one file under `src/lints/`: its stable name, level,
//! category, one-line summary, check, and documentation (what it flags, why
//! it matters, how to fix it), so adding a lint touches one place.
//! [`LINTS`] lists them, and the per-lint part of `docs/audit.md` is
//! generated from them ([`docs::lint_reference`]; a test fails when the
//! committed file differs). The lints fall into three categories:
//!
//! * [`Category::Security`] (level [`Level::Error`]): RLS enabled and forced,
//!   policies for `authenticated` that pin `organization_id` to the current
//!   tenant and cannot fail open, keys that include the tenant, views and
//!   functions that cannot step around RLS, a safe application login, and no
//!   privileges on the secrets tables. `tenantry serve` refuses to start on any
//!   of these (docs/architecture.md invariant 9, [`check_safe_to_serve`]).
//! * [`Category::Performance`] (warnings): the initPlan form of the tenant
//!   call, an index leading with `organization_id`, no overlapping permissive
//!   policies.
//! * [`Category::Citus`] (warnings): what distributing tenant tables by
//!   `organization_id` would need (`docs/scale-out.md`).
//!
//! ```no_run
//! # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
//! use tenantry_lint::{Level, LintConfig};
//! let findings = tenantry_lint::audit(&db, &LintConfig::default()).await?;
//! for finding in &findings {
//!     println!("{finding}");
//! }
//! assert!(findings.iter().all(|f| f.level != Level::Error));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod docs;
mod expr;
mod fixes;
mod lints;
mod safety;

use std::fmt;

use serde::Serialize;
use tenantry_db::catalog::{self, CatalogScope};
use tenantry_db::{Database, Result};
use tokio_postgres::GenericClient;

pub use lints::LINTS;
pub use safety::check_safe_to_serve;
pub use tenantry_db::catalog::Snapshot;

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
    /// Tenant isolation (docs/architecture.md invariants 1, 2, 3, 7).
    Security,
    /// The cost of RLS (BENCHMARKS.md).
    Performance,
    /// Readiness to distribute tenant tables with Citus (docs/scale-out.md).
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

/// What a lint looks at: the catalog, and what the configuration takes as
/// given about the schema.
type Check = fn(&Snapshot, &LintConfig, &mut Vec<Finding>);

/// One lint: its stable name, level, category, what it checks and how.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Lint {
    /// Stable, snake_case; CI and `docs/audit.md` refer to it.
    pub name: &'static str,
    /// Level of every finding it reports.
    pub level: Level,
    /// Category of every finding it reports.
    pub category: Category,
    /// One line: what it checks.
    pub summary: &'static str,
    /// Markdown for `docs/audit.md`: what it flags, why it matters, an
    /// example and its fix.
    #[serde(skip)]
    pub doc: &'static str,
    #[serde(skip)]
    check: Check,
}

impl Lint {
    /// This lint's findings in `snapshot`, in catalog order.
    pub fn check(&self, snapshot: &Snapshot, config: &LintConfig) -> Vec<Finding> {
        let mut findings = Vec::new();
        (self.check)(snapshot, config, &mut findings);
        findings
    }
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
    /// The application's pooled login role (docs/architecture.md invariant 3).
    pub app_role: String,
    /// Tables that may lack `organization_id` (docs/architecture.md invariant 7, plus
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
            app_role: tenantry_db::setup::APP_ROLE.to_owned(),
            non_tenant_tables: names(&[
                "user",
                "session",
                "account",
                "verification",
                "organization",
                "ai_model",
                "ai_model_pricing",
                "personal_access_token",
                tenantry_db::migrate::MIGRATION_TABLE,
                tenantry_db::migrate::APP_MIGRATION_TABLE,
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

impl LintConfig {
    /// `table` may lack `organization_id`: it is on
    /// [`LintConfig::non_tenant_tables`], or declares itself a reference
    /// table with a reason
    /// ([`REFERENCE_TABLE_MARKER`](tenantry_db::catalog::REFERENCE_TABLE_MARKER)),
    /// as an application's own non-tenant tables do.
    pub fn is_non_tenant_table(&self, table: &catalog::Table) -> bool {
        listed(&self.non_tenant_tables, table) || table.reference_table_reason().is_some()
    }

    /// `table` is reference data tenant tables may reference (and a Citus
    /// reference table): on [`LintConfig::reference_tables`], or marked
    /// with a reason as [`LintConfig::is_non_tenant_table`] describes.
    pub fn is_reference_table(&self, table: &catalog::Table) -> bool {
        listed(&self.reference_tables, table) || table.reference_table_reason().is_some()
    }

    /// What of the catalog the lints need read.
    pub fn scope(&self) -> CatalogScope {
        CatalogScope {
            schemas: self.schemas.clone(),
            app_role: self.app_role.clone(),
            secret_tables: self.secret_tables.clone(),
        }
    }
}

/// `table` is on `list`: by its qualified name (`crm.organization`), or by
/// its bare name when it is in `public`, where tenantry's own tables are.
/// Matching a bare name in any schema would let an application's
/// `crm.organization` (its customers' companies, per tenant) pass as
/// tenantry's `organization`.
fn listed(list: &[String], table: &catalog::Table) -> bool {
    list.iter().any(|entry| {
        *entry == table.qualified || (*entry == table.name && table.schema == "public")
    })
}

/// Run every lint over `snapshot`. Findings come back sorted: errors first,
/// then by category, lint and object.
pub fn check(snapshot: &Snapshot, config: &LintConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for lint in LINTS {
        (lint.check)(snapshot, config, &mut findings);
    }
    findings.sort_by(|a, b| {
        (a.level, a.category, a.lint, &a.object).cmp(&(b.level, b.category, b.lint, &b.object))
    });
    findings
}

/// Run every lint over the catalog as `client` sees it, sorted as by
/// [`check`].
///
/// Any role can run it (the catalogs read are world-readable); the result
/// does not depend on who runs it.
pub async fn run_lints<C: GenericClient + Sync>(
    client: &C,
    config: &LintConfig,
) -> Result<Vec<Finding>> {
    let snapshot = catalog::read(client, &config.scope()).await?;
    Ok(check(&snapshot, config))
}

/// `tenantry audit`: run every lint over the catalog as the schema owner
/// sees it ([`catalog::read_as_owner`]).
///
/// # Examples
///
/// ```no_run
/// use tenantry_lint::{LintConfig, has_errors, to_json};
/// # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
/// let findings = tenantry_lint::audit(&db, &LintConfig::default()).await?;
/// println!("{}", to_json(&findings)); // or each finding's Display, as text
/// if has_errors(&findings) {
///     std::process::exit(1);
/// }
/// # Ok(()) }
/// ```
#[tracing::instrument(skip_all)]
pub async fn audit(db: &Database, config: &LintConfig) -> Result<Vec<Finding>> {
    let snapshot = catalog::read_as_owner(db, &config.scope()).await?;
    Ok(check(&snapshot, config))
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
        let finding = Finding::new(&lints::rls_not_forced::LINT, "public.t", "not forced")
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
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
