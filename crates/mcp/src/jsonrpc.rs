//! A thin layer in front of rmcp's streamable HTTP service: bad input gets a
//! JSON-RPC error object and a 4xx, never rmcp's plain-text answers.
//!
//! rmcp answers a body it cannot read as a JSON-RPC message with
//! `415 Unsupported Media Type` and a line of text, whatever was wrong with
//! it, and reads a known method whose params do not fit as a custom method
//! (`-32601 tools/call` for `tools/call` with a numeric tool name). docs/architecture.md
//! invariant 8 asks for a 4xx whose JSON body names the problem; for JSON-RPC
//! that body is an error object. So before rmcp sees a POST, [`guard`]:
//!
//! - reads the body up to [`MAX_REQUEST_BODY_BYTES`] (declared or chunked):
//!   larger is `413`, a body that ends before its declared length is `400`;
//! - parses it as JSON: anything else is `400` with `-32700` (parse error);
//! - checks it is one JSON-RPC 2.0 message as MCP uses them (an object, not a
//!   batch; `jsonrpc: "2.0"`; a string `method`; an `id` that is a string or
//!   a 64-bit integer; object `params`) and that a known method's params have
//!   the shape rmcp expects: else `400` with `-32600` (invalid request) or
//!   `-32602` (invalid params), echoing the id when it is usable.
//!
//! Well-formed messages reach rmcp unchanged. Errors about a request inside
//! a session (an unknown method, an unknown tool, tool arguments of the wrong
//! shape) stay in-band, as JSON-RPC requires. Any other 4xx or 5xx that rmcp
//! answers in plain text (no session id, an unknown session, a missing
//! `Accept`) is rewritten into the same JSON-RPC error form, with its status
//! and its text kept.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rmcp::model::{
    CallToolRequest, ClientJsonRpcMessage, ClientRequest, CompleteRequest, GetPromptRequest,
    InitializeRequest, JsonRpcMessage, JsonRpcRequest, ListPromptsRequest,
    ListResourceTemplatesRequest, ListResourcesRequest, ListToolsRequest, PingRequest,
    ReadResourceRequest,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Largest accepted `/mcp` request body, in bytes. MCP messages for these
/// tools are a few kilobytes; the API's JSON limit is 64 KiB.
pub const MAX_REQUEST_BODY_BYTES: usize = 256 * 1024;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;

/// The longest text of an rmcp answer carried into a JSON-RPC error message.
const MAX_PASSED_TEXT: usize = 1024;

/// Why a message was refused before reaching rmcp.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// HTTP status: 400, 413 or 415.
    pub status: StatusCode,
    /// JSON-RPC error code.
    pub code: i64,
    /// What is wrong, for people.
    pub message: String,
    /// The request's id, when it had a usable one.
    pub id: Option<Value>,
}

impl Rejection {
    fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Rejection {
            status,
            code,
            message: message.into(),
            id: None,
        }
    }

    fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, INVALID_REQUEST, message)
    }

    fn with_id(mut self, id: Option<&Value>) -> Self {
        self.id = id.filter(|id| usable_id(id)).cloned();
        self
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        jsonrpc_error_response(self.status, self.id, self.code, &self.message)
    }
}

/// A JSON-RPC error object as a whole HTTP response.
fn jsonrpc_error_response(
    status: StatusCode,
    id: Option<Value>,
    code: i64,
    message: &str,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(Value::Null),
        "error": { "code": code, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

/// Check one POSTed body the way rmcp will read it; `Ok` means rmcp gets it.
///
/// Public so the fuzz targets drive the same code the server runs.
pub fn check_message(body: &[u8]) -> Result<(), Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            PARSE_ERROR,
            format!("Parse error: the body is not valid JSON ({e})"),
        )
    })?;
    let object = match value {
        Value::Object(ref object) => object,
        Value::Array(_) => {
            return Err(Rejection::invalid_request(
                "Invalid request: batches are not supported; send one JSON-RPC message per request",
            ));
        }
        _ => {
            return Err(Rejection::invalid_request(
                "Invalid request: a JSON-RPC message must be an object",
            ));
        }
    };
    check_shape(object)?;
    // Read it exactly as rmcp will (from the bytes: a JSON value and the
    // bytes can differ, e.g. on duplicate keys).
    let message: ClientJsonRpcMessage = serde_json::from_slice(body).map_err(|e| {
        Rejection::invalid_request(format!("Invalid request: not an MCP message ({e})"))
            .with_id(object.get("id"))
    })?;
    // rmcp reads a known method whose params do not fit as a custom method;
    // say what does not fit instead.
    if let JsonRpcMessage::Request(JsonRpcRequest {
        request: ClientRequest::CustomRequest(custom),
        ..
    }) = &message
        && let Some(reason) = typed_params_error(&custom.method, &value)
    {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            INVALID_PARAMS,
            format!("Invalid params for `{}`: {reason}", custom.method),
        )
        .with_id(object.get("id")));
    }
    Ok(())
}

