//! Every tool the server lists, called by rmcp's own client over streamable
//! HTTP with a personal access token, against the real `/mcp` router over a
//! seeded database: what a real agent's SDK sends and reads.
//!
//! The seed: Alice owns Acme Corp (her default organization) and is a member
//! of Globex; Carol alone owns Initech. Each tool is called with valid
//! arguments and its result read, and refused where it can refuse: bad
//! arguments, and another organization's ids, which are not found. Initech's
//! data never reaches Alice. [`TOOLS`] is checked against `tools/list`, so a
//! tool added without a test here fails the suite.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Server, pat_for, start};
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tenantry_db::seed::demo;
use tenantry_testkit::TestDb;

/// One test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(30);

/// The tools this file covers, each with a test of its own below.
const TOOLS: [&str; 11] = [
    "whoami",
    "list_organizations",
    "switch_organization",
    "list_projects",
    "get_project",
    "create_project",
    "update_project",
    "record_usage",
    "usage_report",
    "list_members",
    "recent_audit_log",
];

type Client = RunningService<RoleClient, ClientConfig>;

/// rmcp's client over streamable HTTP, as the owner of `token`: initialize
/// and `notifications/initialized` happen in `serve`.
async fn connect(server: &Server, token: &str) -> Client {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.url.as_str()).auth_header(token),
    );
    ClientConfig::default()
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
        .serve(transport)
        .await
        .expect("rmcp's client connects with a PAT")
}

/// A server over the seed, Alice connected, and Carol's token.
struct Fixture {
    test: TestDb,
    server: Server,
    alice: Client,
    carol_token: String,
}

async fn fixture() -> Fixture {
    let (test, server) = start().await;
    let alice = connect(&server, &server.token).await;
    let carol_token = pat_for(&test.db, demo::CAROL).await;
    Fixture {
        test,
        server,
        alice,
        carol_token,
    }
}

impl Fixture {
    async fn carol(&self) -> Client {
        connect(&self.server, &self.carol_token).await
    }

    /// Initech's only project, as Carol sees it.
    async fn initech_project(&self) -> Value {
        let carol = self.carol().await;
        let page = ok(&carol, "list_projects", json!({})).await;
        close(carol).await;
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{page}");
        items[0].clone()
    }
}

/// Run `test` on a fresh [`Fixture`], then close Alice's client.
async fn run(test: impl AsyncFnOnce(&Fixture)) {
    tokio::time::timeout(BUDGET, async {
        let f = fixture().await;
        test(&f).await;
        close(f.alice).await;
    })
    .await
    .expect("the test took too long");
}

/// End `client`'s session and wait until the server has answered.
///
/// A client merely dropped ends its session later, while the test is
/// dropping its database: that drop blocks the runtime, so a connection the
/// server opens for the late request stalls in authentication and holds
/// `DROP DATABASE` for PostgreSQL's `authentication_timeout` (60 s).
async fn close(client: Client) {
    client.cancel().await.expect("the client closes");
}

/// `tools/call`; the result as rmcp decoded it, or the JSON-RPC error's text.
async fn call(
    client: &Client,
    tool: &str,
    arguments: Value,
) -> Result<rmcp::model::CallToolResult, String> {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    client.call_tool(params).await.map_err(|e| e.to_string())
}

/// A successful call's structured content, which its text content repeats.
async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool} {arguments}: {e}"));
    assert_eq!(
        result.is_error,
        Some(false),
        "{tool} {arguments}: {result:?}"
    );
    let structured = result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("{tool}: no structured content: {result:?}"));
    let text = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.as_str())
        .unwrap_or_else(|| panic!("{tool}: no text content: {result:?}"));
    assert_eq!(
        serde_json::from_str::<Value>(text).expect("text content is JSON"),
        structured,
        "{tool}: text and structured content differ"
    );
    structured
}

