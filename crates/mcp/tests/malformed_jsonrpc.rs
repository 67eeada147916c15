//! Bad input at `/mcp`: malformed, truncated, oversized and wrongly shaped
//! JSON-RPC, POSTed with a valid personal access token to the real server
//! over a real database.
//!
//! docs/architecture.md invariant 8: bad input gets a 4xx whose JSON body names the
//! problem, never a 5xx or a panic. For JSON-RPC that body is a JSON-RPC
//! error object (-32700 parse error, -32600 invalid request, -32602 invalid
//! params). Errors about one request inside a live session (an unknown
//! method, an unknown tool, tool arguments of the wrong shape) stay in-band,
//! as JSON-RPC requires.
//!
//! One table, one test per row, each on its own server: a failing row does
//! not hide the others. After its row each test checks that the server still
//! serves; one more test sends every row to a single server in turn and
//! then checks the same.

mod common;

use std::time::Duration;

use common::{ACCEPT, Answer, PROTOCOL, Server, read_answer, start, tool_call};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// One test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(30);

/// Which MCP session a request goes in.
#[derive(Clone, Copy)]
enum Session {
    None,
    /// The one the test opened.
    Open,
    /// An id the server never gave out.
    Unknown,
}

/// What a row sends, with Alice's token.
enum Request {
    /// A POST to `/mcp`; `None` leaves a header out.
    Http {
        session: Session,
        content_type: Option<&'static str>,
        accept: Option<&'static str>,
        body: Vec<u8>,
    },
    /// Raw HTTP/1.1 over TCP, for what reqwest will not send: a body cut
    /// short, a chunked body with no length.
    Raw {
        head_extra: String,
        body: Vec<u8>,
        close_after: bool,
    },
    /// A JSON-RPC request in the open session; the answer carrying its id.
    Call(Value),
}

/// What the server must answer.
enum Expect {
    /// A 4xx JSON body that is a JSON-RPC error with `code`, whose message
    /// names `needle`; with `null_id`, its id is null.
    Refused {
        status: u16,
        code: i64,
        needle: String,
        null_id: bool,
    },
    /// A raw HTTP answer whose status line starts with `status_line` and
    /// whose text contains `contains`.
    Raw {
        status_line: &'static str,
        contains: String,
    },
    /// A JSON-RPC result equal to this.
    Result(Value),
    /// A JSON-RPC answer whose id is this.
    Id(Value),
    /// An in-band JSON-RPC error with this code.
    InBand(i64),
    /// A tool error (`isError: true`) or an invalid-params error, either
    /// naming `needle` in any case.
    Refusal(&'static str),
    /// A tool error (`isError: true`) naming `needle` exactly.
    ToolError(&'static str),
}

fn post(body: impl Into<Vec<u8>>) -> Request {
    post_in(Session::None, body)
}

fn post_json(body: Value) -> Request {
    post(body.to_string())
}

fn post_in(session: Session, body: impl Into<Vec<u8>>) -> Request {
    Request::Http {
        session,
        content_type: Some("application/json"),
        accept: Some(ACCEPT),
        body: body.into(),
    }
}

fn refused(status: u16, code: i64, needle: impl Into<String>) -> Expect {
    Expect::Refused {
        status,
        code,
        needle: needle.into(),
        null_id: false,
    }
}

fn parse_error() -> Expect {
    Expect::Refused {
        status: 400,
        code: PARSE_ERROR,
        needle: "parse error".into(),
        null_id: true,
    }
}

fn invalid_request(needle: &str) -> Expect {
    refused(400, INVALID_REQUEST, needle)
}

fn invalid_params(needle: &str) -> Expect {
    refused(400, INVALID_PARAMS, needle)
}

fn ping(id: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

fn initialize() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}})
    .to_string()
}

