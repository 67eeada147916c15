use super::prelude::*;
use crate::expr::TENANT_COLUMN;

pub(crate) const LINT: Lint = Lint {
    name: "foreign_key_without_tenant",
    level: Level::Error,
    category: Category::Security,
    summary: "A foreign key between tenant tables does not match organization_id to organization_id.",
    doc: r#"
A foreign key from a tenant table to another tenant table that does not match
`organization_id` with `organization_id`. The check reads the referenced table
without RLS: a row of tenant A can point at a row of tenant B, and whether the
insert fails tells A whether B's row exists.

```sql
alter table usage_event add constraint usage_event_project_fkey
  foreign key (project_id) references project (id);        -- needs a unique (id)
alter table task add constraint task_project_fkey
  foreign key (other_org_id, project_id) references project (organization_id, id);
```

Fix: `alter table public.task drop constraint task_project_fkey, add constraint task_project_fkey foreign key (organization_id, project_id) references public.project (organization_id, id);`
"#,
    check,
};

/// Foreign key checks read the referenced table without RLS.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for con in s.constraints.iter().filter(|c| c.kind == "f") {
        let Some(table) = s.table(con.table) else {
            continue;
        };
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let Some(referenced) = con.referenced.and_then(|oid| s.table(oid)) else {
            continue;
        };
        let Some(referenced_tenant) = referenced.tenant_attnum else {
            continue;
        };
        let tenant_to_tenant = con
            .columns
            .iter()
            .zip(&con.referenced_columns)
            .any(|(&from, &to)| from == tenant && to == referenced_tenant);
        if tenant_to_tenant {
            continue;
        }
        // Keep the pairs that do not involve either tenant column.
        let pairs: Vec<(&String, &String)> = con
            .column_names
            .iter()
            .zip(&con.referenced_column_names)
            .zip(con.columns.iter().zip(&con.referenced_columns))
            .filter(|(_, (from, to))| **from != tenant && **to != referenced_tenant)
            .map(|(names, _)| names)
            .collect();
        let from: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
        let to: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
        out.push(
            Finding::new(
                &LINT,
                on_table(&con.name, table),
                format!(
                    "references tenant table {} without matching organization_id to organization_id: a row can point at, and so probe for, another tenant's rows",
                    referenced.qualified
                ),
            )
            .fix(format!(
                "alter table {} drop constraint {name}, add constraint {name} foreign key ({}) references {} ({});",
                table.qualified,
                with_tenant(&from),
                referenced.qualified,
                with_tenant(&to),
                name = con.name
            )),
        );
    }
}

/// `organization_id` followed by `columns`.
fn with_tenant(columns: &[&str]) -> String {
    std::iter::once(TENANT_COLUMN)
        .chain(columns.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}
