//! `docs/audit.md` documents exactly the lints there are: its per-lint
//! section is generated from the lint files, and this test fails when the
//! committed text differs. `UPDATE_AUDIT_DOCS=1` rewrites it instead.

use tenantry_lint::LINTS;
use tenantry_lint::docs::{BEGIN, END, lint_reference};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit.md");

/// The file with its generated section replaced by `reference`.
fn with_reference(doc: &str, reference: &str) -> String {
    let begin = doc.find(BEGIN).expect("docs/audit.md has the BEGIN marker");
    let end = doc.find(END).expect("docs/audit.md has the END marker");
    assert!(begin < end, "BEGIN comes before END");
    format!("{}{BEGIN}\n\n{reference}\n{}", &doc[..begin], &doc[end..])
}

#[test]
fn the_lint_reference_in_docs_audit_md_is_generated_from_the_lints() {
    let doc = std::fs::read_to_string(PATH).expect("docs/audit.md");
    let generated = with_reference(&doc, &lint_reference());
    if std::env::var_os("UPDATE_AUDIT_DOCS").is_some() {
        std::fs::write(PATH, &generated).expect("writing docs/audit.md");
        return;
    }
    assert!(
        doc == generated,
        "docs/audit.md differs from the lints' documentation; run \
         `UPDATE_AUDIT_DOCS=1 cargo test -p tenantry-lint --test audit_docs`"
    );
}

#[test]
fn every_lint_is_documented_once_and_nothing_else_is() {
    let doc = std::fs::read_to_string(PATH).expect("docs/audit.md");
    let documented: Vec<&str> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("### `")?.strip_suffix('`'))
        .collect();
    let lints: Vec<&str> = LINTS.iter().map(|l| l.name).collect();
    assert_eq!(documented, lints);
}

#[test]
fn the_documented_summary_line_counts_every_lint() {
    let doc = std::fs::read_to_string(PATH).expect("docs/audit.md");
    let summary = format!("{} lints checked", LINTS.len());
    assert!(
        doc.contains(&summary),
        "docs/audit.md should say `{summary}`"
    );
}