/// A refused call: a tool error (`isError: true`) whose text names
/// `needle`, or, for arguments of the wrong shape, a JSON-RPC error that does.
async fn refused(client: &Client, tool: &str, arguments: Value, needle: &str) {
    let text = match call(client, tool, arguments.clone()).await {
        Ok(result) => {
            assert_eq!(
                result.is_error,
                Some(true),
                "{tool} {arguments}: {result:?}"
            );
            result
                .content
                .iter()
                .filter_map(|c| c.as_text())
                .map(|t| t.text.clone())
                .collect::<Vec<_>>()
                .join(" ")
        }
        Err(error) => error,
    };
    assert!(
        text.to_lowercase().contains(&needle.to_lowercase()),
        "{tool} {arguments}: {text:?} does not name {needle:?}"
    );
}

fn names(items: &Value, field: &str) -> BTreeSet<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|item| {
            field
                .split('.')
                .fold(item, |v, k| &v[k])
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {item}"))
                .to_owned()
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const ACME_PROJECTS: [&str; 2] = ["Website relaunch", "Support bot"];

#[tokio::test]
async fn the_listed_tools_are_exactly_the_ones_tested_here() {
    run(async |f: &Fixture| {
        let listed: BTreeSet<String> = f
            .alice
            .list_all_tools()
            .await
            .expect("tools/list")
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect();
        assert_eq!(
            listed,
            set(&TOOLS),
            "a tool without a client test, or a test without its tool"
        );
    })
    .await;
}

#[tokio::test]
async fn whoami_names_the_caller_the_default_organization_and_the_role() {
    run(async |f: &Fixture| {
        let me = ok(&f.alice, "whoami", json!({})).await;
        assert_eq!(me["user"]["id"], json!(demo::ALICE), "{me}");
        assert_eq!(me["user"]["email"], "alice@example.com", "{me}");
        assert_eq!(me["organization"]["id"], json!(demo::ACME), "{me}");
        assert_eq!(me["organization"]["slug"], "acme", "{me}");
        assert_eq!(me["role"], "owner", "{me}");
        let carol = f.carol().await;
        let her = ok(&carol, "whoami", json!({})).await;
        close(carol).await;
        assert_eq!(her["organization"]["slug"], "initech", "{her}");
    })
    .await;
}

#[tokio::test]
async fn list_organizations_lists_only_the_callers_with_their_roles() {
    run(async |f: &Fixture| {
        let listed = ok(&f.alice, "list_organizations", json!({})).await;
        let organizations = &listed["organizations"];
        assert_eq!(
            names(organizations, "slug"),
            set(&["acme", "globex"]),
            "{listed}"
        );
        for organization in organizations.as_array().unwrap() {
            let expected = match organization["slug"].as_str() {
                Some("acme") => "owner",
                _ => "member",
            };
            assert_eq!(organization["role"], expected, "{organization}");
        }
    })
    .await;
}

#[tokio::test]
async fn switch_organization_changes_where_the_session_acts_and_refuses_a_foreign_one() {
    run(async |f: &Fixture| {
        let switched = ok(
            &f.alice,
            "switch_organization",
            json!({"organizationId": demo::GLOBEX}),
        )
        .await;
        assert_eq!(
            switched["organizationId"],
            json!(demo::GLOBEX),
            "{switched}"
        );
        assert_eq!(switched["role"], "member", "{switched}");
        let me = ok(&f.alice, "whoami", json!({})).await;
        assert_eq!(me["organization"]["slug"], "globex", "{me}");
        assert_eq!(me["role"], "member", "{me}");
        let page = ok(&f.alice, "list_projects", json!({})).await;
        assert_eq!(
            names(&page["items"], "name"),
            set(&["Support bot", "Demand forecasting"]),
            "{page}"
        );

        refused(
            &f.alice,
            "switch_organization",
            json!({"organizationId": demo::INITECH}),
            "not a member",
        )
        .await;
        refused(
            &f.alice,
            "switch_organization",
            json!({"organizationId": "not-a-uuid"}),
            "uuid",
        )
        .await;
        refused(
            &f.alice,
            "switch_organization",
            json!({}),
            "`organizationId`",
        )
        .await;
        let me = ok(&f.alice, "whoami", json!({})).await;
        assert_eq!(
            me["organization"]["slug"], "globex",
            "a refused switch leaves the session where it was: {me}"
        );

        // The choice belongs to this session, not to Alice.
        let other = connect(&f.server, &f.server.token).await;
        let me = ok(&other, "whoami", json!({})).await;
        close(other).await;
        assert_eq!(me["organization"]["slug"], "acme", "{me}");
    })
    .await;
}

#[tokio::test]
async fn list_projects_pages_through_the_current_organization_only() {
    run(async |f: &Fixture| {
        let page = ok(&f.alice, "list_projects", json!({})).await;
        assert_eq!(names(&page["items"], "name"), set(&ACME_PROJECTS), "{page}");
        assert_eq!(
            names(&page["items"], "organizationId"),
            set(&[demo::ACME.to_string().as_str()]),
            "{page}"
        );
        assert!(page.get("nextCursor").is_none_or(Value::is_null), "{page}");

        let first = ok(&f.alice, "list_projects", json!({"limit": 1})).await;
        let cursor = first["nextCursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let second = ok(
            &f.alice,
            "list_projects",
            json!({"limit": 1, "cursor": cursor}),
        )
        .await;
        let mut both = names(&first["items"], "name");
        both.extend(names(&second["items"], "name"));
        assert_eq!(both, set(&ACME_PROJECTS), "{first} then {second}");

        refused(&f.alice, "list_projects", json!({"limit": 0}), "limit").await;
        refused(&f.alice, "list_projects", json!({"limit": 101}), "limit").await;
        refused(&f.alice, "list_projects", json!({"limit": "ten"}), "ten").await;
    })
    .await;
}

#[tokio::test]
async fn get_project_reads_one_and_another_organizations_is_not_found() {
    run(async |f: &Fixture| {
        let page = ok(&f.alice, "list_projects", json!({})).await;
        let listed = &page["items"][0];
        let id = listed["id"].as_str().unwrap();
        let project = ok(&f.alice, "get_project", json!({"id": id})).await;
        assert_eq!(&project, listed);

        let foreign = f.initech_project().await;
        refused(
            &f.alice,
            "get_project",
            json!({"id": foreign["id"]}),
            "not found",
        )
        .await;
        refused(&f.alice, "get_project", json!({"id": "not-a-uuid"}), "uuid").await;
        refused(&f.alice, "get_project", json!({}), "`id`").await;
    })
    .await;
}

#[tokio::test]
async fn create_project_creates_in_the_current_organization_and_refuses_bad_names() {
    run(async |f: &Fixture| {
        let created = ok(
            &f.alice,
            "create_project",
            json!({"name": "From rmcp", "description": "made by an SDK"}),
        )
        .await;
        assert_eq!(created["name"], "From rmcp", "{created}");
        assert_eq!(created["description"], "made by an SDK", "{created}");
        assert_eq!(created["organizationId"], json!(demo::ACME), "{created}");
        assert_eq!(created["createdBy"], json!(demo::ALICE), "{created}");
        let read = ok(&f.alice, "get_project", json!({"id": created["id"]})).await;
        assert_eq!(read, created);

        let carol = f.carol().await;
        refused(
            &carol,
            "get_project",
            json!({"id": created["id"]}),
            "not found",
        )
        .await;

        refused(
            &f.alice,
            "create_project",
            json!({"name": "Support bot"}),
            "conflict",
        )
        .await;
        refused(&f.alice, "create_project", json!({"name": ""}), "name").await;
        refused(
            &f.alice,
            "create_project",
            json!({"name": "x".repeat(201)}),
            "name",
        )
        .await;
        refused(&f.alice, "create_project", json!({}), "`name`").await;
        // Names are unique per organization only.
        let same_name = ok(&carol, "create_project", json!({"name": "From rmcp"})).await;
        close(carol).await;
        assert_eq!(
            same_name["organizationId"],
            json!(demo::INITECH),
            "{same_name}"
        );
    })
    .await;
}

#[tokio::test]
async fn update_project_renames_and_cannot_reach_another_organizations() {
    run(async |f: &Fixture| {
        let page = ok(&f.alice, "list_projects", json!({})).await;
        let id = page["items"][0]["id"].clone();
        let updated = ok(
            &f.alice,
            "update_project",
            json!({"id": id, "name": "Renamed", "description": "new words"}),
        )
        .await;
        assert_eq!(updated["id"], id, "{updated}");
        assert_eq!(updated["name"], "Renamed", "{updated}");
        assert_eq!(updated["description"], "new words", "{updated}");
        let read = ok(&f.alice, "get_project", json!({"id": id})).await;
        assert_eq!(read["name"], "Renamed", "{read}");

        let foreign = f.initech_project().await;
        refused(
            &f.alice,
            "update_project",
            json!({"id": foreign["id"], "name": "Taken over"}),
            "not found",
        )
        .await;
        assert_eq!(
            f.initech_project().await,
            foreign,
            "Initech's project is unchanged"
        );
        refused(
            &f.alice,
            "update_project",
            json!({"id": "not-a-uuid", "name": "x"}),
            "uuid",
        )
        .await;
        refused(
            &f.alice,
            "update_project",
            json!({"id": id, "name": ""}),
            "name",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn record_usage_records_one_call_and_refuses_unknown_models_and_foreign_projects() {
    run(async |f: &Fixture| {
        let page = ok(&f.alice, "list_projects", json!({})).await;
        let project = page["items"][0]["id"].clone();
        let event = ok(
            &f.alice,
            "record_usage",
            json!({"model": "gpt-4o", "projectId": project, "inputTokens": 1200,
                   "outputTokens": 300, "occurredAt": "2026-11-20T10:00:00Z"}),
        )
        .await;
        assert_eq!(event["model"], "gpt-4o", "{event}");
        assert_eq!(event["projectId"], project, "{event}");
        assert_eq!(event["inputTokens"], 1200, "{event}");
        assert_eq!(event["outputTokens"], 300, "{event}");
        assert_eq!(event["occurredAt"], "2026-11-20T10:00:00Z", "{event}");

        let foreign = f.initech_project().await;
        let valid = |extra: Value| {
            let mut arguments = json!({"model": "gpt-4o", "inputTokens": 1, "outputTokens": 1});
            for (k, v) in extra.as_object().unwrap() {
                arguments[k] = v.clone();
            }
            arguments
        };
        refused(
            &f.alice,
            "record_usage",
            valid(json!({"projectId": foreign["id"]})),
            "projectId",
        )
        .await;
        refused(
            &f.alice,
            "record_usage",
            valid(json!({"model": "no-such-model"})),
            "model",
        )
        .await;
        refused(
            &f.alice,
            "record_usage",
            valid(json!({"projectId": "nope"})),
            "projectId",
        )
        .await;
        refused(
            &f.alice,
            "record_usage",
            valid(json!({"occurredAt": "yesterday"})),
            "occurredAt",
        )
        .await;
        refused(
            &f.alice,
            "record_usage",
            valid(json!({"inputTokens": -1})),
            "inputTokens",
        )
        .await;

        let carol = f.carol().await;
        let report = ok(
            &carol,
            "usage_report",
            json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        )
        .await;
        close(carol).await;
        let events: i64 = report["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["events"].as_i64().unwrap())
            .sum();
        assert_eq!(events, 1, "only Initech's seeded event: {report}");
    })
    .await;
}

#[tokio::test]
async fn usage_report_sums_the_current_organizations_usage_only() {
    run(async |f: &Fixture| {
        let november = json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"});
        let report = ok(&f.alice, "usage_report", november.clone()).await;
        // Acme's four seeded events; Globex's and Initech's are not counted.
        let days = report["days"].as_array().expect("days");
        let sum = |field: &str| -> i64 { days.iter().map(|d| d[field].as_i64().unwrap()).sum() };
        assert_eq!(sum("events"), 4, "{report}");
        assert_eq!(
            sum("inputTokens"),
            12_000 + 40_000 + 8_000 + 15_500,
            "{report}"
        );
        assert_eq!(
            sum("outputTokens"),
            3_000 + 9_000 + 2_500 + 4_100,
            "{report}"
        );
        let total: f64 = report["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["costUsd"].as_f64().unwrap())
            .sum();
        let reported = report["totalCostUsd"].as_f64().expect("totalCostUsd");
        assert!(
            reported > 0.0 && (total - reported).abs() < 1e-9,
            "{report}"
        );

        refused(
            &f.alice,
            "usage_report",
            json!({"from": "then", "to": "2026-12-01T00:00:00Z"}),
            "from",
        )
        .await;
        refused(
            &f.alice,
            "usage_report",
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
            "after from",
        )
        .await;
        refused(
            &f.alice,
            "usage_report",
            json!({"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
            "366",
        )
        .await;
        refused(
            &f.alice,
            "usage_report",
            json!({"from": "2026-11-01T00:00:00Z"}),
            "`to`",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn list_members_lists_the_current_organizations_members() {
    run(async |f: &Fixture| {
        let listed = ok(&f.alice, "list_members", json!({})).await;
        let members = &listed["members"];
        assert_eq!(
            names(members, "user.email"),
            set(&["alice@example.com", "dave@example.com"]),
            "{listed}"
        );
        for member in members.as_array().unwrap() {
            assert_eq!(member["organizationId"], json!(demo::ACME), "{member}");
            let expected = match member["user"]["email"].as_str() {
                Some("alice@example.com") => "owner",
                _ => "member",
            };
            assert_eq!(member["role"], expected, "{member}");
        }
        let carol = f.carol().await;
        let hers = ok(&carol, "list_members", json!({})).await;
        close(carol).await;
        assert_eq!(
            names(&hers["members"], "user.email"),
            set(&["carol@example.com"]),
            "{hers}"
        );
    })
    .await;
}

#[tokio::test]
async fn recent_audit_log_shows_the_latest_write_and_is_for_owners_and_admins_only() {
    run(async |f: &Fixture| {
        let created = ok(&f.alice, "create_project", json!({"name": "Audited"})).await;
        let log = ok(&f.alice, "recent_audit_log", json!({"limit": 5})).await;
        let entries = log["items"].as_array().expect("items");
        assert!(!entries.is_empty() && entries.len() <= 5, "{log}");
        let newest = &entries[0];
        assert_eq!(newest["action"], "project.create", "{log}");
        assert_eq!(newest["targetId"], created["id"], "{log}");
        assert_eq!(newest["actorUserId"], json!(demo::ALICE), "{log}");

        refused(&f.alice, "recent_audit_log", json!({"limit": 0}), "limit").await;
        // In Globex Alice is a plain member.
        ok(
            &f.alice,
            "switch_organization",
            json!({"organizationId": demo::GLOBEX}),
        )
        .await;
        refused(&f.alice, "recent_audit_log", json!({}), "owners and admins").await;
    })
    .await;
}

/// Everything Alice's tools answer, after Carol wrote to Initech through
/// her own client, holds nothing of Initech's.
#[tokio::test]
async fn a_second_organizations_data_never_reaches_another_tenants_client() {
    run(async |f: &Fixture| {
        let initech_project = f.initech_project().await;
        let carol = f.carol().await;
        let secret = ok(
            &carol,
            "create_project",
            json!({"name": "Initech secret", "description": "for Initech only"}),
        )
        .await;
        let secret_id = secret["id"].as_str().unwrap().to_owned();
        ok(
            &carol,
            "record_usage",
            json!({"model": "gpt-4o", "projectId": secret_id, "inputTokens": 98_765_432,
                   "outputTokens": 7}),
        )
        .await;

        let now = chrono::Utc::now();
        let range = json!({
            "from": (now - chrono::Duration::days(60)).to_rfc3339(),
            "to": (now + chrono::Duration::days(1)).to_rfc3339(),
        });
        let mut seen = Vec::new();
        for (tool, arguments) in [
            ("whoami", json!({})),
            ("list_organizations", json!({})),
            ("list_projects", json!({"limit": 100})),
            ("usage_report", range.clone()),
            ("list_members", json!({})),
            ("recent_audit_log", json!({"limit": 100})),
        ] {
            seen.push(ok(&f.alice, tool, arguments).await.to_string());
        }
        for (tool, arguments, needle) in [
            ("get_project", json!({"id": secret_id}), "not found"),
            ("update_project", json!({"id": secret_id, "name": "x"}), "not found"),
            (
                "record_usage",
                json!({"model": "gpt-4o", "projectId": secret_id, "inputTokens": 1, "outputTokens": 1}),
                "projectId",
            ),
            ("switch_organization", json!({"organizationId": demo::INITECH}), "not a member"),
        ] {
            refused(&f.alice, tool, arguments, needle).await;
        }
        let seen = seen.join("\n");
        let (initech, carol_id) = (demo::INITECH.to_string(), demo::CAROL.to_string());
        for foreign in [
            secret_id.as_str(),
            initech_project["id"].as_str().unwrap(),
            initech.as_str(),
            carol_id.as_str(),
            "Initech",
            "initech",
            "carol@example.com",
            "TPS reports",
            "98765432",
        ] {
            assert!(!seen.contains(foreign), "Alice's tools showed {foreign:?}:\n{seen}");
        }
        // The probe was a real one: Carol does see her own rows.
        let hers = ok(&carol, "list_projects", json!({"limit": 100})).await.to_string();
        close(carol).await;
        assert!(hers.contains(&secret_id) && hers.contains("TPS reports"), "{hers}");
    })
    .await;
}

/// A user in no organization: the tenant tools refuse, and
/// `list_organizations` says there is none.
#[tokio::test]
async fn a_caller_in_no_organization_is_refused_by_every_tenant_tool() {
    run(async |f: &Fixture| {
        let eve = tenantry_db::users::create_user_with_password(
            &f.test.db,
            &tenantry_domain::BoundedName::parse("name", "Eve", 200).expect("a name"),
            "eve@example.com",
            "not used: Eve signs in with a PAT",
        )
        .await
        .expect("a user");
        let token = pat_for(&f.test.db, eve.id.as_uuid()).await;
        let eve = connect(&f.server, &token).await;
        let listed = ok(&eve, "list_organizations", json!({})).await;
        assert_eq!(listed["organizations"], json!([]), "{listed}");
        let any_id = json!({"id": demo::ACME});
        let november = json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"});
        for (tool, arguments) in [
            ("whoami", json!({})),
            ("list_members", json!({})),
            ("list_projects", json!({})),
            ("get_project", any_id.clone()),
            ("create_project", json!({"name": "x"})),
            ("update_project", json!({"id": demo::ACME, "name": "x"})),
            (
                "record_usage",
                json!({"model": "gpt-4o", "inputTokens": 1, "outputTokens": 1}),
            ),
            ("usage_report", november),
            ("recent_audit_log", json!({})),
        ] {
            refused(&eve, tool, arguments, "not a member of any organization").await;
        }
        close(eve).await;
    })
    .await;
}
