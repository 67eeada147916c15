use super::prelude::*;
use crate::expr::TENANT_COLUMN;

pub(crate) const LINT: Lint = Lint {
    name: "no_tenant_leading_index",
    level: Level::Warning,
    category: Category::Performance,
    summary: "A tenant table has no index whose first column is organization_id.",
    doc: r#"
A tenant table with no index whose first column is `organization_id`. Every
tenant query filters on it through the policy; without such an index each one
scans every tenant's rows. Other indexes may lead with other columns (ours:
`member_user_id_idx`, `invitation_id_idx` and `invitation_pending_invitee_idx`
serve lookups made before a tenant is known); one leading with the tenant is
what is required. The primary key
`(organization_id, id)` is usually it.

```sql
create table note (organization_id uuid not null, id uuid not null,
                   primary key (id, organization_id));
```

Fix: `create index on public.note (organization_id);` (better: make the primary
key `(organization_id, id)`).
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    for table in &s.tables {
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let led_by_tenant = s
            .indexes
            .iter()
            .any(|i| i.table == table.oid && i.columns.first() == Some(&tenant));
        if led_by_tenant {
            continue;
        }
        out.push(
            Finding::new(
                &LINT,
                &table.qualified,
                "no index starts with organization_id: every tenant query filters on it, and without one it scans every tenant's rows",
            )
            .fix(format!(
                "create index on {} ({TENANT_COLUMN});",
                table.qualified
            )),
        );
    }
}
