use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "policy_to_public",
    level: Level::Error,
    category: Category::Security,
    summary: "A policy on a tenant table applies to PUBLIC (every role) instead of `authenticated`.",
    doc: r#"
A policy on a tenant table `TO PUBLIC` (the default when `TO` is left out)
applies to every role, including the login roles and any role created later.
Tenant policies name `authenticated`, the only role tenant work runs as.

```sql
create policy note_all on note using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));    -- no TO
```

Fix: `alter policy note_all on public.note to authenticated;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s.tables.iter().filter(|t| t.is_tenant()) {
        for policy in policies_on(&s.policies, table) {
            if !policy.roles.iter().any(|r| r == "public") {
                continue;
            }
            out.push(
                Finding::new(
                    &LINT,
                    on_table(&policy.name, table),
                    format!("applies to PUBLIC, so to every role including ones created later; tenant policies name `{TENANT_ROLE}`"),
                )
                .fix(format!("{} to {TENANT_ROLE};", alter_policy(table, policy))),
            );
        }
    }
}
