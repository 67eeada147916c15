//! Reading RLS policy expressions as PostgreSQL prints them.
//!
//! The lints work on `pg_get_expr(polqual, polrelid)` text rather than on the
//! parse tree, which PostgreSQL does not expose over SQL. Deparsed text is
//! regular enough for this: every binary operator is parenthesised, `AND` and
//! `OR` chains are flattened, `BETWEEN` has become two comparisons, and the
//! initPlan form reads `( SELECT app.current_tenant() AS current_tenant)`.
//!
//! What is decided here, for one expression:
//!
//! * **pinned**: some top-level `AND` branch (or every `OR` branch) compares
//!   `organization_id` with the current tenant;
//! * **fails open**: the expression mentions the tenant, yet some branch can be
//!   true when no tenant is set (`tenant IS NULL OR ...`,
//!   `COALESCE(tenant, organization_id)`, `... OR <anything not pinned>`);
//! * **per-row calls**: tenant-function or `current_setting` calls that are not
//!   wrapped in an uncorrelated `(SELECT ...)`, so Postgres evaluates them for
//!   every row instead of once per statement.
//!
//! String literals and quoted identifiers are masked before any structure is
//! read, so a parenthesis or a keyword inside `'...'` never counts.

use std::ops::Range;

/// The tenant column of every tenant table (docs/architecture.md invariant 1).
pub const TENANT_COLUMN: &str = "organization_id";
/// The one function the tenant comes from (docs/architecture.md invariant 2).
pub const TENANT_FUNCTION: &str = "app.current_tenant";
/// The transaction-local setting behind [`TENANT_FUNCTION`].
pub const TENANT_SETTING: &str = "app.tenant_id";

/// What an expression does with the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `organization_id` is compared with the current tenant on every path.
    Pinned,
    /// The expression does not restrict rows to the current tenant.
    NotPinned,
    /// It mentions the tenant, but a branch passes when no tenant is set.
    FailsOpen,
}

/// Classify a deparsed USING or WITH CHECK expression.
pub fn classify(expr: &str) -> Verdict {
    let node = parse(expr);
    if references_tenant(expr) && may_pass_without_tenant(&node) {
        Verdict::FailsOpen
    } else if pinned(&node) {
        Verdict::Pinned
    } else {
        Verdict::NotPinned
    }
}

/// Byte ranges of tenant-function and `current_setting(...)` calls that run
/// once per row: not inside a `(SELECT ...)` without a `FROM`.
pub fn per_row_calls(expr: &str) -> Vec<Range<usize>> {
    let masked = mask(expr);
    let mut calls: Vec<Range<usize>> = Vec::new();
    let function_name = TENANT_FUNCTION
        .rsplit('.')
        .next()
        .unwrap_or(TENANT_FUNCTION);
    for name in ["current_setting", function_name] {
        let needle = format!("{name}(");
        for (at, _) in masked.match_indices(&needle) {
            if at > 0 && is_ident_byte(masked.as_bytes()[at - 1]) {
                continue;
            }
            let start = qualified_start(&masked, at);
            let open = at + name.len();
            let Some(close) = matching_close(masked.as_bytes(), open) else {
                continue;
            };
            let span = start..close + 1;
            if !in_init_plan(&masked, start) && !calls.iter().any(|c| contains(c, &span)) {
                calls.retain(|c| !contains(&span, c));
                calls.push(span);
            }
        }
    }
    calls.sort_by_key(|c| c.start);
    calls
}

/// `expr` with each of `calls` wrapped as `(SELECT ...)`: the initPlan form.
pub fn wrap_calls(expr: &str, calls: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(expr.len() + calls.len() * 10);
    let mut last = 0;
    for call in calls {
        out.push_str(&expr[last..call.start]);
        out.push_str("(SELECT ");
        out.push_str(&expr[call.clone()]);
        out.push(')');
        last = call.end;
    }
    out.push_str(&expr[last..]);
    out
}

/// Does the text mention the tenant function or the tenant setting?
pub fn references_tenant(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let function_name = TENANT_FUNCTION
        .rsplit('.')
        .next()
        .unwrap_or(TENANT_FUNCTION);
    let needle = format!("{function_name}(");
    let calls_function = lower.match_indices(&needle).any(|(at, _)| {
        at == 0 || {
            let before = lower.as_bytes()[at - 1];
            // `app.current_tenant(` or a bare `current_tenant(` (app on the path).
            before == b'.' || !is_ident_byte(before)
        }
    });
    calls_function || lower.contains(&format!("current_setting('{TENANT_SETTING}'"))
}

