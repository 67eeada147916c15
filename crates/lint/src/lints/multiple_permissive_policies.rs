use super::prelude::*;
use std::collections::BTreeSet;

pub(crate) const LINT: Lint = Lint {
    name: "multiple_permissive_policies",
    level: Level::Warning,
    category: Category::Performance,
    summary: "Several permissive policies apply to the same role and command; each one is evaluated.",
    doc: r#"
Several permissive policies apply to the same role and command; PostgreSQL ORs
them and evaluates each for every row. Separate policies per command (ours:
`audit_log` has one for `SELECT` and one for `INSERT`) do not overlap and are
fine.

```sql
create policy note_all  on note for all    to authenticated using (...) with check (...);
create policy note_read on note for select to authenticated using (...);
```

Fix (no single statement): merge them into one policy, or turn the extra
conditions into `AS RESTRICTIVE` policies, which are `AND`-ed instead.
"#,
    check,
};

/// Permissive policies are OR-ed: every one that applies is evaluated for
/// every row, and the planner can use an index for none of them unless it
/// can for all.
fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    const COMMANDS: [(&str, &str); 4] = [
        ("r", "SELECT"),
        ("a", "INSERT"),
        ("w", "UPDATE"),
        ("d", "DELETE"),
    ];
    for table in &s.tables {
        let permissive: Vec<&Policy> = policies_on(&s.policies, table)
            .into_iter()
            .filter(|p| p.permissive)
            .collect();
        let roles: BTreeSet<&str> = permissive
            .iter()
            .flat_map(|p| p.roles.iter().map(String::as_str))
            .collect();
        for role in roles {
            let mut overlapping = BTreeSet::new();
            let mut commands = Vec::new();
            for (code, command) in COMMANDS {
                let applying: Vec<&str> = permissive
                    .iter()
                    .filter(|p| p.command == "*" || p.command == code)
                    .filter(|p| p.roles.iter().any(|r| r == role || r == "public"))
                    .map(|p| p.name.as_str())
                    .collect();
                if applying.len() > 1 {
                    commands.push(command);
                    overlapping.extend(applying);
                }
            }
            if commands.is_empty() {
                continue;
            }
            out.push(Finding::new(
                &LINT,
                format!("{} to {role}", table.qualified),
                format!(
                    "permissive policies {} all apply to {role} for {}: each is evaluated for every row; merge them into one, or make the extra conditions RESTRICTIVE",
                    overlapping.into_iter().collect::<Vec<_>>().join(", "),
                    commands.join(", ")
                ),
            ));
        }
    }
}
