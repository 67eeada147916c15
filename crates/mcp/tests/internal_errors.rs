//! A failure inside the server reaches an MCP client as a fixed message; its
//! cause (SQL, table names, driver text) goes to the log only.
//!
//! The failure is real: the `project` table is renamed away under a running
//! server, as if it served a database its migrations do not describe.

mod common;

use std::time::Duration;

use common::{start, tool_call};
use serde_json::{Value, json};

/// The whole test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(30);

const INTERNAL_ERROR: i64 = -32603;

/// True when `answer` tells anything of the database's own error.
fn tells_the_cause(answer: &Value) -> bool {
    let text = answer.to_string().to_lowercase();
    [
        "relation",
        "does not exist",
        "project_elsewhere",
        "sqlstate",
        "db error",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

#[tokio::test]
async fn a_database_failure_reaches_the_client_without_its_cause() {
    tokio::time::timeout(BUDGET, async {
        let (test, server) = start().await;
        let session = server.initialize().await;
        let listed = server
            .call(&session, tool_call(1, "list_projects", json!({})))
            .await;
        let project = listed["result"]["structuredContent"]["items"][0]["id"].clone();
        assert!(project.is_string(), "{listed}");
        test.owner()
            .await
            .batch_execute("alter table project rename to project_elsewhere")
            .await
            .unwrap();

        let uri = format!("tenantry://projects/{}", project.as_str().unwrap());
        for (case, message) in [
            (
                "resources/list",
                json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}),
            ),
            (
                "resources/read",
                json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read",
                    "params": {"uri": uri}}),
            ),
        ] {
            let answer = server.call(&session, message).await;
            assert_eq!(answer["error"]["code"], INTERNAL_ERROR, "{case}: {answer}");
            assert_eq!(
                answer["error"]["message"], "internal error",
                "{case}: {answer}"
            );
            assert!(!tells_the_cause(&answer), "{case}: {answer}");
        }
        let id = project.as_str().unwrap();
        for (n, (tool, arguments)) in [
            ("list_projects", json!({})),
            ("get_project", json!({ "id": id })),
            ("create_project", json!({ "name": "after the rename" })),
            ("update_project", json!({ "id": id, "name": "renamed" })),
        ]
        .into_iter()
        .enumerate()
        {
            let answer = server
                .call(&session, tool_call(3 + n as i64, tool, arguments))
                .await;
            assert_eq!(answer["result"]["isError"], true, "{tool}: {answer}");
            assert_eq!(
                answer["result"]["content"][0]["text"], "internal error",
                "{tool}: {answer}"
            );
            assert!(!tells_the_cause(&answer), "{tool}: {answer}");
        }
    })
    .await
    .expect("the internal-error test took too long");
}
