use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "app_role_inherits",
    level: Level::Error,
    category: Category::Security,
    summary: "The application login role has another role's privileges without SET ROLE.",
    doc: r#"
The application login has another role's privileges without `SET ROLE`
(`pg_has_role(login, role, 'USAGE')`; builtin `pg_*` roles are ignored). Our
login is `NOINHERIT`: its membership in `authenticated` grants nothing until
`with_tenant_context` runs `SET LOCAL ROLE authenticated`, so a connection
without tenant context fails closed.

```sql
create role tenantry_app login inherit;
grant authenticated to tenantry_app;
```

Fix: `alter role tenantry_app noinherit;` on PostgreSQL 15; from PostgreSQL 16
inheritance belongs to each grant: `grant authenticated to tenantry_app with inherit false;`.
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    // A superuser has every role's privileges; `app_role_superuser` says so.
    let Some(role) = s.app_role.as_ref().filter(|r| !r.superuser) else {
        return;
    };
    if role.inherited.is_empty() {
        return;
    }
    let name = &s.app_login;
    let quoted = quote_ident(name);
    let fix = if s.server_version >= 160000 {
        // Since PostgreSQL 16 inheritance is a property of each grant.
        role.inherited
            .iter()
            .map(|r| format!("grant {} to {quoted} with inherit false;", quote_ident(r)))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        format!("alter role {quoted} noinherit;")
    };
    out.push(
        Finding::new(
            &LINT,
            name,
            format!(
                "has the privileges of {} without SET ROLE: a connection with no tenant context can already use them (it should be NOINHERIT)",
                role.inherited.join(", ")
            ),
        )
        .fix(fix),
    );
}
