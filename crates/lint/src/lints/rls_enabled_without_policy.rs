use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "rls_enabled_without_policy",
    level: Level::Error,
    category: Category::Security,
    summary: "RLS is enabled but no permissive policy exists: every query silently sees nothing.",
    doc: r#"
RLS is enabled but there is no permissive policy: every role subject to RLS
silently reads zero rows and cannot write. Nothing errors, so the bug shows up
as "the list is empty". Reported for any table.

```sql
alter table note enable row level security;
alter table note force row level security;
-- forgot the policy
```

Fix (tenant table): `create policy note_tenant_isolation on public.note for all to authenticated using (organization_id = (select app.current_tenant())) with check (organization_id = (select app.current_tenant()));`
For a non-tenant table, add the policies it needs, or disable RLS.
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s.tables.iter().filter(|t| t.rls) {
        if policies_on(&s.policies, table).iter().any(|p| p.permissive) {
            continue;
        }
        let t = &table.qualified;
        out.push(if table.is_tenant() {
            Finding::new(
                &LINT,
                t,
                "RLS is enabled but no permissive policy exists: tenant queries silently see no rows and cannot write",
            )
            .fix(tenant_policy_sql(table))
        } else {
            Finding::new(
                &LINT,
                t,
                "RLS is enabled but no permissive policy exists: every role subject to RLS silently sees no rows; add the policies it needs or disable RLS",
            )
        });
    }
}
