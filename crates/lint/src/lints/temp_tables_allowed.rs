use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "temp_tables_allowed",
    level: Level::Error,
    category: Category::Security,
    summary: "A pooled login or `authenticated` may create temporary tables, which outlive a transaction on a pooled connection.",
    doc: r#"
A pooled login (`tenantry_app`, `tenantry_bare`) or `authenticated` holds `TEMPORARY` on the database,
which PostgreSQL grants to PUBLIC by default. A temporary table lives as long
as its connection, not its transaction: made inside one tenant transaction on
a pooled connection, it is still there for the next borrower, and because
`pg_temp` is searched before `public`, `select * from project` then reads it
instead of the real table. `tenantry migrate` revokes the privilege every time
it runs (a database's own privileges are not copied by `CREATE DATABASE ...
TEMPLATE`); this lint catches a database where the migrating role could not.

```sql
-- PostgreSQL's default for every new database:
grant temporary on database app to public;
```

Fix: `revoke temporary on database app from public, authenticated, tenantry_app, tenantry_bare;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    if s.temp_roles.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            &LINT,
            &s.database,
            format!(
                "{} may create temporary tables in this database: one lives as long as its pooled connection, not its tenant transaction, and shadows a real table of the same name for whoever borrows the connection next",
                s.temp_roles.join(", ")
            ),
        )
        .fix(format!(
            "revoke temporary on database {} from public, {};",
            quote_ident(&s.database),
            s.temp_roles
                .iter()
                .map(|r| quote_ident(r))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
}
