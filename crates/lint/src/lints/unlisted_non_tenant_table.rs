use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "unlisted_non_tenant_table",
    level: Level::Error,
    category: Category::Security,
    summary: "A table without organization_id is not on the non-tenant allow-list.",
    doc: r#"
A table without `organization_id` that is not on the non-tenant list. Either it
holds tenant data, and then nothing isolates it, or it is a new global table,
and the list (docs/architecture.md invariant 7) should say so in review.

```sql
create table note_template (id uuid primary key, body text not null);
```

Fix (no single statement): add `organization_id uuid not null references
organization (id)` with RLS and tenant policies, or pass the table in
`--non-tenant-tables` (and add it to `LintConfig::default()` if it is ours).
"#,
    check,
};

fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for table in s
        .tables
        .iter()
        .filter(|t| !t.is_tenant() && !config.non_tenant_tables.contains(&t.name))
    {
        out.push(Finding::new(
            &LINT,
            &table.qualified,
            "has no organization_id and is not on the non-tenant allow-list: add organization_id (with RLS and tenant policies), or list it as non-tenant (--non-tenant-tables) if it holds no tenant data",
        ));
    }
}
