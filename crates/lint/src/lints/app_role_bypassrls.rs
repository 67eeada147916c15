use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "app_role_bypassrls",
    level: Level::Error,
    category: Category::Security,
    summary: "The application login role has BYPASSRLS.",
    doc: r#"
The application login has `BYPASSRLS`: any query it runs outside `SET LOCAL
ROLE authenticated` ignores the policies. (`tenantry_bare`, the bare
client's named bypass login, is BYPASSRLS by design; it is not the
application role.)

```sql
alter role tenantry_app bypassrls;
```

Fix: `alter role tenantry_app nobypassrls;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    if s.app_role.as_ref().is_some_and(|role| role.bypass_rls) {
        let name = &s.app_login;
        out.push(
            Finding::new(
                &LINT,
                name,
                "the application login has BYPASSRLS: any query it runs outside `SET ROLE` ignores the tenant policies",
            )
            .fix(format!("alter role {} nobypassrls;", quote_ident(name))),
        );
    }
}
