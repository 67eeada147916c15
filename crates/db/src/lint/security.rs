//! Security lints (errors): each one is a way a tenant could see, change or
//! probe another tenant's rows, or a way the checks could be stepped around.

use std::collections::{BTreeSet, HashSet};

use super::catalog::{Policy, Snapshot, TENANT_ROLE, Table};
use super::expr::{self, Verdict};
use super::*;

pub(super) fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for table in &s.tables {
        let policies: Vec<&Policy> = s.policies.iter().filter(|p| p.table == table.oid).collect();
        if table.is_tenant() {
            tenant_table(table, &policies, out);
        } else {
            non_tenant_table(table, &policies, config, out);
        }
    }
    keys(s, out);
    views(s, out);
    functions(s, config, out);
    app_role(s, config, out);
    secrets(s, out);
    temp_tables(s, out);
}

fn tenant_table(table: &Table, policies: &[&Policy], out: &mut Vec<Finding>) {
    let t = &table.qualified;
    if !table.rls {
        let ignored = if policies.is_empty() {
            String::new()
        } else {
            format!(" (its {} policies are ignored)", policies.len())
        };
        out.push(
            Finding::new(
                &RLS_DISABLED,
                t,
                format!("row-level security is disabled: every role with privileges on it sees and writes every tenant's rows{ignored}"),
            )
            .fix(format!("alter table {t} enable row level security;")),
        );
    }
    if !table.forced {
        out.push(
            Finding::new(
                &RLS_NOT_FORCED,
                t,
                "row-level security is not forced: the table owner, and anything running with its rights, bypasses every policy",
            )
            .fix(format!("alter table {t} force row level security;")),
        );
    }
    let permissive: Vec<&&Policy> = policies.iter().filter(|p| p.permissive).collect();
    if table.rls && permissive.is_empty() {
        out.push(
            Finding::new(
                &RLS_ENABLED_WITHOUT_POLICY,
                t,
                "RLS is enabled but no permissive policy exists: tenant queries silently see no rows and cannot write",
            )
            .fix(tenant_policy_sql(table)),
        );
    } else if !permissive.is_empty() && !permissive.iter().any(|p| applies_to_tenant_role(p)) {
        out.push(
            Finding::new(
                &NO_AUTHENTICATED_POLICY,
                t,
                format!("no permissive policy applies to `{TENANT_ROLE}`, the role tenant work runs as: it sees nothing, or the table is reached some other way"),
            )
            .fix(tenant_policy_sql(table)),
        );
    }
    for policy in policies {
        tenant_policy(table, policy, out);
    }
}

fn applies_to_tenant_role(policy: &Policy) -> bool {
    policy
        .roles
        .iter()
        .any(|r| r == TENANT_ROLE || r == "public")
}

