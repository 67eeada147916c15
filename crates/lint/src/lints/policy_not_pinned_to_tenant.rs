use super::prelude::*;
use crate::expr::{TENANT_FUNCTION, Verdict};

pub(crate) const LINT: Lint = Lint {
    name: "policy_not_pinned_to_tenant",
    level: Level::Error,
    category: Category::Security,
    summary: "A permissive policy on a tenant table does not compare organization_id with the current tenant.",
    doc: r#"
A permissive policy whose `USING` or `WITH CHECK` never compares
`organization_id` with the current tenant: rows of other tenants pass.
"Pinned" means a top-level `AND` branch (or every `OR` branch) is
`organization_id = <tenant>` in either order, where `<tenant>` is
`app.current_tenant()`, with or without `(select ...)`, or the `app.tenant_id`
setting (through `nullif` and casts). Restrictive policies only narrow and are
not checked.

```sql
create policy note_read on note for select to authenticated using (true);
create policy note_mine on note for select to authenticated
  using (author_id = (select app.current_user_id()));     -- a user, not a tenant
```

Fix: `alter policy note_read on public.note using (organization_id = (select app.current_tenant()));`
(keep extra conditions `AND`-ed to the tenant comparison).
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    report_policy_clauses(
        &LINT,
        s,
        Verdict::NotPinned,
        |clauses| {
            format!(
                "{clauses} does not compare organization_id with (select {TENANT_FUNCTION}()): rows of other tenants pass"
            )
        },
        out,
    );
}
