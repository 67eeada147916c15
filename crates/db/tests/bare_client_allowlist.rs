//! DESIGN.md invariant 6: only the files on `client::LEGITIMATE_USES` may
//! name the bare client. This is the Rust form of the seed's "legitimate uses"
//! comment in `client.ts`: adding a use means adding it to that list, in review.

use std::path::{Path, PathBuf};

use tenantry_db::testing::client::LEGITIMATE_USES;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Does this file reach the bare client? From outside the db crate the path
/// says `db::client`; inside it, `crate::client` or `super::client`.
fn names_bare_client(relative: &str, text: &str) -> bool {
    let inside_db = relative.starts_with("crates/db/src/");
    text.contains("db::client")
        || (inside_db && (text.contains("crate::client") || text.contains("super::client")))
}

fn allowed(relative: &str) -> bool {
    LEGITIMATE_USES.iter().any(|(path, _)| {
        if path.ends_with('/') {
            relative.starts_with(path)
        } else {
            relative == *path
        }
    })
}

#[test]
fn only_legitimate_uses_name_the_bare_client() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 10, "found the workspace's sources");
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(path).unwrap();
            (names_bare_client(&relative, &text) && !allowed(&relative)).then_some(relative)
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these files reach tenantry_db::client without being on client::LEGITIMATE_USES: {offenders:?}"
    );
}

#[test]
fn the_scanner_catches_what_it_should() {
    assert!(names_bare_client(
        "crates/api/src/x.rs",
        "use tenantry_db::client::bare;"
    ));
    assert!(names_bare_client(
        "crates/db/src/x.rs",
        "use crate::client;"
    ));
    assert!(!names_bare_client(
        "crates/api/src/x.rs",
        "use tenantry_db::with_tenant_context;"
    ));
    assert!(!allowed("crates/api/src/routes.rs"));
    assert!(allowed("crates/db/tests/rls.rs"));
    assert!(allowed("crates/db/src/pats.rs"));
}
