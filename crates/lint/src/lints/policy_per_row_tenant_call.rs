use super::prelude::*;
use crate::expr;

pub(crate) const LINT: Lint = Lint {
    name: "policy_per_row_tenant_call",
    level: Level::Warning,
    category: Category::Performance,
    summary: "A policy calls the tenant function or current_setting per row, not as a (select ...) initPlan.",
    doc: r#"
A policy calls `app.current_tenant()` (or any `current_setting(...)`) bare, so
PostgreSQL evaluates it for every row, and cannot use an index on
`organization_id` with it. Wrapped as `(select app.current_tenant())` it runs
once per statement as an initPlan (PostgreSQL prints it as
`( SELECT app.current_tenant() AS current_tenant)`), and the policy costs what
`WHERE organization_id = $1` does (docs/architecture.md invariant 2).

```sql
create policy note_all on note for all to authenticated
  using (organization_id = app.current_tenant())
  with check (organization_id = app.current_tenant());
```

Fix (generated from the policy's own text, every bare call wrapped):
`alter policy note_all on public.note using ((organization_id = (SELECT app.current_tenant()))) with check ((organization_id = (SELECT app.current_tenant())));`

Not reported on a table Citus distributes: Citus refuses subqueries in
policies on distributed tables, so the bare call is the form required there
(`tenantry new tenant-table --engine citus` writes it).
"#,
    check,
};

/// `app.current_tenant()` written bare is a function call per row; wrapped
/// in `(select ...)` Postgres runs it once, as an initPlan, and can use an
/// index on organization_id.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for policy in &s.policies {
        // Citus refuses the (select ...) form on its distributed tables.
        let Some(table) = s.table(policy.table).filter(|t| !t.citus_distributed) else {
            continue;
        };
        let mut clauses = Vec::new();
        let mut fixed = Vec::new();
        for (clause, text) in [
            ("using", policy.using.as_deref()),
            ("with check", policy.with_check.as_deref()),
        ] {
            let Some(text) = text else { continue };
            let calls = expr::per_row_calls(text);
            if calls.is_empty() {
                continue;
            }
            clauses.push(clause.to_ascii_uppercase());
            fixed.push(format!("{clause} ({})", expr::wrap_calls(text, &calls)));
        }
        if clauses.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                &LINT,
                on_table(&policy.name, table),
                format!(
                    "the tenant function or current_setting is called once per row in {}; wrapped as (select ...) it runs once per statement",
                    clauses.join(" and ")
                ),
            )
            .fix(format!(
                "{} {};",
                alter_policy(table, policy),
                fixed.join(" ")
            )),
        );
    }
}
