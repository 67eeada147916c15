//! The crate layering of docs/architecture.md, read from the workspace's
//! manifests (`cargo metadata`): dependencies point only downwards, HTTP and
//! MCP frameworks stay in their surfaces, and credentials logic knows no
//! database.
//!
//! It lives in the `tenantry` binary's suite because the binary is the top of
//! the product: the one crate whose tests are about the whole of it. A new
//! workspace crate fails [`every_workspace_crate_has_a_layer`] until it is
//! placed in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The layers, lowest first (numbered from 1 in docs/architecture.md). A
/// crate's normal and build dependencies on workspace crates must sit in
/// strictly lower layers; dev-dependencies are exempt, since tests sit at the
/// top whatever crate they belong to. Names listed here need not exist yet:
/// a layer is reserved before its crate is made.
const LAYERS: &[&[&str]] = &[
    &["tenantry-domain", "tenantry-cluster"],
    &["tenantry-auth", "tenantry-db"],
    &["tenantry-lint"],
    &["tenantry-app"],
    &["tenantry-api", "tenantry-mcp"],
    &["tenantry-server"],
    &["tenantry-cli"],
    // Products built on tenantry, as outside teams build them: the example.
    &["helpdesk"],
    // Test and benchmark support, outside the product: the testkit, then
    // the benchmark, whose soak drives the server with the testkit's client.
    &["tenantry-testkit"],
    &["bench"],
];

/// The HTTP and MCP surfaces: only they, and what sits above them, may
/// depend on the frameworks in [`SURFACE_FRAMEWORKS`].
const SURFACES: &[&str] = &["tenantry-api", "tenantry-mcp"];

/// Crates that turn code into an HTTP or MCP surface.
const SURFACE_FRAMEWORKS: &[&str] = &["axum", "rmcp"];

struct Workspace {
    /// Workspace members by package name, with their declared dependencies.
    members: BTreeMap<String, Vec<Declared>>,
    /// Package id to package name, for every package in the resolve graph.
    names: BTreeMap<String, String>,
    /// Package id to the ids it depends on through normal or build edges
    /// (dev edges left out), for this platform, features as the workspace
    /// builds them.
    edges: BTreeMap<String, Vec<String>>,
    /// Package name to id, for workspace members.
    member_ids: BTreeMap<String, String>,
}

struct Declared {
    package: String,
    /// `None` for a normal dependency, else `"build"` or `"dev"`.
    kind: Option<String>,
}

/// The workspace as `cargo metadata` reads it, once per test run.
fn workspace() -> &'static Workspace {
    static WORKSPACE: OnceLock<Workspace> = OnceLock::new();
    WORKSPACE.get_or_init(read_workspace)
}

fn read_workspace() -> Workspace {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host_triple()])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");

    let member_ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| id.as_str().expect("a member id"))
        .collect();
    let mut names = BTreeMap::new();
    let mut members = BTreeMap::new();
    let mut ids_by_name = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let id = package["id"].as_str().expect("package id");
        let name = package["name"].as_str().expect("package name").to_owned();
        names.insert(id.to_owned(), name.clone());
        if member_ids.contains(id) {
            let declared = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|dep| Declared {
                    package: dep["name"].as_str().expect("dependency name").to_owned(),
                    kind: dep["kind"].as_str().map(str::to_owned),
                })
                .collect();
            members.insert(name.clone(), declared);
            ids_by_name.insert(name, id.to_owned());
        }
    }
    let mut edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
        let id = node["id"].as_str().expect("node id").to_owned();
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].as_str() != Some("dev"))
            })
            .map(|dep| dep["pkg"].as_str().expect("dep pkg").to_owned())
            .collect();
        edges.insert(id, deps);
    }
    Workspace {
        members,
        names,
        edges,
        member_ids: ids_by_name,
    }
}

/// `cargo metadata` resolves every platform's dependencies unless told one,
/// and offline it cannot fetch the other platforms' crates.
fn host_triple() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8(output.stdout)
        .expect("rustc -vV is UTF-8")
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&name))
}