fn nested_arrays(depth: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"deep":{}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// A `ping` larger than the limit allows.
fn oversized() -> String {
    let padding = "x".repeat(tenantry_mcp::MAX_REQUEST_BODY_BYTES);
    json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": padding}}).to_string()
}

fn get_project(id: i64, arguments: Value) -> Request {
    Request::Call(tool_call(id, "get_project", arguments))
}

/// One test per row, and [`all_cases`] for the test that sends them all.
macro_rules! cases {
    ($($name:ident: $request:expr => $expect:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                tokio::time::timeout(BUDGET, one_case(stringify!($name), $request, $expect))
                    .await
                    .expect("the case took too long");
            }
        )*

        fn all_cases() -> Vec<(&'static str, Request, Expect)> {
            vec![$((stringify!($name), $request, $expect)),*]
        }
    };
}

cases! {
    // Not JSON at all, or cut short: -32700.
    empty_body_is_a_parse_error: post(vec![]) => parse_error();
    an_open_brace_is_a_parse_error: post("{") => parse_error();
    a_truncated_initialize_is_a_parse_error:
        post(&initialize().as_bytes()[..initialize().len() / 2]) => parse_error();
    initialize_less_its_last_brace_is_a_parse_error:
        post(&initialize().as_bytes()[..initialize().len() - 1]) => parse_error();
    trailing_garbage_is_a_parse_error: post(format!("{}}}", initialize())) => parse_error();
    a_body_not_in_utf8_is_a_parse_error: post(vec![0xff, 0xfe, 0x7b, 0x00]) => parse_error();
    a_bare_word_is_a_parse_error: post("hello") => parse_error();
    ten_thousand_nested_arrays_are_a_parse_error: post(nested_arrays(10_000)) => parse_error();
    a_number_too_large_for_json_is_a_parse_error:
        post(r#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#) => parse_error();

    // JSON, but not a JSON-RPC message MCP accepts: -32600 (or -32602 for
    // the params of a known method), naming what is wrong.
    a_string_is_an_invalid_request: post_json(json!("hello")) => invalid_request("object");
    null_is_an_invalid_request: post_json(Value::Null) => invalid_request("object");
    an_empty_batch_is_an_invalid_request: post_json(json!([])) => invalid_request("batch");
    a_batch_is_an_invalid_request:
        post_json(json!([ping(json!(1)), ping(json!(2))])) => invalid_request("batch");
    no_jsonrpc_member_is_an_invalid_request:
        post_json(json!({"id": 1, "method": "ping"})) => invalid_request("jsonrpc");
    jsonrpc_1_0_is_an_invalid_request:
        post_json(json!({"jsonrpc": "1.0", "id": 1, "method": "ping"})) => invalid_request("jsonrpc");
    jsonrpc_as_a_number_is_an_invalid_request:
        post_json(json!({"jsonrpc": 2.0, "id": 1, "method": "ping"})) => invalid_request("jsonrpc");
    no_method_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": 1})) => invalid_request("method");
    a_numeric_method_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": 5})) => invalid_request("method");
    a_null_method_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": null})) => invalid_request("method");
    an_object_id_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": {}, "method": "ping"})) => invalid_request("id");
    a_boolean_id_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": true, "method": "ping"})) => invalid_request("id");
    a_null_id_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": null, "method": "ping"})) => invalid_request("id");
    a_huge_id_is_an_invalid_request:
        post(r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#)
        => invalid_request("id");
    a_fractional_id_is_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"})) => invalid_request("id");
    numeric_params_are_invalid_params:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": 5}))
        => invalid_params("params");
    initialize_without_params_is_invalid_params:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}))
        => invalid_params("initialize");
    initialize_with_a_numeric_version_is_invalid_params:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": 5, "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}))
        => invalid_params("initialize");
    tools_call_without_params_is_invalid_params:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}))
        => invalid_params("tools/call");
    tools_call_with_a_numeric_name_is_invalid_params:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}))
        => invalid_params("tools/call");
    a_result_and_an_error_together_are_an_invalid_request:
        post_json(json!({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "x"}}))
        => invalid_request("result");

    // An id that is valid but large comes back as it was sent.
    a_ten_thousand_character_id_is_answered: Request::Call(ping(json!("i".repeat(10_000))))
        => Expect::Result(json!({}));
    the_largest_integer_id_comes_back_unchanged: Request::Call(ping(json!(i64::MAX)))
        => Expect::Id(json!(i64::MAX));

    // Larger than the limit: 413 with a JSON-RPC error naming the limit,
    // whether the length is declared or the body is chunked.
    an_oversized_body_is_refused_naming_the_limit: post_in(Session::Open, oversized())
        => refused(413, INVALID_REQUEST, tenantry_mcp::MAX_REQUEST_BODY_BYTES.to_string());
    an_oversized_chunked_body_is_refused_naming_the_limit: Request::Raw {
            head_extra: "transfer-encoding: chunked\r\n".into(),
            body: format!("{:x}\r\n{}\r\n0\r\n\r\n", oversized().len(), oversized()).into_bytes(),
            close_after: false,
        }
        => Expect::Raw {
            status_line: "HTTP/1.1 413",
            contains: format!("{} bytes", tenantry_mcp::MAX_REQUEST_BODY_BYTES),
        };

    // A body that stops short of its declared length.
    a_body_short_of_its_declared_length_is_a_jsonrpc_400: Request::Raw {
            head_extra: format!("content-length: {}\r\n", initialize().len()),
            body: initialize().as_bytes()[..20].to_vec(),
            close_after: true,
        }
        => Expect::Raw { status_line: "HTTP/1.1 400", contains: r#""jsonrpc":"2.0""#.into() };

    // Transport-level mistakes rmcp refuses are answered in JSON-RPC form too.
    a_text_plain_body_is_415: Request::Http {
            session: Session::None,
            content_type: Some("text/plain"),
            accept: Some(ACCEPT),
            body: ping(json!(1)).to_string().into_bytes(),
        }
        => refused(415, INVALID_REQUEST, "content-type");
    no_accept_header_is_406: Request::Http {
            session: Session::None,
            content_type: Some("application/json"),
            accept: None,
            body: ping(json!(1)).to_string().into_bytes(),
        }
        => refused(406, INVALID_REQUEST, "accept");
    a_request_without_a_session_is_refused: post_json(ping(json!(1)))
        => invalid_request("session");
    an_unknown_session_is_404: post_in(Session::Unknown, ping(json!(1)).to_string())
        => refused(404, INVALID_REQUEST, "session");

    // In-band errors inside the session: the request's own id, no 5xx.
    an_unknown_method_is_method_not_found_in_band:
        Request::Call(json!({"jsonrpc": "2.0", "id": 10, "method": "no/such/method"}))
        => Expect::InBand(METHOD_NOT_FOUND);
    an_unknown_tool_is_invalid_params_in_band:
        Request::Call(tool_call(11, "no_such_tool", json!({})))
        => Expect::InBand(INVALID_PARAMS);
    a_numeric_project_id_is_refused_naming_string:
        get_project(12, json!({"id": 5})) => Expect::Refusal("string");
    a_project_id_not_a_uuid_is_refused_naming_uuid:
        get_project(13, json!({"id": "not-a-uuid"})) => Expect::Refusal("uuid");
    a_missing_project_id_is_refused_naming_id:
        get_project(14, json!({})) => Expect::Refusal("id");
    arguments_not_an_object_are_refused_naming_params:
        get_project(15, json!("not an object")) => Expect::Refusal("params");
    a_nul_in_a_description_is_a_tool_error_naming_the_field:
        Request::Call(tool_call(16, "create_project", json!({"name": "ok", "description": "a\u{0}b"})))
        => Expect::ToolError("description");
}

