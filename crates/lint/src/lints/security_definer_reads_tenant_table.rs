use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "security_definer_reads_tenant_table",
    level: Level::Error,
    category: Category::Security,
    summary: "A SECURITY DEFINER function that `authenticated` may execute reads a tenant table.",
    doc: r#"
A `SECURITY DEFINER` function that `authenticated` may execute (functions are
executable by PUBLIC unless revoked) and whose body reads a tenant table: it
runs with its owner's rights, around the tenant policies. Tables are found
through the dependencies PostgreSQL records for `BEGIN ATOMIC` bodies, and by
name in the text of other bodies (PostgreSQL does not parse those until they
run), so a variable named like a tenant table also counts.

```sql
create function project_count() returns bigint language sql stable
  security definer set search_path = ''
  as $$ select count(*) from public.project $$;
```

Fix: `alter function public.project_count() security invoker;`
(or `revoke execute on function public.project_count() from public, authenticated;`
if only the owner's code may call it).
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    let tenant_tables: Vec<&Table> = s.tables.iter().filter(|t| t.is_tenant()).collect();
    for function in &s.functions {
        if !function.security_definer || !function.executable_by_tenant_role {
            continue;
        }
        let f = &function.signature;
        let source = function.source.to_ascii_lowercase();
        let reads: Vec<&str> = tenant_tables
            .iter()
            .filter(|t| {
                function.table_dependencies.contains(&t.oid)
                    || mentions_word(&source, &t.name.to_ascii_lowercase())
            })
            .map(|t| t.qualified.as_str())
            .collect();
        if reads.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                &LINT,
                f,
                format!(
                    "SECURITY DEFINER and executable by `{TENANT_ROLE}`: it reads {} with its owner's rights, around the tenant policies",
                    reads.join(", ")
                ),
            )
            .fix(format!("alter function {f} security invoker;")),
        );
    }
}

/// Does `word` occur in `text` as a whole identifier (possibly qualified or
/// quoted)? A text search: function bodies other than `BEGIN ATOMIC` are
/// not parsed by PostgreSQL until they run.
fn mentions_word(text: &str, word: &str) -> bool {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    text.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| text.as_bytes()[i]);
        let after = text.as_bytes().get(at + word.len()).copied();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::mentions_word;

    #[test]
    fn table_names_are_found_as_whole_words() {
        assert!(mentions_word(
            "select count(*) from public.project",
            "project"
        ));
        assert!(mentions_word("select * from \"project\" p", "project"));
        assert!(!mentions_word(
            "select project_id from usage_event",
            "project"
        ));
        assert!(!mentions_word("select 1 from my_project", "project"));
    }
}
