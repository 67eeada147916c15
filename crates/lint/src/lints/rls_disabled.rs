use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "rls_disabled",
    level: Level::Error,
    category: Category::Security,
    summary: "A tenant table does not have row-level security enabled.",
    doc: r#"
A tenant table without row-level security: every role with privileges on it
(and `authenticated` has them through the default privileges) sees and writes
every tenant's rows. If the table has policies, they are ignored.

```sql
create table note (organization_id uuid not null references organization (id),
                   id uuid not null default gen_random_uuid(),
                   primary key (organization_id, id));
-- forgot: alter table note enable row level security;
```

Fix: `alter table public.note enable row level security;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s.tables.iter().filter(|t| t.is_tenant() && !t.rls) {
        let t = &table.qualified;
        let policies = policies_on(&s.policies, table);
        let ignored = if policies.is_empty() {
            String::new()
        } else {
            format!(" (its {} policies are ignored)", policies.len())
        };
        out.push(
            Finding::new(
                &LINT,
                t,
                format!("row-level security is disabled: every role with privileges on it sees and writes every tenant's rows{ignored}"),
            )
            .fix(format!("alter table {t} enable row level security;")),
        );
    }
}
