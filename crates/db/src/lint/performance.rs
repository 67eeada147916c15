//! Performance lints (warnings): isolation holds, but RLS costs more than
//! the `WHERE organization_id = $1` it stands for.

use std::collections::BTreeSet;

use super::catalog::{Policy, Snapshot};
use super::expr;
use super::*;

pub(super) fn check(s: &Snapshot, out: &mut Vec<Finding>) {
    per_row_calls(s, out);
    leading_index(s, out);
    permissive_overlap(s, out);
}

/// `app.current_tenant()` written bare is a function call per row; wrapped
/// in `(select ...)` Postgres runs it once, as an initPlan, and can use an
/// index on organization_id.
fn per_row_calls(s: &Snapshot, out: &mut Vec<Finding>) {
    for policy in &s.policies {
        let Some(table) = s.table(policy.table) else {
            continue;
        };
        let mut clauses = Vec::new();
        let mut fixed = Vec::new();
        for (clause, text) in [
            ("using", policy.using.as_deref()),
            ("with check", policy.with_check.as_deref()),
        ] {
            let Some(text) = text else { continue };
            let calls = expr::per_row_calls(text);
            if calls.is_empty() {
                continue;
            }
            clauses.push(clause.to_ascii_uppercase());
            fixed.push(format!("{clause} ({})", expr::wrap_calls(text, &calls)));
        }
        if clauses.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                &POLICY_PER_ROW_TENANT_CALL,
                on_table(&policy.name, table),
                format!(
                    "the tenant function or current_setting is called once per row in {}; wrapped as (select ...) it runs once per statement",
                    clauses.join(" and ")
                ),
            )
            .fix(format!(
                "alter policy {} on {} {};",
                policy.name,
                table.qualified,
                fixed.join(" ")
            )),
        );
    }
}

fn leading_index(s: &Snapshot, out: &mut Vec<Finding>) {
    for table in &s.tables {
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let led_by_tenant = s
            .indexes
            .iter()
            .any(|i| i.table == table.oid && i.columns.first() == Some(&tenant));
        if !led_by_tenant {
            out.push(
                Finding::new(
                    &NO_TENANT_LEADING_INDEX,
                    &table.qualified,
                    "no index starts with organization_id: every tenant query filters on it, and without one it scans every tenant's rows",
                )
                .fix(format!(
                    "create index on {} ({});",
                    table.qualified,
                    expr::TENANT_COLUMN
                )),
            );
        }
    }
}

/// Permissive policies are OR-ed: every one that applies is evaluated for
/// every row, and the planner can use an index for none of them unless it
/// can for all.
fn permissive_overlap(s: &Snapshot, out: &mut Vec<Finding>) {
    const COMMANDS: [(&str, &str); 4] = [
        ("r", "SELECT"),
        ("a", "INSERT"),
        ("w", "UPDATE"),
        ("d", "DELETE"),
    ];
    for table in &s.tables {
        let permissive: Vec<&Policy> = s
            .policies
            .iter()
            .filter(|p| p.table == table.oid && p.permissive)
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
                &MULTIPLE_PERMISSIVE_POLICIES,
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
