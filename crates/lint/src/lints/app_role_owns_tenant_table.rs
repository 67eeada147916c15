use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "app_role_owns_tenant_table",
    level: Level::Error,
    category: Category::Security,
    summary: "The application login role owns a tenant table.",
    doc: r#"
The application login owns a tenant table: an owner may disable RLS, drop
policies, and bypasses them unless RLS is forced. docs/architecture.md invariant 3: the
pooled login owns nothing.

```sql
alter table project owner to tenantry_app;
```

Fix: `alter table public.project owner to tenantry_owner;` (the schema's owner).
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    if s.app_role.is_none() {
        return;
    }
    let name = &s.app_login;
    for table in s
        .tables
        .iter()
        .filter(|t| t.is_tenant() && &t.owner == name)
    {
        let finding = Finding::new(
            &LINT,
            &table.qualified,
            format!(
                "owned by the application login {name}: an owner can disable RLS, and bypasses it unless forced"
            ),
        );
        out.push(if &table.schema_owner != name {
            finding.fix(format!(
                "alter table {} owner to {};",
                table.qualified,
                quote_ident(&table.schema_owner)
            ))
        } else {
            finding
        });
    }
}