/// Start a server, send one row, check its answer and that the server still
/// serves.
async fn one_case(case: &str, request: Request, expect: Expect) {
    let (_test, server) = start().await;
    let session = server.initialize().await;
    check(&server, &session, case, request, expect).await;
    still_serves(&server, &session).await;
}

#[tokio::test]
async fn after_every_bad_request_in_turn_the_server_still_serves() {
    tokio::time::timeout(BUDGET * 2, async {
        let (_test, server) = start().await;
        let session = server.initialize().await;
        for (case, request, expect) in all_cases() {
            check(&server, &session, case, request, expect).await;
        }
        still_serves(&server, &session).await;
    })
    .await
    .expect("the bad-input run took too long");
}

/// `whoami` in `session` answers, and a fresh session answers `ping`.
async fn still_serves(server: &Server, session: &str) {
    let whoami = server
        .call(session, tool_call(99, "whoami", json!({})))
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

async fn check(server: &Server, open: &str, case: &str, request: Request, expect: Expect) {
    match request {
        Request::Http {
            session,
            content_type,
            accept,
            body,
        } => {
            let mut builder = server
                .http
                .post(&server.url)
                .bearer_auth(&server.token)
                .body(body);
            if let Some(content_type) = content_type {
                builder = builder.header("content-type", content_type);
            }
            if let Some(accept) = accept {
                builder = builder.header("accept", accept);
            }
            let session = match session {
                Session::None => None,
                Session::Open => Some(open),
                Session::Unknown => Some("no-such-session"),
            };
            if let Some(session) = session {
                builder = builder
                    .header("mcp-session-id", session)
                    .header("mcp-protocol-version", PROTOCOL);
            }
            let answer = read_answer(builder.send().await.expect("request sent")).await;
            check_answer(case, &answer, expect);
        }
        Request::Raw {
            head_extra,
            body,
            close_after,
        } => {
            let raw = raw(server, &head_extra, &body, close_after).await;
            let Expect::Raw {
                status_line,
                contains,
            } = expect
            else {
                panic!("{case}: a raw request needs a raw expectation");
            };
            assert!(raw.starts_with(status_line), "{case}: {raw}");
            assert!(raw.contains(&contains), "{case}: {raw}");
        }
        Request::Call(message) => {
            let answer = server.call(open, message).await;
            check_message(case, &answer, expect);
        }
    }
}

fn check_answer(case: &str, answer: &Answer, expect: Expect) {
    let Expect::Refused {
        status,
        code,
        needle,
        null_id,
    } = expect
    else {
        panic!("{case}: an HTTP request needs a refusal");
    };
    assert_jsonrpc_error(case, answer, status, &[code], &needle);
    if null_id {
        assert_eq!(answer.json()["id"], Value::Null, "{case}");
    }
}

fn check_message(case: &str, answer: &Value, expect: Expect) {
    match expect {
        Expect::Result(result) => assert_eq!(answer["result"], result, "{case}: {answer}"),
        Expect::Id(id) => assert_eq!(answer["id"], id, "{case}: {answer}"),
        Expect::InBand(code) => assert_eq!(answer["error"]["code"], code, "{case}: {answer}"),
        Expect::Refusal(needle) => {
            let refused =
                answer["result"]["isError"] == true || answer["error"]["code"] == INVALID_PARAMS;
            assert!(refused, "{case}: {answer}");
            assert!(
                answer.to_string().to_lowercase().contains(needle),
                "{case}: {answer} does not name {needle}"
            );
        }
        Expect::ToolError(needle) => {
            assert_eq!(answer["result"]["isError"], true, "{case}: {answer}");
            assert!(
                answer.to_string().contains(needle),
                "{case}: {answer} does not name {needle}"
            );
        }
        Expect::Refused { .. } | Expect::Raw { .. } => {
            panic!("{case}: a call in a session is answered in-band")
        }
    }
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

/// Send `head_extra` and `body` after a POST head with Alice's token; the
/// first complete answer.
async fn raw(server: &Server, head_extra: &str, body: &[u8], close_after: bool) -> String {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\naccept: {ACCEPT}\r\n\
         content-type: application/json\r\n{head_extra}\r\n",
        server.addr, server.token
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
