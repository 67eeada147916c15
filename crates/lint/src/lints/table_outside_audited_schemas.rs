use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "table_outside_audited_schemas",
    level: Level::Error,
    category: Category::Security,
    summary: "A table lives in a schema the audit does not read, so nothing checks its isolation.",
    doc: r#"
A table in a schema outside the audited ones (`public` and `app` by default),
other than PostgreSQL's own schemas and tables an extension owns. Every other
lint reads only the audited schemas: an application that puts its tenant
tables in a schema of its own would otherwise pass `tenantry audit` and the
start-up check with no policy on them at all.

```sql
create schema helpdesk;
create table helpdesk.ticket (organization_id uuid not null, id uuid not null);
```

Fix (no single statement): move the table into an audited schema (`alter
table helpdesk.ticket set schema public;`), or audit its schema too: `tenantry
audit --schemas public,app,helpdesk`, and for the start-up check the
product's `Extension::schemas` (`LintConfig::schemas` for the library).
"#,
    check,
};

fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for table in &s.unaudited_tables {
        out.push(Finding::new(
            &LINT,
            table,
            format!(
                "is outside the audited schemas ({}): no lint reads its policies, so nothing checks its isolation; move it into one, or audit its schema too",
                config.schemas.join(", ")
            ),
        ));
    }
}
