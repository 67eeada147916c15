//! Request bodies: the API's JSON extractor on every body type, and the
//! field validators that run before any query.
//!
//! The first byte picks a body type (every `ApiJson<T>` the routes take) and
//! a `Content-Type`; the rest is the body. Properties:
//!
//! - `ApiJson::<T>::from_request` (the extractor the handlers use) never
//!   panics and finishes at once on an in-memory body. When it accepts, the
//!   content type was JSON and the body is a JSON object (up to invalid
//!   UTF-8 inside the values of unknown fields, which serde_json skips
//!   unread and the handlers never see). When it refuses,
//!   the answer is a 400 or 413 with our error body (`error.code`,
//!   `error.message`, the same `code` and `message` at the top level);
//!   `MALFORMED_JSON` only for text that is not JSON, and a body that is a
//!   JSON value of the wrong shape is `INVALID_INPUT`.
//! - Every string in the body (and the body as text) goes through each
//!   validator. None panics; a refusal names its field; and whatever one
//!   accepts, PostgreSQL stores: no NUL, within the column's CHECK bounds
//!   (the migrations' `char_length` limits), trimmed where the validator
//!   trims, and the same again when validated twice. Before `description`,
//!   `logo` and `model` were checked here, a NUL in them reached PostgreSQL.

#![no_main]

#[path = "in_memory.rs"]
mod in_memory;

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use in_memory::now;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenantry_api::ApiError;
use tenantry_api::extract::ApiJson;
use tenantry_api::routes::{auth, organization, projects, tokens, usage};
use tenantry_auth::email::{Email, MAX_EMAIL_CHARS};
use tenantry_auth::password::validate_password;
use tenantry_db::DbError;

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    None,
];

fn extract<T: DeserializeOwned>(content_type: Option<&str>, body: &[u8]) -> Result<T, ApiError> {
    let mut request = Request::builder().method("POST").uri("/");
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request.body(Body::from(body.to_vec())).unwrap();
    now(ApiJson::<T>::from_request(request, &())).map(|ApiJson(value)| value)
}

fn check_extraction<T: DeserializeOwned>(content_type: Option<&str>, body: &[u8]) {
    let json_type = content_type.is_some_and(|t| t.starts_with("application/json"));
    let parsed = serde_json::from_slice::<Value>(body);
    match extract::<T>(content_type, body) {
        Ok(_) => {
            assert!(json_type, "accepted content type {content_type:?}");
            // serde_json does not check UTF-8 inside values it skips (fields
            // a body type does not have), so compare with invalid bytes
            // replaced: those values are dropped unread.
            let lossy = serde_json::from_str::<Value>(&String::from_utf8_lossy(body));
            assert!(
                lossy.as_ref().is_ok_and(Value::is_object),
                "accepted a body that is not a JSON object"
            );
        }
        Err(error) => {
            let response = error.into_response();
            let status = response.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
                "{status}"
            );
            let bytes = now(axum::body::to_bytes(response.into_body(), usize::MAX)).unwrap();
            let error: Value = serde_json::from_slice(&bytes).expect("the error body is JSON");
            let code = error["error"]["code"].as_str().expect("error.code");
            let message = error["error"]["message"].as_str().expect("error.message");
            assert!(!message.is_empty());
            assert_eq!(error["code"], code);
            assert_eq!(error["message"], message);
            match code {
                "UNSUPPORTED_MEDIA_TYPE" => assert!(!json_type),
                "MALFORMED_JSON" => assert!(parsed.is_err(), "valid JSON called malformed"),
                "INVALID_INPUT" | "BAD_REQUEST" | "PAYLOAD_TOO_LARGE" => {}
                other => panic!("unexpected error code {other}"),
            }
            if json_type && parsed.is_ok() {
                assert_eq!(code, "INVALID_INPUT", "{message}");
            }
        }
    }
}

/// Every string in a JSON value, at most `limit` of them.
fn strings(value: &Value, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out, limit)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out, limit);
            }
        }
        _ => {}
    }
}

/// What PostgreSQL can store in a `text` column with `char_length` in `bounds`.
fn storable(text: &str, bounds: std::ops::RangeInclusive<usize>) -> bool {
    !text.contains('\0') && bounds.contains(&text.chars().count())
}

