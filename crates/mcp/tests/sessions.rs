//! An MCP session belongs to the personal access token that opened it.
//!
//! rmcp gives every session an id and accepts it from anyone: another user
//! who learned an id (rmcp logs them at INFO) could act in the session, steer
//! its `switch_organization` choice, or end it. Here any other credential,
//! another user's or a second token of the same user, is answered as if the
//! session did not exist (404, on POST, GET and DELETE), and the owner's
//! session goes on as before. The record of who owns a session goes when the
//! session does.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Answer, Server, pat_for, read_answer, start, start_with, tool_call};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenantry_db::seed::demo;
use tenantry_mcp::OwnedSessions;

/// The whole test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(30);

/// What POST, GET and DELETE in `session` answer the owner of `token`.
async fn answers(server: &Server, token: &str, session: &str) -> [(&'static str, Answer); 3] {
    let switch = tool_call(
        7,
        "switch_organization",
        json!({"organizationId": demo::INITECH}),
    );
    let post = server
        .post_as(token, switch.to_string(), Some(session))
        .await;
    let get = server.request(Method::GET, token, Some(session)).send();
    let get = read_answer(get.await.expect("GET sent")).await;
    let delete = server.delete_as(token, session).await;
    [("POST", post), ("GET", get), ("DELETE", delete)]
}

async fn whoami(server: &Server, session: &str) -> Value {
    let answer = server
        .call(session, tool_call(1, "whoami", json!({})))
        .await;
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    answer["result"]["structuredContent"].clone()
}

#[tokio::test]
async fn a_session_answers_only_the_token_that_opened_it() {
    tokio::time::timeout(BUDGET, async {
        let (test, server) = start().await;
        let alices_second_token = pat_for(&test.db, demo::ALICE).await;
        let carol = pat_for(&test.db, demo::CAROL).await;

        let session = server.initialize().await;
        let switched = server
            .call(
                &session,
                tool_call(
                    2,
                    "switch_organization",
                    json!({"organizationId": demo::GLOBEX}),
                ),
            )
            .await;
        assert_eq!(switched["result"]["isError"], false, "{switched}");

        let unknown = answers(&server, &carol, "no-such-session").await;
        for (who, token) in [
            ("Carol", &carol),
            ("Alice's second token", &alices_second_token),
        ] {
            let foreign = answers(&server, token, &session).await;
            for ((method, answer), (_, unknown)) in foreign.iter().zip(&unknown) {
                assert_eq!(
                    answer.status,
                    StatusCode::NOT_FOUND,
                    "{who}, {method} in Alice's session: {}",
                    answer.text
                );
                assert_eq!(
                    (answer.status, &answer.text),
                    (unknown.status, &unknown.text),
                    "{who}, {method} in Alice's session: answered unlike an unknown session"
                );
            }
        }

        // Alice's session lives on, still in the organization she chose.
        let me = whoami(&server, &session).await;
        assert_eq!(me["user"]["email"], "alice@example.com", "{me}");
        assert_eq!(me["organization"]["slug"], "globex", "{me}");
        let stream = server
            .request(Method::GET, &server.token, Some(&session))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), StatusCode::OK, "Alice's own GET");
        drop(stream);

        // She can end it; then it is gone for her too.
        let delete = server.delete_as(&server.token, &session).await;
        assert_eq!(delete.status, StatusCode::NO_CONTENT, "{}", delete.text);
        let after = server
            .post(
                tool_call(3, "whoami", json!({})).to_string(),
                Some(&session),
            )
            .await;
        assert_eq!(after.status, StatusCode::NOT_FOUND, "{}", after.text);
    })
    .await
    .expect("the session test took too long");
}

#[tokio::test]
async fn a_sessions_owner_is_forgotten_when_the_session_ends() {
    tokio::time::timeout(BUDGET, async {
        let sessions = Arc::new(OwnedSessions::with_keep_alive(Duration::from_secs(3)));
        let shared = sessions.clone();
        let (_test, server) = start_with(move |settings| settings.mcp_sessions(shared)).await;
        let deleted = server.initialize().await;
        let idle = server.initialize().await;
        assert_eq!(sessions.open(), 2);

        let delete = server.delete_as(&server.token, &deleted).await;
        assert_eq!(delete.status, StatusCode::NO_CONTENT, "{}", delete.text);
        assert_eq!(sessions.open(), 1, "a deleted session is forgotten");

        // rmcp ends the other after its keep-alive without a request.
        while sessions.open() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = server
            .post(tool_call(1, "whoami", json!({})).to_string(), Some(&idle))
            .await;
        assert_eq!(after.status, StatusCode::NOT_FOUND, "{}", after.text);
    })
    .await
    .expect("an idle session was not forgotten in time");
}
