use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "rls_not_forced",
    level: Level::Error,
    category: Category::Security,
    summary: "A tenant table has RLS enabled but not forced, so its owner bypasses it.",
    doc: r#"
RLS enabled but not forced: the table's owner (the migrator) is exempt from the
policies, and so is anything running with its rights (a view without
`security_invoker`, a `SECURITY DEFINER` function, a seed script that forgot
which tenant it writes for).

```sql
alter table note enable row level security;   -- and nothing more
```

Fix: `alter table public.note force row level security;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s.tables.iter().filter(|t| t.is_tenant() && !t.forced) {
        let t = &table.qualified;
        out.push(
            Finding::new(
                &LINT,
                t,
                "row-level security is not forced: the table owner, and anything running with its rights, bypasses every policy",
            )
            .fix(format!("alter table {t} force row level security;")),
        );
    }
}