/// A boolean expression, split at its top-level `AND`, `OR` and `NOT`.
#[derive(Debug)]
enum Node<'a> {
    And(Vec<Node<'a>>),
    Or(Vec<Node<'a>>),
    Not(&'a str),
    Atom(&'a str),
}

fn parse(expr: &str) -> Node<'_> {
    let text = strip_parens(expr);
    let branches = split_top_level(text, "or");
    if branches.len() > 1 {
        return Node::Or(branches.into_iter().map(parse).collect());
    }
    let branches = split_top_level(text, "and");
    if branches.len() > 1 {
        return Node::And(branches.into_iter().map(parse).collect());
    }
    let lower = text.trim_start().to_ascii_lowercase();
    if lower.starts_with("not ") || lower.starts_with("not(") {
        return Node::Not(text.trim_start()[3..].trim_start());
    }
    Node::Atom(text)
}

/// True when every way the expression can be true compares
/// `organization_id` with the current tenant.
fn pinned(node: &Node<'_>) -> bool {
    match node {
        Node::And(branches) => branches.iter().any(pinned),
        Node::Or(branches) => branches.iter().all(pinned),
        Node::Not(_) => false,
        Node::Atom(atom) => is_pin(atom),
    }
}

/// Could the expression be true while the tenant is NULL? A comparison with
/// the tenant is then NULL (not true); anything that does not mention the
/// tenant may be true; an explicit escape (`IS NULL`, `COALESCE`) is.
fn may_pass_without_tenant(node: &Node<'_>) -> bool {
    match node {
        Node::And(branches) => branches.iter().all(may_pass_without_tenant),
        Node::Or(branches) => branches.iter().any(may_pass_without_tenant),
        Node::Not(inner) => !references_tenant(inner) || has_escape(inner),
        Node::Atom(atom) => {
            if has_escape(atom) {
                true
            } else if references_tenant(atom) {
                false
            } else {
                !strip_parens(atom).eq_ignore_ascii_case("false")
            }
        }
    }
}

/// `organization_id = <tenant>` or `<tenant> = organization_id`.
fn is_pin(atom: &str) -> bool {
    let text = strip_parens(atom);
    let masked = mask(text);
    let bytes = masked.as_bytes();
    let mut depth = 0i32;
    let mut equals = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'=' if depth == 0 => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                if !b"<>!=:".contains(&prev) && next != b'=' && next != b'>' {
                    equals.push(i);
                }
            }
            _ => {}
        }
    }
    let [at] = equals[..] else {
        return false;
    };
    let (left, right) = (&text[..at], &text[at + 1..]);
    (is_tenant_column(left) && is_tenant_value(right))
        || (is_tenant_value(left) && is_tenant_column(right))
}

fn is_tenant_column(text: &str) -> bool {
    let text = strip_parens(text).to_ascii_lowercase();
    text == TENANT_COLUMN
        || text
            .strip_suffix(TENANT_COLUMN)
            .and_then(|prefix| prefix.strip_suffix('.'))
            .is_some_and(|prefix| !prefix.is_empty() && prefix.bytes().all(is_ident_or_quote))
}

/// The current tenant, in any of the shapes Postgres prints it: the tenant
/// function, the setting (possibly through `nullif` and casts), with or
/// without the `(SELECT ... AS alias)` wrapper.
fn is_tenant_value(text: &str) -> bool {
    let mut text = strip_parens(text).to_string();
    loop {
        let lower = text.to_ascii_lowercase();
        if let Some(inner) = strip_cast(&lower) {
            text = strip_parens(inner).to_string();
            continue;
        }
        if let Some(rest) = lower.strip_prefix("select ") {
            text = strip_parens(strip_alias(rest)).to_string();
            continue;
        }
        break;
    }
    let lower = text.to_ascii_lowercase();
    let function_name = TENANT_FUNCTION
        .rsplit('.')
        .next()
        .unwrap_or(TENANT_FUNCTION);
    if lower == format!("{TENANT_FUNCTION}()") || lower == format!("{function_name}()") {
        return true;
    }
    if let Some(args) = single_call_args(&lower, "current_setting") {
        return args.first().is_some_and(|a| {
            strip_cast(a.trim()).unwrap_or(a.trim()) == format!("'{TENANT_SETTING}'")
        });
    }
    if let Some(args) = single_call_args(&lower, "nullif") {
        return args.first().is_some_and(|a| is_tenant_value(a));
    }
    false
}

