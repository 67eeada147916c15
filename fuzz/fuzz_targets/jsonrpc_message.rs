//! JSON-RPC bodies POSTed to `/mcp`: `tenantry_mcp::jsonrpc::check_message`,
//! the check the server runs before rmcp reads a message.
//!
//! Properties, for any bytes:
//!
//! - It never panics.
//! - What it lets through, rmcp reads: `serde_json::from_slice` into rmcp's
//!   `ClientJsonRpcMessage` succeeds (so rmcp never answers it with its
//!   plain-text 415), and it is one JSON object with `jsonrpc: "2.0"`.
//! - What it refuses gets a 4xx and a JSON-RPC error object: -32700 exactly
//!   when the bytes are not JSON, else -32600 or -32602; a message; an id
//!   only when the request had a usable one (a string or a 64-bit integer),
//!   and then that id.

#![no_main]

#[path = "in_memory.rs"]
mod in_memory;

use axum::response::IntoResponse;
use in_memory::now;
use libfuzzer_sys::fuzz_target;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::Value;
use tenantry_mcp::jsonrpc::{INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, check_message};

fuzz_target!(|data: &[u8]| {
    let parsed = serde_json::from_slice::<Value>(data);
    match check_message(data) {
        Ok(()) => {
            serde_json::from_slice::<ClientJsonRpcMessage>(data)
                .expect("a message the guard passes is one rmcp reads");
            let value = parsed.expect("a message the guard passes is JSON");
            assert_eq!(value["jsonrpc"], "2.0");
        }
        Err(rejection) => {
            assert!(rejection.status.is_client_error(), "{rejection:?}");
            assert!(!rejection.message.is_empty());
            match rejection.code {
                PARSE_ERROR => assert!(parsed.is_err(), "JSON called a parse error"),
                INVALID_REQUEST | INVALID_PARAMS => assert!(parsed.is_ok()),
                other => panic!("unexpected code {other}"),
            }
            if let Some(id) = &rejection.id {
                let usable = id.is_string() || id.as_i64().is_some();
                assert!(usable, "echoed an unusable id {id}");
                assert_eq!(Some(id), parsed.as_ref().ok().and_then(|v| v.get("id")));
            }
            let expected = rejection.clone();
            let response = rejection.into_response();
            assert_eq!(response.status(), expected.status);
            let bytes = now(axum::body::to_bytes(response.into_body(), usize::MAX)).unwrap();
            let body: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
            assert_eq!(body["jsonrpc"], "2.0");
            assert_eq!(body["error"]["code"], expected.code);
            assert_eq!(body["error"]["message"], expected.message.as_str());
            assert_eq!(body["id"], expected.id.unwrap_or(Value::Null));
        }
    }
});
