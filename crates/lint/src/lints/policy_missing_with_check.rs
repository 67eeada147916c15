use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "policy_missing_with_check",
    level: Level::Error,
    category: Category::Security,
    summary: "A permissive INSERT, UPDATE or ALL policy on a tenant table has no WITH CHECK.",
    doc: r#"
A permissive `ALL`, `INSERT` or `UPDATE` policy on a tenant table without
`WITH CHECK`. For `ALL` and `UPDATE`, PostgreSQL then checks new rows against
`USING`, implicitly: correct today, silently changed by the next edit of
`USING`. An `INSERT` policy without it admits no row at all, which hides what
the policy was meant to allow. docs/architecture.md invariant 1 asks for both clauses,
stated.

```sql
create policy note_all on note for all to authenticated
  using (organization_id = (select app.current_tenant()));
```

Fix: `alter policy note_all on public.note with check (organization_id = (select app.current_tenant()));`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for (table, policy) in permissive_tenant_policies(s) {
        let (_, writes) = reads_writes(policy);
        if !writes || policy.with_check.is_some() {
            continue;
        }
        let message = if policy.command == "a" {
            "INSERT policy without WITH CHECK: it admits no row, and says nothing about which organization_id a new row may carry"
        } else {
            "no WITH CHECK: new rows are checked only through USING, implicitly; state the tenant check for writes explicitly"
        };
        out.push(
            Finding::new(&LINT, on_table(&policy.name, table), message).fix(format!(
                "{} with check ({});",
                alter_policy(table, policy),
                pinned_expression()
            )),
        );
    }
}
