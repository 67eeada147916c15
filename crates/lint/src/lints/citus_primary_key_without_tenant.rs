use super::prelude::*;
use crate::expr::TENANT_COLUMN;

pub(crate) const LINT: Lint = Lint {
    name: "citus_primary_key_without_tenant",
    level: Level::Warning,
    category: Category::Citus,
    summary: "A tenant table has no primary key, or one without organization_id: it cannot be distributed by tenant.",
    doc: r#"
A tenant table whose primary key leaves out `organization_id`, or that has no
primary key. Citus requires the distribution column in every primary key and
unique constraint, and moves shards with logical replication, which needs a
primary key to carry updates and deletes. (A key without the tenant is also an
error, `unique_without_tenant`.)

```sql
create table note (organization_id uuid not null, id uuid primary key);
create table event (organization_id uuid not null, payload jsonb);   -- no key
```

Fix: `alter table public.note drop constraint note_pkey, add constraint note_pkey primary key (organization_id, id);`
(no key: `alter table public.event add primary key (organization_id, id);` when it has an `id`).
"#,
    check,
};

/// Citus requires the distribution column in every primary key and unique
/// constraint, and its non-blocking shard moves use logical replication,
/// which needs a primary key (the replica identity) to carry UPDATE and
/// DELETE across.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in &s.tables {
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let t = &table.qualified;
        let pk = s
            .constraints
            .iter()
            .find(|c| c.table == table.oid && c.kind == "p");
        match pk {
            None => {
                let finding = Finding::new(
                    &LINT,
                    t,
                    "no primary key: Citus moves shards by logical replication, which needs one to carry updates and deletes; use (organization_id, id)",
                );
                out.push(if table.has_id {
                    finding.fix(format!(
                        "alter table {t} add primary key ({TENANT_COLUMN}, id);"
                    ))
                } else {
                    finding
                });
            }
            Some(pk) if !pk.columns.contains(&tenant) => {
                out.push(
                    Finding::new(
                        &LINT,
                        on_table(&pk.name, table),
                        format!(
                            "primary key ({}) leaves out organization_id: Citus cannot distribute the table by tenant",
                            pk.column_names.join(", ")
                        ),
                    )
                    .fix(format!(
                        "alter table {t} drop constraint {name}, add constraint {name} primary key ({TENANT_COLUMN}, {});",
                        pk.column_names.join(", "),
                        name = pk.name
                    )),
                );
            }
            Some(_) => {}
        }
    }
}
