use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "policies_on_rls_disabled_table",
    level: Level::Error,
    category: Category::Security,
    summary: "A table has policies but RLS is disabled, so they are ignored.",
    doc: r#"
A (non-tenant) table has policies but RLS is disabled, so they restrict
nothing: someone wrote the rule and forgot to switch it on. On a tenant table
the same state is reported as `rls_disabled`.

```sql
create policy ai_model_read on ai_model for select to authenticated using (true);
-- forgot: alter table ai_model enable row level security;
```

Fix: `alter table public.ai_model enable row level security;`
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    // On a tenant table the same state is `rls_disabled`.
    for table in s.tables.iter().filter(|t| !t.is_tenant() && !t.rls) {
        let policies = policies_on(&s.policies, table);
        if policies.is_empty() {
            continue;
        }
        let t = &table.qualified;
        let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
        out.push(
            Finding::new(
                &LINT,
                t,
                format!(
                    "has policies ({}) but RLS is disabled, so they restrict nothing",
                    names.join(", ")
                ),
            )
            .fix(format!("alter table {t} enable row level security;")),
        );
    }
}