/// `x::uuid` / `x::text` -> `x`, when the cast is at the top level.
fn strip_cast(text: &str) -> Option<&str> {
    let text = text.trim();
    let masked = mask(text);
    let at = masked.rfind("::")?;
    let ty = &masked[at + 2..];
    if depth_at(masked.as_bytes(), at) == 0 && ty.bytes().all(|b| is_ident_byte(b) || b == b'.') {
        Some(&text[..at])
    } else {
        None
    }
}

/// `x AS alias` -> `x`, for the select list of an initPlan.
fn strip_alias(text: &str) -> &str {
    let masked = mask(text);
    match masked.rfind(" as ") {
        Some(at)
            if depth_at(masked.as_bytes(), at) == 0
                && masked[at + 4..].trim().bytes().all(is_ident_or_quote) =>
        {
            &text[..at]
        }
        _ => text,
    }
}

/// The arguments of `name(...)` when the whole text is that one call.
fn single_call_args<'a>(text: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let rest = text.strip_prefix(name)?;
    if !rest.starts_with('(') {
        return None;
    }
    let open = name.len();
    let masked = mask(text);
    let close = matching_close(masked.as_bytes(), open)?;
    if close != text.len() - 1 {
        return None;
    }
    let inner = &text[open + 1..close];
    let inner_masked = &masked[open + 1..close];
    let mut args = Vec::new();
    let mut depth = 0;
    let mut last = 0;
    for (i, b) in inner_masked.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => {
                args.push(&inner[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    args.push(&inner[last..]);
    Some(args)
}

/// An explicit way out when no tenant is set: `COALESCE(...)` over the
/// tenant, or `IS NULL` applied to the tenant or to `organization_id`.
fn has_escape(text: &str) -> bool {
    let masked = mask(text);
    let bytes = masked.as_bytes();
    for (at, _) in masked.match_indices("coalesce(") {
        if at > 0 && is_ident_byte(bytes[at - 1]) {
            continue;
        }
        let open = at + "coalesce".len();
        if let Some(close) = matching_close(bytes, open)
            && references_tenant(&text[open..=close])
        {
            return true;
        }
    }
    for (at, _) in masked.match_indices(" is null") {
        if bytes.get(at + 8).is_some_and(|&b| is_ident_byte(b)) {
            continue;
        }
        let operand = operand_before(text, &masked, at);
        if references_tenant(operand) || is_tenant_column(operand) {
            return true;
        }
    }
    false
}

/// The operand that ends just before byte `end`: a parenthesised group with
/// the function name in front of it, or an identifier.
fn operand_before<'a>(text: &'a str, masked: &str, end: usize) -> &'a str {
    let bytes = masked.as_bytes();
    let mut end = end;
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    let mut start = end;
    if start > 0 && bytes[start - 1] == b')' {
        let mut depth = 0;
        while start > 0 {
            start -= 1;
            match bytes[start] {
                b')' => depth += 1,
                b'(' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    while start > 0 && (is_ident_or_quote(bytes[start - 1]) || bytes[start - 1] == b'.') {
        start -= 1;
    }
    &text[start..end]
}

/// Is the call starting at `start` the select list of a `(SELECT ...)` with
/// no `FROM`, which Postgres runs once per statement as an initPlan?
fn in_init_plan(masked: &str, start: usize) -> bool {
    let bytes = masked.as_bytes();
    let mut open_parens = Vec::new();
    for (i, &b) in bytes[..start].iter().enumerate() {
        match b {
            b'(' => open_parens.push(i),
            b')' => {
                open_parens.pop();
            }
            _ => {}
        }
    }
    for &open in open_parens.iter().rev() {
        let content = masked[open + 1..].trim_start();
        let is_select = content.starts_with("select")
            && !content.as_bytes().get(6).is_some_and(|&b| is_ident_byte(b));
        if !is_select {
            continue;
        }
        let Some(close) = matching_close(bytes, open) else {
            return false;
        };
        return split_top_level(&masked[open + 1..close], "from").len() == 1;
    }
    false
}

/// Where a call's name starts, including a `schema.` qualifier.
fn qualified_start(masked: &str, at: usize) -> usize {
    let bytes = masked.as_bytes();
    if at > 0 && bytes[at - 1] == b'.' {
        let mut start = at - 1;
        while start > 0 && is_ident_or_quote(bytes[start - 1]) {
            start -= 1;
        }
        start
    } else {
        at
    }
}

/// Split at top-level occurrences of a keyword (lower case), outside
/// parentheses and `CASE ... END`.
fn split_top_level<'a>(text: &'a str, keyword: &str) -> Vec<&'a str> {
    let masked = mask(text);
    let bytes = masked.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let at_word = i == 0 || !is_ident_byte(bytes[i - 1]);
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if at_word && word_at(bytes, i, "case") => depth += 1,
            _ if at_word && word_at(bytes, i, "end") => depth -= 1,
            _ if depth == 0 && at_word && word_at(bytes, i, keyword) => {
                parts.push(&text[last..i]);
                last = i + keyword.len();
                i = last;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[last..]);
    parts
}

fn word_at(bytes: &[u8], i: usize, word: &str) -> bool {
    bytes[i..].starts_with(word.as_bytes())
        && !bytes.get(i + word.len()).is_some_and(|&b| is_ident_byte(b))
}

/// Remove parentheses that wrap the whole text, however many.
fn strip_parens(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        let masked = mask(text);
        if text.starts_with('(') && matching_close(masked.as_bytes(), 0) == Some(text.len() - 1) {
            text = text[1..text.len() - 1].trim();
        } else {
            return text;
        }
    }
}

