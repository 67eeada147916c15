use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "unlisted_non_tenant_table",
    level: Level::Error,
    category: Category::Security,
    summary: "A table without organization_id is neither on the non-tenant allow-list nor marked as a reference table with a reason.",
    doc: r#"
A table without `organization_id` that is not on the non-tenant list and does
not declare itself a reference table. Either it holds tenant data, and then
nothing isolates it, or it is a new global table, and the database should say
so, with the reason, where review and the audit both see it
(docs/architecture.md invariant 7).

```sql
create table note_template (id uuid primary key, body text not null);
```

Fix (a decision, so no statement is suggested): add `organization_id uuid not
null references organization (id)` with RLS and tenant policies, or, when it
holds no tenant data, mark it with its reason:
`comment on table public.note_template is 'tenantry:reference-table: <why it holds no tenant data>'`
(`tenantry new reference-table` writes this; a marker with an empty reason
declares nothing). tenantry's own non-tenant tables are listed in
`LintConfig::default()` instead; `--non-tenant-tables` replaces that list.
"#,
    check,
};

/// No fix is suggested: applied blindly, the marker would silence the error
/// on a table that may hold tenant data.
fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for table in s
        .tables
        .iter()
        .filter(|t| !t.is_tenant() && !config.is_non_tenant_table(t))
    {
        let t = &table.qualified;
        let message = if table.has_reference_table_marker() {
            format!(
                "is marked as a reference table but gives no reason, which declares nothing: write why it holds no tenant data after the marker (comment on table {t} is 'tenantry:reference-table: <why it holds no tenant data>'), or add organization_id with RLS and tenant policies"
            )
        } else {
            format!(
                "has no organization_id and is not declared non-tenant: add organization_id (with RLS and tenant policies), or, if it holds no tenant data, mark it with its reason (comment on table {t} is 'tenantry:reference-table: <why it holds no tenant data>')"
            )
        };
        out.push(Finding::new(&LINT, t, message));
    }
}
