use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "secrets_table_privilege",
    level: Level::Error,
    category: Category::Security,
    summary: "`authenticated` or PUBLIC holds a privilege on a secrets table.",
    doc: r#"
`authenticated` or PUBLIC holds a privilege (table or column level, granted
directly, to PUBLIC or through a role `authenticated` inherits) on a secrets
table: `personal_access_token`, `session`, `account`, `verification`. The
design grants none (docs/architecture.md invariant 7): these rows are reached only through
the exported functions on the bare client.

```sql
grant select on session to authenticated;
grant select (id) on account to public;
```

Fix: `revoke all on table public.session from authenticated, public;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in &s.secrets {
        if table.tenant_role.is_empty() && table.public.is_empty() {
            continue;
        }
        let mut held = Vec::new();
        if !table.tenant_role.is_empty() {
            held.push(format!(
                "`{TENANT_ROLE}` can {}",
                table.tenant_role.join(", ")
            ));
        }
        if !table.public.is_empty() {
            held.push(format!("PUBLIC holds {}", table.public.join(", ")));
        }
        out.push(
            Finding::new(
                &LINT,
                &table.qualified,
                format!(
                    "{}: tenant code must reach secrets only through the named functions (docs/architecture.md invariant 7)",
                    held.join("; ")
                ),
            )
            .fix(format!(
                "revoke all on table {} from {TENANT_ROLE}, public;",
                table.qualified
            )),
        );
    }
}
