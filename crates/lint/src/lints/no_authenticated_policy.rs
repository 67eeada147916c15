use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "no_authenticated_policy",
    level: Level::Error,
    category: Category::Security,
    summary: "A tenant table has policies, but no permissive one for `authenticated`.",
    doc: r#"
The tenant table has permissive policies, but none that applies to
`authenticated` (or PUBLIC, which `policy_to_public` reports). Tenant
transactions then see nothing, which usually means the table is really reached
some other way: a policy for the login role, a bypass.

```sql
create policy note_all on note for all to tenantry_app
  using (organization_id = (select app.current_tenant()));
```

Fix: `create policy note_tenant_isolation on public.note for all to authenticated using (organization_id = (select app.current_tenant())) with check (organization_id = (select app.current_tenant()));`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s.tables.iter().filter(|t| t.is_tenant()) {
        let permissive: Vec<&Policy> = policies_on(&s.policies, table)
            .into_iter()
            .filter(|p| p.permissive)
            .collect();
        // No permissive policy at all is `rls_enabled_without_policy`.
        if !permissive.is_empty() && !permissive.iter().any(|p| applies_to_tenant_role(p)) {
            out.push(
                Finding::new(
                    &LINT,
                    &table.qualified,
                    format!("no permissive policy applies to `{TENANT_ROLE}`, the role tenant work runs as: it sees nothing, or the table is reached some other way"),
                )
                .fix(tenant_policy_sql(table)),
            );
        }
    }
}

fn applies_to_tenant_role(policy: &Policy) -> bool {
    policy
        .roles
        .iter()
        .any(|r| r == TENANT_ROLE || r == "public")
}
