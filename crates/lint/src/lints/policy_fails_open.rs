use super::prelude::*;
use crate::expr::Verdict;

pub(crate) const LINT: Lint = Lint {
    name: "policy_fails_open",
    level: Level::Error,
    category: Category::Security,
    summary: "A policy mentions the tenant but has a branch that passes when no tenant is set.",
    doc: r#"
The policy mentions the tenant, yet one branch is true when no tenant is set.
docs/architecture.md invariant 3 wants a connection without tenant context to see nothing;
these see everything, or everything of some kind:

```sql
-- "admin mode" when no tenant is set
using (organization_id = (select app.current_tenant()) or (select app.current_tenant()) is null)
-- no tenant: compares the column with itself
using (organization_id = coalesce((select app.current_tenant()), organization_id))
-- a branch that does not involve the tenant at all
using (organization_id = (select app.current_tenant()) or is_public)
-- rows without a tenant are everyone's
using (organization_id is null or organization_id = (select app.current_tenant()))
```

Fix: `alter policy note_all on public.note using (organization_id = (select app.current_tenant())) with check (organization_id = (select app.current_tenant()));`
Shared rows belong in a non-tenant table, not in an `OR`.
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    report_policy_clauses(
        &LINT,
        s,
        Verdict::FailsOpen,
        |clauses| {
            format!(
                "{clauses} mentions the tenant but has a branch that is true when no tenant is set (IS NULL, COALESCE or an OR that does not pin organization_id)"
            )
        },
        out,
    );
}