/// The JSON-RPC 2.0 envelope, field by field, with messages naming the field.
fn check_shape(object: &Map<String, Value>) -> Result<(), Rejection> {
    let id = object.get("id");
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(Rejection::invalid_request(
            "Invalid request: `jsonrpc` must be the string \"2.0\"",
        )
        .with_id(id));
    }
    match object.get("method") {
        Some(Value::String(_)) => {
            if let Some(id) = id
                && !usable_id(id)
            {
                return Err(Rejection::invalid_request(
                    "Invalid request: `id` must be a string or an integer that fits in 64 bits",
                ));
            }
            if let Some(params) = object.get("params")
                && !params.is_object()
            {
                return Err(Rejection::new(
                    StatusCode::BAD_REQUEST,
                    INVALID_PARAMS,
                    "Invalid params: `params` must be an object",
                )
                .with_id(id));
            }
            Ok(())
        }
        Some(_) => Err(
            Rejection::invalid_request("Invalid request: `method` must be a string").with_id(id),
        ),
        // A client's answer to a server request: an id and a result or an error.
        None => match (object.get("result"), object.get("error")) {
            (Some(_), Some(_)) => Err(Rejection::invalid_request(
                "Invalid request: a response has a `result` or an `error`, not both",
            )
            .with_id(id)),
            (None, None) => Err(Rejection::invalid_request(
                "Invalid request: `method` is missing (a request needs a method; a response needs a `result` or an `error`)",
            )
            .with_id(id)),
            (Some(_), None) if !id.is_some_and(usable_id) => Err(Rejection::invalid_request(
                "Invalid request: a response needs the `id` of the request it answers",
            )),
            _ => Ok(()),
        },
    }
}

/// A string, or an integer rmcp can hold (it keeps ids as `i64`).
fn usable_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.as_u64().is_some_and(|n| i64::try_from(n).is_ok()),
        _ => false,
    }
}

/// For a method rmcp knows, why `message` does not read as that request.
/// `None` for other methods, deprecated ones included (those are answered
/// in-band: `-32601` if the server does not implement them).
fn typed_params_error(method: &str, message: &Value) -> Option<String> {
    fn reason<T: DeserializeOwned>(message: &Value) -> String {
        match serde_json::from_value::<JsonRpcRequest<T>>(message.clone()) {
            Err(e) if message.get("params").is_none() => format!("`params` is required ({e})"),
            Err(e) => e.to_string(),
            Ok(_) => "the params do not have the expected shape".into(),
        }
    }
    Some(match method {
        "initialize" => reason::<InitializeRequest>(message),
        "ping" => reason::<PingRequest>(message),
        "tools/call" => reason::<CallToolRequest>(message),
        "tools/list" => reason::<ListToolsRequest>(message),
        "resources/list" => reason::<ListResourcesRequest>(message),
        "resources/templates/list" => reason::<ListResourceTemplatesRequest>(message),
        "resources/read" => reason::<ReadResourceRequest>(message),
        "prompts/list" => reason::<ListPromptsRequest>(message),
        "prompts/get" => reason::<GetPromptRequest>(message),
        "completion/complete" => reason::<CompleteRequest>(message),
        _ => return None,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|essence| essence.eq_ignore_ascii_case("application/json"))
}

/// Read the whole body, at most [`MAX_REQUEST_BODY_BYTES`] of it.
async fn read_body(body: Body) -> Result<Bytes, Rejection> {
    match Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            format!("Invalid request: the body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
        )),
        Err(e) => Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            PARSE_ERROR,
            format!("Parse error: the body could not be read in full ({e})"),
        )),
    }
}

/// The axum middleware in front of rmcp's service (see the module docs).
pub async fn guard(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return into_jsonrpc_errors(next.run(request).await).await;
    }
    // Declared too large: refuse before reading a byte of it.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY_BYTES as u64) {
        return Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            format!("Invalid request: the body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
        )
        .into_response();
    }
    if !is_json(request.headers()) {
        return Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_REQUEST,
            "Invalid request: Content-Type must be application/json",
        )
        .into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(rejection) => return rejection.into_response(),
    };
    if let Err(rejection) = check_message(&bytes) {
        return rejection.into_response();
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    into_jsonrpc_errors(next.run(request).await).await
}

/// rmcp's plain-text error answers, as JSON-RPC error objects with the same
/// status. Everything else passes untouched (streams are never buffered).
async fn into_jsonrpc_errors(response: Response) -> Response {
    let status = response.status();
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match Limited::new(body, MAX_PASSED_TEXT * 4).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let mut text: String = text.trim().chars().take(MAX_PASSED_TEXT).collect();
    if text.is_empty() {
        text = status.canonical_reason().unwrap_or("error").to_owned();
    }
    let code = if status.is_server_error() {
        INTERNAL_ERROR
    } else {
        INVALID_REQUEST
    };
    let mut rewritten = jsonrpc_error_response(status, None, code, &text);
    // Keep what tells a client how to go on (Allow, WWW-Authenticate, ...).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name, value.clone());
        }
    }
    rewritten.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Option<i64> {
        check_message(body.as_bytes()).err().map(|r| r.code)
    }

    #[test]
    fn well_formed_messages_pass() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"no/such/method"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}"#,
        ] {
            assert_eq!(check_message(body.as_bytes()), Ok(()), "{body}");
        }
    }

    #[test]
    fn each_mistake_has_its_code() {
        assert_eq!(code("{"), Some(PARSE_ERROR));
        assert_eq!(code("[]"), Some(INVALID_REQUEST));
        assert_eq!(code(r#"{"id":1,"method":"ping"}"#), Some(INVALID_REQUEST));
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#),
            Some(INVALID_REQUEST)
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#),
            Some(INVALID_PARAMS)
        );
        let rejection =
            check_message(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#).unwrap_err();
        assert_eq!(rejection.id, Some(json!(7)));
        assert!(rejection.message.contains("tools/call"), "{rejection:?}");
    }
}
