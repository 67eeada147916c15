use super::prelude::*;
use std::collections::{BTreeSet, HashSet};

pub(crate) const LINT: Lint = Lint {
    name: "view_without_security_invoker",
    level: Level::Error,
    category: Category::Security,
    summary: "A view reading a tenant table runs with its owner's rights (no security_invoker).",
    doc: r#"
A view that reads a tenant table (directly or through other views) without
`security_invoker = true` runs with its owner's rights; the owner is not
subject to the tenant policies (or is, with no tenant of the caller's), so
whoever queries the view reads every tenant's rows. A materialized view stores
the rows where no policy applies at all and cannot be fixed with an option.

```sql
create view project_names as select organization_id, name from project;
```

Fix: `alter view public.project_names set (security_invoker = true);`
(materialized view: replace it with a `security_invoker` view or a tenant
table).
"#,
    check,
};

/// Views run with their owner's rights unless `security_invoker` is set, and
/// the owner (the migrator) is not subject to the tenant policies.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    let tenant: HashSet<u32> = s
        .tables
        .iter()
        .filter(|t| t.is_tenant())
        .map(|t| t.oid)
        .collect();
    for view in &s.views {
        if view.security_invoker && !view.materialized {
            continue;
        }
        // Follow views through views: an invoker view read by a definer view
        // runs with the outer view owner's rights.
        let mut seen = HashSet::from([view.oid]);
        let mut stack = vec![view.oid];
        let mut reads = BTreeSet::new();
        while let Some(oid) = stack.pop() {
            for &(_, to) in s.view_edges.iter().filter(|(from, _)| *from == oid) {
                if tenant.contains(&to) {
                    if let Some(table) = s.table(to) {
                        reads.insert(table.qualified.as_str());
                    }
                } else if seen.insert(to) {
                    stack.push(to);
                }
            }
        }
        if reads.is_empty() {
            continue;
        }
        let tables = reads.into_iter().collect::<Vec<_>>().join(", ");
        let v = &view.qualified;
        let finding = if view.materialized {
            Finding::new(
                &LINT,
                v,
                format!(
                    "materialized view stores rows of tenant table(s) {tables} where no policy applies; replace it with a security_invoker view or a tenant table"
                ),
            )
        } else {
            Finding::new(
                &LINT,
                v,
                format!("reads tenant table(s) {tables} with its owner's rights, so the tenant policies do not apply to whoever queries it"),
            )
            .fix(format!("alter view {v} set (security_invoker = true);"))
        };
        out.push(finding);
    }
}
