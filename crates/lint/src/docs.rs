//! The per-lint reference of `docs/audit.md`, generated from the lints.
//!
//! The committed file holds it between [`BEGIN`] and [`END`]; the prose
//! around it is written by hand. `crates/lint/tests/audit_docs.rs` fails when
//! the committed section differs from [`lint_reference`], and rewrites it when
//! run with `UPDATE_AUDIT_DOCS=1`.

use crate::{Category, LINTS};

/// The line that opens the generated section.
pub const BEGIN: &str = "<!-- BEGIN GENERATED LINT REFERENCE: edit crates/lint/src/lints/*.rs, then run UPDATE_AUDIT_DOCS=1 cargo test -p tenantry-lint --test audit_docs -->";
/// The line that closes it.
pub const END: &str = "<!-- END GENERATED LINT REFERENCE -->";

/// One `##` heading per category, then each of its lints as `### `name``
/// followed by its documentation, in [`LINTS`] order.
pub fn lint_reference() -> String {
    let mut out = String::new();
    let mut category = None;
    for lint in LINTS {
        if category != Some(lint.category) {
            category = Some(lint.category);
            out.push_str(heading(lint.category));
            out.push('\n');
        }
        out.push_str(&format!("### `{}`\n\n", lint.name));
        out.push_str(lint.doc.trim_matches('\n'));
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end_matches('\n').len());
    out.push('\n');
    out
}

fn heading(category: Category) -> &'static str {
    match category {
        Category::Security => "## Security (errors)\n",
        Category::Performance => "## Performance (warnings)\n",
        Category::Citus => {
            "## Scale-out readiness: `citus` (warnings)

What distributing every tenant table by `organization_id` would need; see
[scale-out.md](scale-out.md).
"
        }
    }
}