fn refused_naming(result: Result<impl std::fmt::Debug, DbError>, field: &str) {
    match result {
        Err(DbError::InvalidInput { field: named, .. }) => assert_eq!(named, field),
        other => panic!("expected a refusal naming {field}, got {other:?}"),
    }
}

/// The one name rule: what it accepts is trimmed, storable, free of control
/// characters, and accepted again unchanged.
fn check_name(text: &str, field: &'static str, max: usize) {
    match tenantry_db::BoundedName::parse(field, text, max) {
        Ok(name) => {
            let name = name.as_str();
            assert_eq!(name, text.trim());
            assert!(storable(name, 1..=max), "{field} {name:?}");
            assert!(!name.chars().any(char::is_control), "{field} {name:?}");
            let again = tenantry_db::BoundedName::parse(field, name, max);
            assert_eq!(again.as_ref().map(|n| n.as_str()).ok(), Some(name));
        }
        Err(e) => refused_naming(Err::<(), _>(DbError::from(e)), field),
    }
}

fn check_validators(text: &str) {
    // Project, organization and user names: 200 characters; token names: 100.
    check_name(text, "name", 200);
    check_name(text, "name", 100);
    match tenantry_db::projects::validate_description(text) {
        Ok(description) => {
            assert_eq!(description, text);
            assert!(
                storable(description, 0..=4000),
                "description {description:?}"
            );
        }
        Err(e) => refused_naming(Err::<(), _>(e), "description"),
    }
    match tenantry_db::organizations::validate_slug(text) {
        Ok(()) => {
            assert!((1..=64).contains(&text.len()));
            assert!(
                text.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
            );
            assert!(!text.starts_with('-') && !text.ends_with('-'));
        }
        Err(e) => refused_naming(Err::<(), _>(e), "slug"),
    }
    match tenantry_db::organizations::validate_logo(text) {
        Ok(logo) => assert!(!logo.contains('\0')),
        Err(e) => refused_naming(Err::<(), _>(e), "logo"),
    }
    match tenantry_db::usage::validate_model_name(text) {
        Ok(model) => assert!(storable(model, 1..=200), "model {model:?}"),
        Err(e) => refused_naming(Err::<(), _>(e), "model"),
    }
    match Email::parse(text) {
        Ok(email) => {
            let stored = email.as_str();
            assert!(storable(stored, 1..=MAX_EMAIL_CHARS), "email {stored:?}");
            assert_eq!(stored, stored.trim());
            assert_eq!(stored.matches('@').count(), 1, "{stored:?}");
        }
        Err(e) => assert_eq!(e.field(), "email"),
    }
    if let Err(e) = validate_password(text) {
        assert_eq!(e.field(), "password");
    }
}

macro_rules! body_types {
    ($($ty:ty),+ $(,)?) => {
        const BODY_TYPES: usize = [$(stringify!($ty)),+].len();
        fn check_body(selector: usize, content_type: Option<&str>, body: &[u8]) {
            let checks: [fn(Option<&str>, &[u8]); BODY_TYPES] = [$(check_extraction::<$ty>),+];
            checks[selector % BODY_TYPES](content_type, body);
        }
    };
}

body_types!(
    auth::SignUpBody,
    auth::SignInBody,
    auth::PasswordResetRequest,
    auth::ResetPasswordBody,
    auth::VerificationRequest,
    organization::CreateBody,
    organization::SetActiveBody,
    organization::InviteBody,
    organization::AcceptBody,
    organization::RemoveBody,
    organization::UpdateRoleBody,
    tokens::CreateBody,
    projects::CreateBody,
    projects::UpdateBody,
    usage::RecordBody,
);

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let selector = usize::from(selector);
    let content_type = CONTENT_TYPES[(selector / BODY_TYPES) % CONTENT_TYPES.len()];
    check_body(selector, content_type, body);

    let mut found = Vec::new();
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        strings(&value, &mut found, 32);
    }
    found.push(String::from_utf8_lossy(body).into_owned());
    for text in &found {
        check_validators(text);
    }
});
