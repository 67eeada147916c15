use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "unique_without_tenant",
    level: Level::Error,
    category: Category::Security,
    summary: "A primary key, unique constraint or unique index on a tenant table leaves out organization_id.",
    doc: r#"
A primary key, unique constraint or unique index on a tenant table that leaves
out `organization_id`. Constraint checks see every row, whatever the policies
say, so a rejected insert tells one tenant that another already holds the value
(an existence oracle), and a slug or email becomes globally unique instead of
unique per tenant.

```sql
alter table project add constraint project_name_key unique (name);
create unique index project_slug_idx on project (slug);
```

Fix: `alter table public.project drop constraint project_name_key, add constraint project_name_key unique (organization_id, name);`
(for an index: `drop index public.project_slug_idx; create unique index project_slug_idx on public.project (organization_id, slug);`).
A primary key without `organization_id` is also reported by
`citus_primary_key_without_tenant`.
"#,
    check,
};

/// Constraint checks see every row, whatever the policies say.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for con in &s.constraints {
        let Some(table) = s.table(con.table) else {
            continue;
        };
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        if !matches!(con.kind.as_str(), "p" | "u") || con.columns.contains(&tenant) {
            continue;
        }
        let kind = if con.kind == "p" {
            "primary key"
        } else {
            "unique"
        };
        out.push(
            Finding::new(
                &LINT,
                on_table(&con.name, table),
                format!(
                    "{kind} ({}) leaves out organization_id: a rejected insert tells one tenant that another holds that value",
                    con.column_names.join(", ")
                ),
            )
            .fix(format!(
                "alter table {} drop constraint {name}, add constraint {name} {kind} (organization_id, {});",
                table.qualified,
                con.column_names.join(", "),
                name = con.name
            )),
        );
    }
    for index in &s.indexes {
        if !index.unique || index.backs_constraint {
            continue;
        }
        let Some(table) = s.table(index.table) else {
            continue;
        };
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        if index.columns.contains(&tenant) {
            continue;
        }
        out.push(
            Finding::new(
                &LINT,
                on_table(&index.name, table),
                format!(
                    "unique index ({}) leaves out organization_id: a rejected insert tells one tenant that another holds that value",
                    index.column_names.join(", ")
                ),
            )
            .fix(format!(
                "drop index {schema}.{name}; create unique index {name} on {} (organization_id, {});",
                table.qualified,
                index.column_names.join(", "),
                schema = table.schema,
                name = index.name
            )),
        );
    }
}
