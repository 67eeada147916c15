use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "app_role_superuser",
    level: Level::Error,
    category: Category::Security,
    summary: "The application login role is a superuser.",
    doc: r#"
The application login is a superuser: RLS never applies to it, and a
connection that skipped `SET ROLE authenticated` reads everything.

```sql
create role tenantry_app login superuser;
```

Fix: `alter role tenantry_app nosuperuser;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    if s.app_role.as_ref().is_some_and(|role| role.superuser) {
        let name = &s.app_login;
        out.push(
            Finding::new(
                &LINT,
                name,
                "the application login is a superuser: RLS does not apply to it at all",
            )
            .fix(format!("alter role {} nosuperuser;", quote_ident(name))),
        );
    }
}
