//! docs/architecture.md invariant 6: only the files on `client::LEGITIMATE_USES` may
//! name the bare client. This is the Rust form of the seed's "legitimate uses"
//! comment in `client.ts`: adding a use means adding it, with its reason, to
//! that register, in review.
//!
//! The compiler already keeps the module private to `tenantry-db` (and to
//! tests, through the `testing` feature); this test keeps the uses inside the
//! crate to the registered files. Each source file is parsed, and every `use`
//! tree, every path and every macro's tokens are checked, so no import form
//! (grouped, renamed, `self::`, `super::`, through an alias or a glob) slips
//! past a text search.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};
use tenantry_db::testing::client::LEGITIMATE_USES;

/// Names that only the bare client defines: naming one is using it.
const BARE_CLIENT_ITEMS: &[&str] = &["BareClient", "BareStatements", "BypassReason"];

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

/// Where a path may start to reach the db crate's `client` module.
struct Scope {
    /// Names that stand for the db crate or something inside it:
    /// `tenantry_db`, in the db crate's own sources `crate`, `self` and
    /// `super`, and every name a `use` of one of them binds.
    roots: HashSet<String>,
    /// Whether a bare `client::...` path can mean the module: inside the db
    /// crate's sources, or after a glob import that can bring it in.
    client_in_scope: bool,
}

/// Every name this file binds with `use` out of a root, and whether it
/// glob-imports out of one. Runs to a fixed point so that an alias's own
/// aliases (`use tenantry_db as t; use t::testing;`) count as well.
fn scope_of(file: &syn::File, inside_db: bool) -> Scope {
    let mut scope = Scope {
        roots: HashSet::from(["tenantry_db".to_owned()]),
        client_in_scope: inside_db,
    };
    if inside_db {
        for root in ["crate", "self", "super"] {
            scope.roots.insert(root.to_owned());
        }
    }
    let leaves = all_use_leaves(file);
    loop {
        let before = scope.roots.len();
        for leaf in &leaves {
            if !leaf.path.first().is_some_and(|s| scope.roots.contains(s)) {
                continue;
            }
            match &leaf.binds {
                Some(name) => {
                    scope.roots.insert(name.clone());
                }
                // `use <root>::*` or `use <root>::testing::*` can bring the
                // module itself into scope; `use tenantry_db::prelude::*` cannot.
                None if leaf.path.len() == 1
                    || leaf.path.last().is_some_and(|s| s == "testing") =>
                {
                    scope.client_in_scope = true;
                }
                None => {}
            }
        }
        if scope.roots.len() == before {
            return scope;
        }
    }
}

/// One leaf of a `use` tree: its full path and the name it binds (`None`
/// for a glob). `use a::{self as b}` binds `b` to path `a`.
struct UseLeaf {
    path: Vec<String>,
    binds: Option<String>,
}

fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name.clone());
            }
            let binds = if name == "self" {
                prefix.last().cloned()
            } else {
                Some(name)
            };
            out.push(UseLeaf { path, binds });
        }
        syn::UseTree::Rename(r) => {
            let name = r.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name);
            }
            out.push(UseLeaf {
                path,
                binds: Some(r.rename.to_string()),
            });
        }
        syn::UseTree::Glob(_) => out.push(UseLeaf {
            path: prefix.clone(),
            binds: None,
        }),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix, out);
            }
        }
    }
}

/// The leaves of every `use` item of the file, nested modules and function
/// bodies included.
fn all_use_leaves(file: &syn::File) -> Vec<UseLeaf> {
    struct Uses(Vec<UseLeaf>);
    impl<'ast> Visit<'ast> for Uses {
        fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
            use_leaves(&item.tree, &mut Vec::new(), &mut self.0);
        }
    }
    let mut uses = Uses(Vec::new());
    uses.visit_file(file);
    uses.0
}

/// Whether a sequence of path segments reaches the bare client.
fn reaches_bare_client(segments: &[String], scope: &Scope) -> bool {
    if segments
        .iter()
        .any(|s| BARE_CLIENT_ITEMS.contains(&s.as_str()))
    {
        return true;
    }
    // `<root>::...::client`: the module, reached from the db crate.
    let after_root = segments.iter().position(|s| scope.roots.contains(s));
    if let Some(start) = after_root
        && segments[start + 1..].iter().any(|s| s == "client")
    {
        return true;
    }
    // `client::bare` where `client` can only be the module (a local variable
    // named `client` is a path of one segment).
    if scope.client_in_scope && segments.len() >= 2 && segments[0] == "client" {
        return true;
    }
    segments
        .windows(2)
        .any(|w| w[0] == "client" && w[1] == "bare")
}

struct Detector<'a> {
    scope: &'a Scope,
    found: Vec<String>,
}

impl Detector<'_> {
    fn check(&mut self, segments: Vec<String>) {
        if reaches_bare_client(&segments, self.scope) {
            self.found.push(segments.join("::"));
        }
    }
}

/// The path-like runs in a macro's tokens (`a::b::c`, identifiers joined
/// by `::`), nested groups included: macro arguments are tokens, not paths.
fn macro_paths(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let mut run: Vec<String> = Vec::new();
    let mut colons = 0;
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                if colons != 2 && !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                run.push(ident.to_string());
                colons = 0;
            }
            TokenTree::Punct(p) if p.as_char() == ':' && colons < 2 => colons += 1,
            other => {
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                colons = 0;
                if let TokenTree::Group(group) = other {
                    macro_paths(group.stream(), out);
                }
            }
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
}

