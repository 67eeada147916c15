use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "function_without_search_path",
    level: Level::Error,
    category: Category::Security,
    summary: "A function has no fixed search_path.",
    doc: r#"
A function in an audited schema without `SET search_path`: unqualified names
in its body resolve through the caller's `search_path`, which a caller can point
at objects of its own (a classic hijack of `SECURITY DEFINER` functions, and of
functions used in policies and defaults).

```sql
create function public.tenant_of(p uuid) returns uuid language sql stable
  as $$ select organization_id from project where id = p $$;
```

Fix: `alter function public.tenant_of(p uuid) set search_path = '';`
(then qualify the names in the body: `public.project`).

The exception is `LintConfig::inlined_functions` (by default
`app.current_tenant()` and `app.current_user_id()`): PostgreSQL inlines a SQL
function only when it has no `SET` clause, and inlining the tenant function
into every policy is worth about 45% of a tenant point read (migration 0006,
BENCHMARKS.md). Those bodies qualify every name they use
(`pg_catalog.current_setting`; `nullif` and `::uuid` come from `pg_catalog`,
which PostgreSQL searches first whatever the caller's `search_path`), and they
are SECURITY INVOKER; a SECURITY DEFINER function is never exempt.
"#,
    check,
};

fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for function in &s.functions {
        let f = &function.signature;
        let fixed_search_path = function
            .config
            .iter()
            .any(|setting| setting.starts_with("search_path="));
        let inlined =
            !function.security_definer && config.inlined_functions.iter().any(|name| name == f);
        if fixed_search_path || inlined {
            continue;
        }
        out.push(
            Finding::new(
                &LINT,
                f,
                "no fixed search_path: names in its body resolve through the caller's search_path, which a caller can point at objects of its own (qualify the names in the body)",
            )
            .fix(format!("alter function {f} set search_path = '';")),
        );
    }
}
