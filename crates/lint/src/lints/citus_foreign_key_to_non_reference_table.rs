use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "citus_foreign_key_to_non_reference_table",
    level: Level::Warning,
    category: Category::Citus,
    summary: "A tenant table references a non-tenant table that would not be a Citus reference table.",
    doc: r#"
A foreign key from a tenant table to a non-tenant table that is neither
`organization`, `user` nor reference data (`ai_model`, `ai_model_pricing`;
`--reference-tables`; a table commented `tenantry:reference-table: <reason>`).
Distributed, the tenant table could reference another distributed table on the
distribution column or a reference table, but not a table left on the
coordinator.

```sql
alter table note add column session_id uuid references session (id);
```

Fix (no single statement): reference a tenant table or reference data instead;
or make the target a reference table (`select create_reference_table('...')`)
and mark it (`comment on table public.x is 'tenantry:reference-table: <reason>'`)
or list it in `--reference-tables`.
"#,
    check,
};

/// A distributed table may reference another distributed table on the
/// distribution column (colocated) or a reference table; a plain table on
/// the coordinator is neither.
fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for con in s.constraints.iter().filter(|c| c.kind == "f") {
        let Some(table) = s.table(con.table).filter(|t| t.is_tenant()) else {
            continue;
        };
        let Some(referenced) = con.referenced.and_then(|oid| s.table(oid)) else {
            continue;
        };
        if referenced.is_tenant() || config.is_reference_table(referenced) {
            continue;
        }
        out.push(Finding::new(
            &LINT,
            on_table(&con.name, table),
            format!(
                "references {}, which is neither a tenant table nor reference data: under Citus it would stay on the coordinator, where a distributed table cannot reference it; make it a reference table (and mark it with comment on table ... is 'tenantry:reference-table: <reason>', or list it with --reference-tables) or drop the foreign key",
                referenced.qualified
            ),
        ));
    }
}
