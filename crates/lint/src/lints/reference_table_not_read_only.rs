use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "reference_table_not_read_only",
    level: Level::Error,
    category: Category::Security,
    summary: "A table marked as reference data can be written by tenants, or points at tenant data.",
    doc: r#"
A table declared as reference data with the marker comment
(`tenantry:reference-table: <reason>`) is exempt from the tenant-table lints:
it has no `organization_id`, no RLS and no tenant policy, and every
organization reads all of it. That is safe only for data no tenant owns. So a
marked table must be read-only for `authenticated` (writes belong to
migrations and seeds, as the owner), and must not reference `organization`
or a tenant table: a row that points at one organization is that
organization's data, whatever the comment says. The schema's default
privileges grant `authenticated` every write on a new table; `tenantry new
reference-table` revokes them.

```sql
create table ticket_attachment (id uuid primary key, org uuid references organization (id), body bytea);
comment on table ticket_attachment is 'tenantry:reference-table: shared files';
```

Fix: `revoke insert, update, delete, truncate on public.ticket_attachment
from public, authenticated;`, and, for a table that points at an
organization or a tenant table, make it a tenant table (`tenantry new
tenant-table`) instead.
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in s
        .tables
        .iter()
        // A marker without a reason declares nothing (unlisted_non_tenant_table).
        .filter(|t| !t.is_tenant() && t.reference_table_reason().is_some())
    {
        if !table.tenant_role_writes.is_empty() {
            out.push(
                Finding::new(
                    &LINT,
                    &table.qualified,
                    format!(
                        "is marked as reference data, but authenticated may {} it: one tenant could change or remove what every organization reads",
                        table.tenant_role_writes.join(", ")
                    ),
                )
                .fix(format!(
                    "revoke insert, update, delete, truncate on {} from public, authenticated;",
                    table.qualified
                )),
            );
        }
        for constraint in s
            .constraints
            .iter()
            .filter(|c| c.table == table.oid && c.kind == "f")
        {
            let Some(target) = constraint.referenced.and_then(|oid| s.table(oid)) else {
                continue;
            };
            // `organization` is each tenant's own row (policies pin it).
            if target.is_tenant() || (target.name == "organization" && target.schema == "public") {
                out.push(Finding::new(
                    &LINT,
                    on_table(&constraint.name, table),
                    format!(
                        "is marked as reference data, but references {}: its rows belong to organizations; make it a tenant table",
                        target.qualified
                    ),
                ));
            }
        }
    }
}