fn tenant_policy(table: &Table, policy: &Policy, out: &mut Vec<Finding>) {
    let object = on_table(&policy.name, table);
    let alter = format!("alter policy {} on {}", policy.name, table.qualified);
    if policy.roles.iter().any(|r| r == "public") {
        out.push(
            Finding::new(
                &POLICY_TO_PUBLIC,
                &object,
                format!("applies to PUBLIC, so to every role including ones created later; tenant policies name `{TENANT_ROLE}`"),
            )
            .fix(format!("{alter} to {TENANT_ROLE};")),
        );
    }
    // A restrictive policy only narrows what permissive ones allow: it
    // cannot open anything, so only permissive policies must pin the tenant.
    if !policy.permissive {
        return;
    }
    let writes = matches!(policy.command.as_str(), "*" | "a" | "w");
    let reads = policy.command != "a";
    if writes && policy.with_check.is_none() {
        let message = if policy.command == "a" {
            "INSERT policy without WITH CHECK: it admits no row, and says nothing about which organization_id a new row may carry"
        } else {
            "no WITH CHECK: new rows are checked only through USING, implicitly; state the tenant check for writes explicitly"
        };
        out.push(
            Finding::new(&POLICY_MISSING_WITH_CHECK, &object, message)
                .fix(format!("{alter} with check ({});", pinned_expression())),
        );
    }
    let mut fails_open = Vec::new();
    let mut not_pinned = Vec::new();
    let clauses = [
        ("USING", reads, policy.using.as_deref()),
        ("WITH CHECK", writes, policy.with_check.as_deref()),
    ];
    for (clause, applies, text) in clauses {
        let Some(text) = text.filter(|_| applies) else {
            continue;
        };
        match expr::classify(text) {
            Verdict::Pinned => {}
            Verdict::FailsOpen => fails_open.push(clause),
            Verdict::NotPinned => not_pinned.push(clause),
        }
    }
    let fix = || {
        let pinned = pinned_expression();
        match (reads, writes) {
            (true, true) => format!("{alter} using ({pinned}) with check ({pinned});"),
            (true, false) => format!("{alter} using ({pinned});"),
            _ => format!("{alter} with check ({pinned});"),
        }
    };
    if !fails_open.is_empty() {
        out.push(
            Finding::new(
                &POLICY_FAILS_OPEN,
                &object,
                format!(
                    "{} mentions the tenant but has a branch that is true when no tenant is set (IS NULL, COALESCE or an OR that does not pin organization_id)",
                    fails_open.join(" and ")
                ),
            )
            .fix(fix()),
        );
    }
    if !not_pinned.is_empty() {
        out.push(
            Finding::new(
                &POLICY_NOT_PINNED_TO_TENANT,
                &object,
                format!(
                    "{} does not compare organization_id with (select {}()): rows of other tenants pass",
                    not_pinned.join(" and "),
                    expr::TENANT_FUNCTION
                ),
            )
            .fix(fix()),
        );
    }
}