fn matching_close(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn depth_at(bytes: &[u8], at: usize) -> i32 {
    bytes[..at].iter().fold(0, |depth, &b| match b {
        b'(' => depth + 1,
        b')' => depth - 1,
        _ => depth,
    })
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Lower-cased ASCII copy of `text`, the same length in bytes, with the
/// contents of string literals and quoted identifiers replaced by `_`.
fn mask(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut quote: Option<u8> = None;
    for &b in text.as_bytes() {
        match quote {
            Some(q) if b == q => {
                quote = None;
                out.push(b);
            }
            Some(_) => out.push(b'_'),
            None if b == b'\'' || b == b'"' => {
                quote = Some(b);
                out.push(b);
            }
            None if b.is_ascii() => out.push(b.to_ascii_lowercase()),
            // Outside quotes non-ASCII bytes only occur in identifiers.
            None => out.push(b'_'),
        }
    }
    // Only ASCII bytes were pushed.
    String::from_utf8(out).unwrap_or_default()
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn is_ident_or_quote(b: u8) -> bool {
    is_ident_byte(b) || b == b'"'
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT_PLAN: &str = "( SELECT app.current_tenant() AS current_tenant)";

    fn pinned_form() -> String {
        format!("(organization_id = {INIT_PLAN})")
    }

    #[test]
    fn our_policies_are_pinned() {
        assert_eq!(classify(&pinned_form()), Verdict::Pinned);
        assert_eq!(
            classify(&format!("({INIT_PLAN} = organization_id)")),
            Verdict::Pinned
        );
        assert_eq!(
            classify(&format!(
                "((organization_id = {INIT_PLAN}) AND (status = 'active'::text))"
            )),
            Verdict::Pinned
        );
    }

    #[test]
    fn other_tenant_shapes_are_pinned() {
        for expr in [
            "(organization_id = app.current_tenant())",
            "(organization_id = current_tenant())",
            "(t.organization_id = app.current_tenant())",
            "(organization_id = (current_setting('app.tenant_id'::text, true))::uuid)",
            "(organization_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)",
            "(organization_id = ( SELECT (current_setting('app.tenant_id'::text))::uuid AS current_setting))",
        ] {
            assert_eq!(classify(expr), Verdict::Pinned, "{expr}");
        }
    }

    #[test]
    fn expressions_without_the_tenant_are_not_pinned() {
        for expr in [
            "true",
            "(organization_id IS NOT NULL)",
            "(organization_id = organization_id)",
            "(owner_id = ( SELECT app.current_user_id() AS current_user_id))",
            "(organization_id IN ( SELECT m.organization_id FROM member m))",
            // Mentions the tenant, but does not restrict to it; fails closed.
            &format!("(organization_id <> {INIT_PLAN})"),
            &format!("(NOT (organization_id = {INIT_PLAN}))"),
        ] {
            assert_eq!(classify(expr), Verdict::NotPinned, "{expr}");
        }
    }

    #[test]
    fn escapes_fail_open() {
        for expr in [
            format!("((organization_id = {INIT_PLAN}) OR ({INIT_PLAN} IS NULL))"),
            format!("(({INIT_PLAN} IS NULL) OR (organization_id = {INIT_PLAN}))"),
            "((current_setting('app.tenant_id'::text, true) IS NULL) OR (organization_id = (current_setting('app.tenant_id'::text, true))::uuid))".into(),
            format!("(organization_id = COALESCE({INIT_PLAN}, organization_id))"),
            format!("((organization_id = {INIT_PLAN}) OR is_public)"),
            format!("((organization_id IS NULL) OR (organization_id = {INIT_PLAN}))"),
            format!("(COALESCE({INIT_PLAN}, organization_id) = organization_id)"),
        ] {
            assert_eq!(classify(&expr), Verdict::FailsOpen, "{expr}");
        }
    }

    #[test]
    fn a_pinned_branch_guards_a_nested_escape() {
        let expr = format!(
            "((organization_id = {INIT_PLAN}) AND (({INIT_PLAN} IS NULL) OR (archived_at IS NULL)))"
        );
        assert_eq!(classify(&expr), Verdict::Pinned);
    }

    #[test]
    fn every_or_branch_pinned_is_pinned() {
        let expr = format!(
            "(((organization_id = {INIT_PLAN}) AND a) OR ((organization_id = {INIT_PLAN}) AND b))"
        );
        assert_eq!(classify(&expr), Verdict::Pinned);
    }

    #[test]
    fn literals_do_not_confuse_the_structure() {
        let expr = format!("((organization_id = {INIT_PLAN}) AND (name <> ') OR true ('::text))");
        assert_eq!(classify(&expr), Verdict::Pinned);
    }

    #[test]
    fn the_init_plan_form_is_not_per_row() {
        assert!(per_row_calls(&pinned_form()).is_empty());
        assert!(
            per_row_calls(
                "(organization_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid AS x))"
            )
            .is_empty()
        );
        assert!(
            per_row_calls("(EXISTS ( SELECT 1 FROM member m WHERE (m.user_id = \"user\".id)))")
                .is_empty()
        );
    }

    #[test]
    fn bare_calls_are_per_row_and_get_wrapped() {
        let expr = "(organization_id = app.current_tenant())";
        let calls = per_row_calls(expr);
        assert_eq!(calls.len(), 1);
        assert_eq!(&expr[calls[0].clone()], "app.current_tenant()");
        assert_eq!(
            wrap_calls(expr, &calls),
            "(organization_id = (SELECT app.current_tenant()))"
        );

        let expr = "(organization_id = (current_setting('app.tenant_id'::text, true))::uuid)";
        let calls = per_row_calls(expr);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            wrap_calls(expr, &calls),
            "(organization_id = ((SELECT current_setting('app.tenant_id'::text, true)))::uuid)"
        );
        assert_eq!(classify(&wrap_calls(expr, &calls)), Verdict::Pinned);
    }

    #[test]
    fn a_call_inside_a_subquery_with_from_is_per_row() {
        let expr =
            "(EXISTS ( SELECT 1 FROM member m WHERE (m.organization_id = app.current_tenant())))";
        assert_eq!(per_row_calls(expr).len(), 1);
    }

    #[test]
    fn the_tenant_is_recognised_by_name() {
        assert!(references_tenant(INIT_PLAN));
        assert!(references_tenant(
            "current_setting('app.tenant_id'::text, true)"
        ));
        assert!(!references_tenant("app.current_user_id()"));
        assert!(!references_tenant("my_current_tenant()"));
        assert!(!references_tenant(
            "current_setting('app.user_id'::text, true)"
        ));
    }
}
