//! The registry: every lint, one module each. A lint's module holds its
//! name, level, category, summary, documentation and check; adding one means
//! adding its file here and to [`LINTS`].

pub(crate) mod app_role_bypassrls;
pub(crate) mod app_role_inherits;
pub(crate) mod app_role_missing;
pub(crate) mod app_role_owns_tenant_table;
pub(crate) mod app_role_superuser;
pub(crate) mod citus_foreign_key_to_non_reference_table;
pub(crate) mod citus_primary_key_without_tenant;
pub(crate) mod foreign_key_without_tenant;
pub(crate) mod function_without_search_path;
pub(crate) mod multiple_permissive_policies;
pub(crate) mod no_authenticated_policy;
pub(crate) mod no_tenant_leading_index;
pub(crate) mod policies_on_rls_disabled_table;
pub(crate) mod policy_fails_open;
pub(crate) mod policy_missing_with_check;
pub(crate) mod policy_not_pinned_to_tenant;
pub(crate) mod policy_per_row_tenant_call;
pub(crate) mod policy_to_public;
pub(crate) mod reference_table_not_read_only;
pub(crate) mod rls_disabled;
pub(crate) mod rls_enabled_without_policy;
pub(crate) mod rls_not_forced;
pub(crate) mod secrets_table_privilege;
pub(crate) mod security_definer_reads_tenant_table;
pub(crate) mod table_outside_audited_schemas;
pub(crate) mod temp_tables_allowed;
pub(crate) mod unique_without_tenant;
pub(crate) mod unlisted_non_tenant_table;
pub(crate) mod view_without_security_invoker;

use crate::Lint;

/// Every lint, in the order `docs/audit.md` lists them.
pub const LINTS: &[Lint] = &[
    rls_disabled::LINT,
    rls_not_forced::LINT,
    no_authenticated_policy::LINT,
    policy_missing_with_check::LINT,
    policy_not_pinned_to_tenant::LINT,
    policy_to_public::LINT,
    policy_fails_open::LINT,
    unlisted_non_tenant_table::LINT,
    table_outside_audited_schemas::LINT,
    reference_table_not_read_only::LINT,
    rls_enabled_without_policy::LINT,
    policies_on_rls_disabled_table::LINT,
    unique_without_tenant::LINT,
    foreign_key_without_tenant::LINT,
    view_without_security_invoker::LINT,
    security_definer_reads_tenant_table::LINT,
    function_without_search_path::LINT,
    app_role_missing::LINT,
    app_role_superuser::LINT,
    app_role_bypassrls::LINT,
    app_role_owns_tenant_table::LINT,
    app_role_inherits::LINT,
    secrets_table_privilege::LINT,
    temp_tables_allowed::LINT,
    policy_per_row_tenant_call::LINT,
    no_tenant_leading_index::LINT,
    multiple_permissive_policies::LINT,
    citus_primary_key_without_tenant::LINT,
    citus_foreign_key_to_non_reference_table::LINT,
];

/// What the lint modules share.
mod prelude {
    pub(crate) use tenantry_db::catalog::{Policy, Snapshot, TENANT_ROLE, Table};

    pub(crate) use crate::fixes::{
        alter_policy, clauses_with, on_table, pin_policy_sql, pinned_expression, policies_on,
        quote_ident, reads_writes, tenant_policy_sql,
    };
    pub(crate) use crate::{Category, Finding, Level, Lint, LintConfig};

    /// Every permissive policy on a tenant table, with its table, in catalog
    /// order. Restrictive policies only narrow what permissive ones allow:
    /// they cannot open anything, so only permissive ones must pin the tenant.
    pub(crate) fn permissive_tenant_policies(s: &Snapshot) -> Vec<(&Table, &Policy)> {
        s.tables
            .iter()
            .filter(|t| t.is_tenant())
            .flat_map(|table| {
                policies_on(&s.policies, table)
                    .into_iter()
                    .filter(|p| p.permissive)
                    .map(move |p| (table, p))
            })
            .collect()
    }

    /// One finding of `lint` per permissive tenant policy whose clauses get
    /// `verdict`, fixed by pinning the policy to the tenant; `describe` words
    /// the message from the offending clauses ("USING and WITH CHECK").
    pub(crate) fn report_policy_clauses(
        lint: &'static Lint,
        s: &Snapshot,
        verdict: crate::expr::Verdict,
        describe: impl Fn(&str) -> String,
        out: &mut Vec<Finding>,
    ) {
        for (table, policy) in permissive_tenant_policies(s) {
            let clauses = clauses_with(policy, verdict);
            if clauses.is_empty() {
                continue;
            }
            out.push(
                Finding::new(
                    lint,
                    on_table(&policy.name, table),
                    describe(&clauses.join(" and ")),
                )
                .fix(pin_policy_sql(table, policy)),
            );
        }
    }
}