impl<'ast> Visit<'ast> for Detector<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        use_leaves(&item.tree, &mut Vec::new(), &mut leaves);
        for leaf in leaves {
            let mut segments = leaf.path;
            // A rename's new name (`as c`) counts too: it may be an alias root.
            if let Some(name) = leaf.binds
                && segments.last() != Some(&name)
            {
                segments.push(name);
            }
            self.check(segments);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check(path.segments.iter().map(|s| s.ident.to_string()).collect());
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let mut paths = Vec::new();
        macro_paths(mac.tokens.clone(), &mut paths);
        for path in paths {
            self.check(path);
        }
        visit::visit_macro(self, mac);
    }
}

/// The ways `text` (the file at `relative`) names the bare client; empty
/// when it does not.
fn bare_client_uses(relative: &str, text: &str) -> Result<Vec<String>, syn::Error> {
    let file = syn::parse_file(text)?;
    let scope = scope_of(&file, relative.starts_with("crates/db/src/"));
    let mut detector = Detector {
        scope: &scope,
        found: Vec::new(),
    };
    detector.visit_file(&file);
    Ok(detector.found)
}

fn names_bare_client(relative: &str, text: &str) -> bool {
    !bare_client_uses(relative, text)
        .unwrap_or_else(|e| panic!("{relative} does not parse: {e}"))
        .is_empty()
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
    let mut offenders = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap();
        let uses = bare_client_uses(&relative, &text)
            .unwrap_or_else(|e| vec![format!("(unparsable, so unchecked: {e})")]);
        if !uses.is_empty() && !allowed(&relative) {
            offenders.push(format!("{relative}: {}", uses.join(", ")));
        }
    }
    assert!(
        offenders.is_empty(),
        "these files reach the bare client without being on client::LEGITIMATE_USES:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_registered_use_exists_and_gives_its_reason() {
    let root = workspace_root();
    for (path, reason) in LEGITIMATE_USES {
        assert!(root.join(path).exists(), "{path} is registered but missing");
        assert!(!reason.trim().is_empty(), "{path} has no reason");
    }
}

#[test]
fn every_import_form_of_the_bare_client_is_caught() {
    let inside = "crates/db/src/x.rs";
    let outside = "crates/api/src/x.rs";
    let caught = [
        (inside, "use crate::client;"),
        (inside, "use crate::client::{self, BypassReason};"),
        (inside, "use crate::{client::bare};"),
        (inside, "use crate::{audit, client::{self as c}};"),
        (inside, "use crate::client as c;"),
        (inside, "use crate::client::bare as take;"),
        (inside, "use crate::client::*;"),
        (inside, "mod m { use super::client; }"),
        (inside, "mod m { use super::super::client::bare; }"),
        (inside, "use self::client::bare;"),
        (inside, "fn f(db: &D) { let _ = crate::client::bare(db); }"),
        (inside, "fn f(db: &D) { let _ = client::bare(db); }"),
        (
            inside,
            "use crate::*; fn f(db: &D) { let _ = client::bare(db); }",
        ),
        (
            inside,
            "use crate as root; fn f() { root::client::bare(); }",
        ),
        (inside, "fn f() { let r = BypassReason::Seed; }"),
        (inside, "fn f(c: &BareClient) {}"),
        (inside, "fn f() { let _ = m!(crate::client::bare); }"),
        (inside, "fn f() { async { use crate::client; }; }"),
        (outside, "use tenantry_db::testing::client::bare;"),
        (outside, "use tenantry_db::testing::client as c;"),
        (
            outside,
            "use tenantry_db::testing; fn f() { testing::client::bare(); }",
        ),
        (
            outside,
            "use tenantry_db as t; fn f() { t::testing::client::bare(); }",
        ),
        (
            outside,
            "use tenantry_db as t; use t::testing as x; fn f() { x::client::bare(); }",
        ),
        (
            outside,
            "use tenantry_db::testing::*; fn f() { client::bare(); }",
        ),
        (
            outside,
            "fn f(c: tenantry_db::testing::client::BareClient) {}",
        ),
        (
            outside,
            "fn f(c: &impl tenantry_db::testing::client::BareStatements) {}",
        ),
    ];
    for (relative, snippet) in caught {
        assert!(
            names_bare_client(relative, snippet),
            "not caught in {relative}: {snippet}"
        );
    }
}

#[test]
fn a_file_that_does_not_use_the_bare_client_passes() {
    let clean = r#"
        use tenantry_db::prelude::*;
        use tenantry_db::{Database, with_tenant_context};
        use tokio_postgres::Client;
        mod client { pub fn connect() {} }
        fn f(client: &Client, bare: bool) {
            let _ = client.query("select 1", &[]);
            let _ = bare;
            client::connect();
        }
        /// Mentions `tenantry_db::client::bare` in a comment only.
        fn g() {}
    "#;
    assert!(!names_bare_client("crates/api/src/x.rs", clean));
    let inside = "use crate::database::Database; fn f(client: &tokio_postgres::Client) { client.batch_execute(\"\"); }";
    assert!(!names_bare_client("crates/db/src/x.rs", inside));
    assert!(!allowed("crates/api/src/routes.rs"));
    assert!(allowed("crates/db/tests/rls.rs"));
    assert!(allowed("crates/db/src/pats.rs"));
}
