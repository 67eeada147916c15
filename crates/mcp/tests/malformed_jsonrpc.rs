//! Bad input at `/mcp`: malformed, truncated, oversized and wrongly shaped
//! JSON-RPC, POSTed with a valid personal access token to the real server
//! over a real database.
//!
//! DESIGN.md invariant 8: bad input gets a 4xx whose JSON body names the
//! problem, never a 5xx or a panic. For JSON-RPC that body is a JSON-RPC
//! error object (-32700 parse error, -32600 invalid request, -32602 invalid
//! params). Errors about one request inside a live session (an unknown
//! method, an unknown tool, tool arguments of the wrong shape) stay in-band,
//! as JSON-RPC requires. After all of it, a normal `tools/call` still works.

mod common;

use std::time::Duration;

use common::{ACCEPT, Answer, PROTOCOL, Server, read_answer, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// The whole test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(30);

impl Server {
    /// Raw HTTP/1.1 over TCP, for what reqwest will not send: a body cut
    /// short, a chunked body with no length.
    async fn raw(&self, head_extra: &str, body: &[u8], close_after: bool) -> String {
        let mut tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\naccept: {ACCEPT}\r\n\
             content-type: application/json\r\n{head_extra}\r\n",
            self.addr, self.token
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        // The server may answer (and close) before it has read everything.
        let _ = tcp.write_all(body).await;
        if close_after {
            let _ = tcp.shutdown().await;
        }
        let mut response = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    response.extend_from_slice(&buf[..n]);
                    // One response is all we wait for.
                    if response_complete(&response) {
                        break;
                    }
                }
                Err(_) => panic!(
                    "no complete answer within 5 s: {:?}",
                    String::from_utf8_lossy(&response)
                ),
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    }
}

fn response_complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    body.len() >= length
}

/// A 4xx whose body is a JSON-RPC error object with one of `codes`, whose
/// message mentions `needle`.
#[track_caller]
fn assert_jsonrpc_error(case: &str, answer: &Answer, status: u16, codes: &[i64], needle: &str) {
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{case}: status (body {:?})",
        answer.text
    );
    assert!(
        answer.content_type().starts_with("application/json"),
        "{case}: content-type {:?}, body {:?}",
        answer.content_type(),
        answer.text
    );
    let body: Value = serde_json::from_str(&answer.text)
        .unwrap_or_else(|e| panic!("{case}: body is not JSON ({e}): {:?}", answer.text));
    assert_eq!(body["jsonrpc"], "2.0", "{case}: {body}");
    let code = body["error"]["code"].as_i64().unwrap_or_default();
    assert!(
        codes.contains(&code),
        "{case}: code {code} not in {codes:?}: {body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains(&needle.to_lowercase()),
        "{case}: message {message:?} does not name {needle:?}"
    );
}

#[tokio::test]
async fn malformed_and_oversized_jsonrpc_gets_a_jsonrpc_error_and_the_server_keeps_serving() {
    tokio::time::timeout(BUDGET, run())
        .await
        .expect("the bad-input run took too long");
}