impl Workspace {
    /// Every package `from` reaches through normal and build edges, each with
    /// the chain that leads to it (`from` first).
    fn reachable(&self, from: &str) -> BTreeMap<String, Vec<String>> {
        let start = &self.member_ids[from];
        let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut stack = vec![(start.clone(), vec![from.to_owned()])];
        while let Some((id, chain)) = stack.pop() {
            for dep in &self.edges[&id] {
                let name = &self.names[dep];
                if chains.contains_key(name) || name == from {
                    continue;
                }
                let mut longer = chain.clone();
                longer.push(name.clone());
                chains.insert(name.clone(), longer.clone());
                stack.push((dep.clone(), longer));
            }
        }
        chains
    }

    /// (crate, dependency) for every normal or build dependency of a
    /// workspace crate on another workspace crate (or on a name the layer
    /// table reserves).
    fn internal_edges(&self) -> Vec<(String, String)> {
        let mut edges = Vec::new();
        for (krate, declared) in &self.members {
            for dep in declared {
                let internal =
                    self.members.contains_key(&dep.package) || layer_of(&dep.package).is_some();
                if internal && dep.kind.as_deref() != Some("dev") {
                    edges.push((krate.clone(), dep.package.clone()));
                }
            }
        }
        edges
    }
}

/// Violations of the layering in `ws`.
fn layering_violations(ws: &Workspace) -> Vec<String> {
    let mut violations = Vec::new();
    for (krate, dependency) in ws.internal_edges() {
        let (Some(from), Some(to)) = (layer_of(&krate), layer_of(&dependency)) else {
            continue; // unplaced crates fail every_workspace_crate_has_a_layer
        };
        if to >= from {
            violations.push(format!(
                "{krate} (layer {}) depends on {dependency} (layer {}): \
                 dependencies must point to strictly lower layers",
                from + 1,
                to + 1
            ));
        }
    }
    violations
}

#[test]
fn every_workspace_crate_has_a_layer() {
    let ws = workspace();
    let unplaced: Vec<&String> = ws
        .members
        .keys()
        .filter(|name| layer_of(name).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "workspace crates missing from LAYERS in {}: {unplaced:?}; place each one \
         (and say where in docs/architecture.md)",
        file!()
    );
}

#[test]
fn workspace_dependencies_point_to_strictly_lower_layers() {
    let violations = layering_violations(workspace());
    assert!(
        violations.is_empty(),
        "layering violations (docs/architecture.md, \"Parts\"):\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn http_and_mcp_frameworks_stay_in_their_surfaces() {
    let ws = workspace();
    let surface_layer = SURFACES
        .iter()
        .filter_map(|s| layer_of(s))
        .min()
        .expect("the surfaces have a layer");
    let mut violations = Vec::new();
    for krate in ws.members.keys() {
        if layer_of(krate).is_none_or(|layer| layer >= surface_layer) {
            continue;
        }
        let reachable = ws.reachable(krate);
        for framework in SURFACE_FRAMEWORKS {
            if let Some(chain) = reachable.get(*framework) {
                violations.push(format!(
                    "{krate} sits below the surfaces but reaches {framework}: {}",
                    chain.join(" -> ")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "HTTP and MCP frameworks must stay in {SURFACES:?} and above:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn credentials_logic_does_not_reach_the_database_layer() {
    let ws = workspace();
    let reachable = ws.reachable("tenantry-auth");
    if let Some(chain) = reachable.get("tenantry-db") {
        panic!(
            "tenantry-auth must stay pure credentials logic, but reaches tenantry-db: {}",
            chain.join(" -> ")
        );
    }
}

/// The surfaces call the service layer, which calls the data layer: a
/// handler or a tool that could name `tenantry_db` could skip the rules.
#[test]
fn surfaces_reach_the_data_only_through_the_service_layer() {
    let ws = workspace();
    let direct: Vec<String> = ws
        .internal_edges()
        .into_iter()
        .filter(|(krate, dependency)| {
            SURFACES.contains(&krate.as_str()) && dependency == "tenantry-db"
        })
        .map(|(krate, dependency)| format!("{krate} -> {dependency}"))
        .collect();
    assert!(
        direct.is_empty(),
        "the surfaces must depend on tenantry-app, not on tenantry-db: {direct:?}"
    );
}