fn non_tenant_table(
    table: &Table,
    policies: &[&Policy],
    config: &LintConfig,
    out: &mut Vec<Finding>,
) {
    let t = &table.qualified;
    if !config.non_tenant_tables.contains(&table.name) {
        out.push(Finding::new(
            &UNLISTED_NON_TENANT_TABLE,
            t,
            "has no organization_id and is not on the non-tenant allow-list: add organization_id (with RLS and tenant policies), or list it as non-tenant (--non-tenant-tables) if it holds no tenant data",
        ));
    }
    if table.rls && !policies.iter().any(|p| p.permissive) {
        out.push(Finding::new(
            &RLS_ENABLED_WITHOUT_POLICY,
            t,
            "RLS is enabled but no permissive policy exists: every role subject to RLS silently sees no rows; add the policies it needs or disable RLS",
        ));
    }
    if !table.rls && !policies.is_empty() {
        let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
        out.push(
            Finding::new(
                &POLICIES_ON_RLS_DISABLED_TABLE,
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

/// Unique keys and foreign keys of tenant tables must include the tenant:
/// constraint checks see every row, whatever the policies say.
fn keys(s: &Snapshot, out: &mut Vec<Finding>) {
    for con in &s.constraints {
        let Some(table) = s.table(con.table) else {
            continue;
        };
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let t = &table.qualified;
        match con.kind.as_str() {
            "p" | "u" if !con.columns.contains(&tenant) => {
                let kind = if con.kind == "p" {
                    "primary key"
                } else {
                    "unique"
                };
                out.push(
                    Finding::new(
                        &UNIQUE_WITHOUT_TENANT,
                        on_table(&con.name, table),
                        format!(
                            "{kind} ({}) leaves out organization_id: a rejected insert tells one tenant that another holds that value",
                            con.column_names.join(", ")
                        ),
                    )
                    .fix(format!(
                        "alter table {t} drop constraint {name}, add constraint {name} {kind} (organization_id, {});",
                        con.column_names.join(", "),
                        name = con.name
                    )),
                );
            }
            "f" => {
                let Some(referenced) = con.referenced.and_then(|oid| s.table(oid)) else {
                    continue;
                };
                let Some(referenced_tenant) = referenced.tenant_attnum else {
                    continue;
                };
                let tenant_to_tenant = con
                    .columns
                    .iter()
                    .zip(&con.referenced_columns)
                    .any(|(&from, &to)| from == tenant && to == referenced_tenant);
                if tenant_to_tenant {
                    continue;
                }
                // Keep the pairs that do not involve either tenant column.
                let pairs: Vec<(&String, &String)> = con
                    .column_names
                    .iter()
                    .zip(&con.referenced_column_names)
                    .zip(con.columns.iter().zip(&con.referenced_columns))
                    .filter(|(_, (from, to))| **from != tenant && **to != referenced_tenant)
                    .map(|(names, _)| names)
                    .collect();
                let from: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
                let to: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
                out.push(
                    Finding::new(
                        &FOREIGN_KEY_WITHOUT_TENANT,
                        on_table(&con.name, table),
                        format!(
                            "references tenant table {} without matching organization_id to organization_id: a row can point at, and so probe for, another tenant's rows",
                            referenced.qualified
                        ),
                    )
                    .fix(format!(
                        "alter table {t} drop constraint {name}, add constraint {name} foreign key ({}) references {} ({});",
                        with_tenant(&from),
                        referenced.qualified,
                        with_tenant(&to),
                        name = con.name
                    )),
                );
            }
            _ => {}
        }
    }
    for index in &s.indexes {
        if !index.unique || index.backs_constraint {
            continue;
        }
        let Some(table) = s.table(index.table) else {
            continue;
        };
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        if index.columns.contains(&tenant) {
            continue;
        }
        out.push(
            Finding::new(
                &UNIQUE_WITHOUT_TENANT,
                on_table(&index.name, table),
                format!(
                    "unique index ({}) leaves out organization_id: a rejected insert tells one tenant that another holds that value",
                    index.column_names.join(", ")
                ),
            )
            .fix(format!(
                "drop index {schema}.{name}; create unique index {name} on {} (organization_id, {});",
                table.qualified,
                index.column_names.join(", "),
                schema = table.schema,
                name = index.name
            )),
        );
    }
}

/// `organization_id` followed by `columns`.
fn with_tenant(columns: &[&str]) -> String {
    std::iter::once(expr::TENANT_COLUMN)
        .chain(columns.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Views run with their owner's rights unless `security_invoker` is set, and
/// the owner (the migrator) is not subject to the tenant policies.
fn views(s: &Snapshot, out: &mut Vec<Finding>) {
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
                &VIEW_WITHOUT_SECURITY_INVOKER,
                v,
                format!(
                    "materialized view stores rows of tenant table(s) {tables} where no policy applies; replace it with a security_invoker view or a tenant table"
                ),
            )
        } else {
            Finding::new(
                &VIEW_WITHOUT_SECURITY_INVOKER,
                v,
                format!("reads tenant table(s) {tables} with its owner's rights, so the tenant policies do not apply to whoever queries it"),
            )
            .fix(format!("alter view {v} set (security_invoker = true);"))
        };
        out.push(finding);
    }
}

fn functions(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    let tenant_tables: Vec<&Table> = s.tables.iter().filter(|t| t.is_tenant()).collect();
    for function in &s.functions {
        let f = &function.signature;
        if function.security_definer && function.executable_by_tenant_role {
            let source = function.source.to_ascii_lowercase();
            let reads: Vec<&str> = tenant_tables
                .iter()
                .filter(|t| {
                    function.table_dependencies.contains(&t.oid)
                        || mentions_word(&source, &t.name.to_ascii_lowercase())
                })
                .map(|t| t.qualified.as_str())
                .collect();
            if !reads.is_empty() {
                out.push(
                    Finding::new(
                        &SECURITY_DEFINER_READS_TENANT_TABLE,
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
        let fixed_search_path = function
            .config
            .iter()
            .any(|setting| setting.starts_with("search_path="));
        let inlined =
            !function.security_definer && config.inlined_functions.iter().any(|name| name == f);
        if !fixed_search_path && !inlined {
            out.push(
                Finding::new(
                    &FUNCTION_WITHOUT_SEARCH_PATH,
                    f,
                    "no fixed search_path: names in its body resolve through the caller's search_path, which a caller can point at objects of its own (qualify the names in the body)",
                )
                .fix(format!("alter function {f} set search_path = '';")),
            );
        }
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

fn app_role(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    let name = &config.app_role;
    let Some(role) = &s.app_role else {
        out.push(Finding::new(
            &APP_ROLE_MISSING,
            name,
            "no such role: the login the application connects as cannot be checked (pass the right one with --app-role)",
        ));
        return;
    };
    let quoted = quote_ident(name);
    if role.superuser {
        out.push(
            Finding::new(
                &APP_ROLE_SUPERUSER,
                name,
                "the application login is a superuser: RLS does not apply to it at all",
            )
            .fix(format!("alter role {quoted} nosuperuser;")),
        );
    }
    if role.bypass_rls {
        out.push(
            Finding::new(
                &APP_ROLE_BYPASSRLS,
                name,
                "the application login has BYPASSRLS: any query it runs outside `SET ROLE` ignores the tenant policies",
            )
            .fix(format!("alter role {quoted} nobypassrls;")),
        );
    }
    // A superuser has every role's privileges; that is reported above.
    if !role.superuser && !role.inherited.is_empty() {
        let fix = if s.server_version >= 160000 {
            // Since PostgreSQL 16 inheritance is a property of each grant.
            role.inherited
                .iter()
                .map(|r| format!("grant {} to {quoted} with inherit false;", quote_ident(r)))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            format!("alter role {quoted} noinherit;")
        };
        out.push(
            Finding::new(
                &APP_ROLE_INHERITS,
                name,
                format!(
                    "has the privileges of {} without SET ROLE: a connection with no tenant context can already use them (it should be NOINHERIT)",
                    role.inherited.join(", ")
                ),
            )
            .fix(fix),
        );
    }
    for table in s
        .tables
        .iter()
        .filter(|t| t.is_tenant() && &t.owner == name)
    {
        let finding = Finding::new(
            &APP_ROLE_OWNS_TENANT_TABLE,
            &table.qualified,
            format!(
                "owned by the application login {name}: an owner can disable RLS, and bypasses it unless forced"
            ),
        );
        out.push(if &table.schema_owner != name {
            finding.fix(format!(
                "alter table {} owner to {};",
                table.qualified,
                quote_ident(&table.schema_owner)
            ))
        } else {
            finding
        });
    }
}

fn secrets(s: &Snapshot, out: &mut Vec<Finding>) {
    for table in &s.secrets {
        if table.tenant_role.is_empty() && table.public.is_empty() {
            continue;
        }
        let mut held = Vec::new();
        if !table.tenant_role.is_empty() {
            held.push(format!(
                "`{TENANT_ROLE}` can {}",
                table.tenant_role.join(", ")
            ));
        }
        if !table.public.is_empty() {
            held.push(format!("PUBLIC holds {}", table.public.join(", ")));
        }
        out.push(
            Finding::new(
                &SECRETS_TABLE_PRIVILEGE,
                &table.qualified,
                format!(
                    "{}: tenant code must reach secrets only through the named functions (DESIGN.md invariant 7)",
                    held.join("; ")
                ),
            )
            .fix(format!(
                "revoke all on table {} from {TENANT_ROLE}, public;",
                table.qualified
            )),
        );
    }
}

fn temp_tables(s: &Snapshot, out: &mut Vec<Finding>) {
    if s.temp_roles.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            &TEMP_TABLES_ALLOWED,
            &s.database,
            format!(
                "{} may create temporary tables in this database: one lives as long as its pooled connection, not its tenant transaction, and shadows a real table of the same name for whoever borrows the connection next",
                s.temp_roles.join(", ")
            ),
        )
        .fix(format!(
            "revoke temporary on database {} from public, {};",
            quote_ident(&s.database),
            s.temp_roles
                .iter()
                .map(|r| quote_ident(r))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
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