async fn run() {
    let (_test, server) = start().await;
    let ping = |id: Value| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}})
    .to_string();

    // Not JSON at all, or cut short: -32700.
    let nested = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"deep":{}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let parse_errors: Vec<(&str, Vec<u8>)> = vec![
        ("empty body", vec![]),
        ("an open brace", b"{".to_vec()),
        (
            "truncated initialize",
            initialize.as_bytes()[..initialize.len() / 2].to_vec(),
        ),
        (
            "initialize less its last brace",
            initialize.as_bytes()[..initialize.len() - 1].to_vec(),
        ),
        ("trailing garbage", format!("{initialize}}}").into_bytes()),
        ("not UTF-8", vec![0xff, 0xfe, 0x7b, 0x00]),
        ("a bare word", b"hello".to_vec()),
        ("10,000 nested arrays", nested.into_bytes()),
        (
            "a number too large for JSON",
            br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#.to_vec(),
        ),
    ];
    for (case, body) in parse_errors {
        let answer = server.post(body, None).await;
        assert_jsonrpc_error(case, &answer, 400, &[PARSE_ERROR], "parse error");
        assert_eq!(answer.json()["id"], Value::Null, "{case}");
    }

    // JSON, but not a JSON-RPC message MCP accepts: -32600 (or -32602 for
    // the params of a known method), naming what is wrong.
    let invalid: Vec<(&str, Value, i64, &str)> = vec![
        ("a string", json!("hello"), INVALID_REQUEST, "object"),
        ("null", Value::Null, INVALID_REQUEST, "object"),
        ("an empty batch", json!([]), INVALID_REQUEST, "batch"),
        (
            "a batch",
            json!([ping(json!(1)), ping(json!(2))]),
            INVALID_REQUEST,
            "batch",
        ),
        (
            "no jsonrpc",
            json!({"id": 1, "method": "ping"}),
            INVALID_REQUEST,
            "jsonrpc",
        ),
        (
            "jsonrpc 1.0",
            json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
            INVALID_REQUEST,
            "jsonrpc",
        ),
        (
            "jsonrpc as a number",
            json!({"jsonrpc": 2.0, "id": 1, "method": "ping"}),
            INVALID_REQUEST,
            "jsonrpc",
        ),
        (
            "no method",
            json!({"jsonrpc": "2.0", "id": 1}),
            INVALID_REQUEST,
            "method",
        ),
        (
            "method a number",
            json!({"jsonrpc": "2.0", "id": 1, "method": 5}),
            INVALID_REQUEST,
            "method",
        ),
        (
            "method null",
            json!({"jsonrpc": "2.0", "id": 1, "method": null}),
            INVALID_REQUEST,
            "method",
        ),
        (
            "id an object",
            json!({"jsonrpc": "2.0", "id": {}, "method": "ping"}),
            INVALID_REQUEST,
            "id",
        ),
        (
            "id true",
            json!({"jsonrpc": "2.0", "id": true, "method": "ping"}),
            INVALID_REQUEST,
            "id",
        ),
        (
            "id null",
            json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
            INVALID_REQUEST,
            "id",
        ),
        (
            "a huge id",
            serde_json::from_str(
                r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#,
            )
            .unwrap(),
            INVALID_REQUEST,
            "id",
        ),
        (
            "a fractional id",
            json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
            INVALID_REQUEST,
            "id",
        ),
        (
            "params a number",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": 5}),
            INVALID_PARAMS,
            "params",
        ),
        (
            "initialize without params",
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}),
            INVALID_PARAMS,
            "initialize",
        ),
        (
            "initialize with a wrong version type",
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": 5, "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}),
            INVALID_PARAMS,
            "initialize",
        ),
        (
            "tools/call without params",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}),
            INVALID_PARAMS,
            "tools/call",
        ),
        (
            "tools/call with a numeric name",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}),
            INVALID_PARAMS,
            "tools/call",
        ),
        (
            "a result and an error",
            json!({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "x"}}),
            INVALID_REQUEST,
            "result",
        ),
    ];
    for (case, body, code, needle) in invalid {
        let answer = server.post(body.to_string(), None).await;
        assert_jsonrpc_error(case, &answer, 400, &[code], needle);
    }

    // An id that is valid but large comes back as it was sent.
    let session = server.initialize().await;
    let long_id = "i".repeat(10_000);
    let pong = server.call(&session, ping(json!(long_id))).await;
    assert_eq!(pong["result"], json!({}), "{pong}");
    let pong = server.call(&session, ping(json!(i64::MAX))).await;
    assert_eq!(pong["id"], json!(i64::MAX), "{pong}");

    // Larger than the limit: 413 with a JSON-RPC error naming the limit,
    // whether the length is declared or the body is chunked.
    let limit = tenantry_mcp::MAX_REQUEST_BODY_BYTES;
    let padding = "x".repeat(limit);
    let oversized =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": padding}})
            .to_string();
    let answer = server.post(oversized.clone(), Some(&session)).await;
    assert_jsonrpc_error(
        "oversized",
        &answer,
        413,
        &[INVALID_REQUEST],
        &limit.to_string(),
    );
    let chunk = format!("{:x}\r\n{oversized}\r\n0\r\n\r\n", oversized.len());
    let raw = server
        .raw("transfer-encoding: chunked\r\n", chunk.as_bytes(), false)
        .await;
    assert!(raw.starts_with("HTTP/1.1 413"), "chunked oversized: {raw}");
    assert!(
        raw.contains(&format!("{limit} bytes")),
        "chunked oversized: {raw}"
    );

    // A body that stops short of its declared length.
    let short = &initialize.as_bytes()[..20];
    let raw = server
        .raw(
            &format!("content-length: {}\r\n", initialize.len()),
            short,
            true,
        )
        .await;
    assert!(raw.starts_with("HTTP/1.1 400"), "cut short: {raw}");
    assert!(raw.contains("\"jsonrpc\":\"2.0\""), "cut short: {raw}");

    // Transport-level mistakes rmcp refuses are answered in JSON-RPC form too.
    let plain = server
        .http
        .post(&server.url)
        .bearer_auth(&server.token)
        .header("accept", ACCEPT)
        .header("content-type", "text/plain")
        .body(ping(json!(1)).to_string())
        .send()
        .await
        .unwrap();
    assert_jsonrpc_error(
        "text/plain",
        &read_answer(plain).await,
        415,
        &[INVALID_REQUEST],
        "content-type",
    );
    let no_accept = server
        .http
        .post(&server.url)
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(ping(json!(1)).to_string())
        .send()
        .await
        .unwrap();
    assert_jsonrpc_error(
        "no accept",
        &read_answer(no_accept).await,
        406,
        &[INVALID_REQUEST],
        "accept",
    );
    let no_session = server.post(ping(json!(1)).to_string(), None).await;
    assert_jsonrpc_error(
        "no session",
        &no_session,
        400,
        &[INVALID_REQUEST],
        "session",
    );
    let stale = server
        .post(ping(json!(1)).to_string(), Some("no-such-session"))
        .await;
    assert_jsonrpc_error(
        "unknown session",
        &stale,
        404,
        &[INVALID_REQUEST],
        "session",
    );

    // In-band errors inside the session: the request's own id, no 5xx.
    let unknown = server
        .call(
            &session,
            json!({"jsonrpc": "2.0", "id": 10, "method": "no/such/method"}),
        )
        .await;
    assert_eq!(unknown["error"]["code"], METHOD_NOT_FOUND, "{unknown}");
    let no_tool = server
        .call(
            &session,
            json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
            "params": {"name": "no_such_tool", "arguments": {}}}),
        )
        .await;
    assert_eq!(no_tool["error"]["code"], INVALID_PARAMS, "{no_tool}");
    for (id, arguments, needle) in [
        (12, json!({"id": 5}), "string"),
        (13, json!({"id": "not-a-uuid"}), "uuid"),
        (14, json!({}), "id"),
        (15, json!("not an object"), "params"),
    ] {
        let result = server
            .call(
                &session,
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "get_project", "arguments": arguments}}),
            )
            .await;
        let refused =
            result["result"]["isError"] == true || result["error"]["code"] == INVALID_PARAMS;
        assert!(refused, "get_project {arguments}: {result}");
        assert!(
            result.to_string().to_lowercase().contains(needle),
            "get_project {arguments}: {result} does not name {needle}"
        );
    }
    let nul = server
        .call(&session, json!({"jsonrpc": "2.0", "id": 16, "method": "tools/call",
            "params": {"name": "create_project", "arguments": {"name": "ok", "description": "a\u{0}b"}}}))
        .await;
    assert_eq!(nul["result"]["isError"], true, "{nul}");
    assert!(
        nul.to_string().contains("description"),
        "NUL in a description: {nul}"
    );

    // After all that, the server still does its job.
    let whoami = server
        .call(
            &session,
            json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}}}),
        )
        .await;
    assert_eq!(whoami["result"]["isError"], false, "{whoami}");
    assert_eq!(
        whoami["result"]["structuredContent"]["user"]["email"], "alice@example.com",
        "{whoami}"
    );
    let fresh = server.initialize().await;
    let pong = server.call(&fresh, ping(json!("after"))).await;
    assert_eq!(pong["result"], json!({}), "{pong}");
}
