//! What several lints share: the text of the fixes they suggest, and how
//! findings name objects.

use tenantry_db::catalog::{Policy, TENANT_ROLE, Table};

use crate::expr;

/// The tenant check a policy on a tenant table should have.
pub(crate) fn pinned_expression() -> String {
    format!(
        "{} = (select {}())",
        expr::TENANT_COLUMN,
        expr::TENANT_FUNCTION
    )
}

/// `create policy` giving `authenticated` the tenant's rows of `table`.
pub(crate) fn tenant_policy_sql(table: &Table) -> String {
    let pinned = pinned_expression();
    format!(
        "create policy {} on {} for all to {} using ({pinned}) with check ({pinned});",
        quote_ident(&format!("{}_tenant_isolation", table.name)),
        table.qualified,
        TENANT_ROLE,
    )
}

/// Quote an identifier the way `quote_ident` would for names we build.
pub(crate) fn quote_ident(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `name on schema.table`: how policies, constraints and indexes are named.
pub(crate) fn on_table(name: &str, table: &Table) -> String {
    format!("{name} on {}", table.qualified)
}

/// The policies on `table`.
pub(crate) fn policies_on<'a>(policies: &'a [Policy], table: &Table) -> Vec<&'a Policy> {
    policies.iter().filter(|p| p.table == table.oid).collect()
}

/// A policy's command: `(reads, writes)`.
pub(crate) fn reads_writes(policy: &Policy) -> (bool, bool) {
    let writes = matches!(policy.command.as_str(), "*" | "a" | "w");
    let reads = policy.command != "a";
    (reads, writes)
}

/// `alter policy ...` pinning every clause the policy's command uses.
pub(crate) fn pin_policy_sql(table: &Table, policy: &Policy) -> String {
    let alter = alter_policy(table, policy);
    let pinned = pinned_expression();
    match reads_writes(policy) {
        (true, true) => format!("{alter} using ({pinned}) with check ({pinned});"),
        (true, false) => format!("{alter} using ({pinned});"),
        _ => format!("{alter} with check ({pinned});"),
    }
}

/// `alter policy <name> on <table>`.
pub(crate) fn alter_policy(table: &Table, policy: &Policy) -> String {
    format!("alter policy {} on {}", policy.name, table.qualified)
}

/// The clauses (`USING`, `WITH CHECK`) of a permissive policy whose
/// expression gets `verdict`, among those its command uses.
pub(crate) fn clauses_with(policy: &Policy, verdict: expr::Verdict) -> Vec<&'static str> {
    let (reads, writes) = reads_writes(policy);
    [
        ("USING", reads, policy.using.as_deref()),
        ("WITH CHECK", writes, policy.with_check.as_deref()),
    ]
    .into_iter()
    .filter_map(|(clause, applies, text)| {
        let text = text.filter(|_| applies)?;
        (expr::classify(text) == verdict).then_some(clause)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::quote_ident;

    #[test]
    fn built_names_are_quoted_when_needed() {
        assert_eq!(
            quote_ident("member_tenant_isolation"),
            "member_tenant_isolation"
        );
        assert_eq!(quote_ident("Member"), "\"Member\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
