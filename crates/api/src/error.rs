//! The API's one error type and how it becomes an HTTP response.
//!
//! Every error is JSON `{"error": {"code", "message"}}` with the right status.
//! For the Better Auth routes the same `code` and `message` also stand at the
//! top level, where Better Auth's client library reads them.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenantry_app::Scope;
use tenantry_app::{AppError, DbError};
use tenantry_auth::AuthError;

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 401: no credential, or one that does not work.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 with a code of its own: a rule refuses this caller (Better Auth's
    /// code, where it has one).
    #[error("{message}")]
    Denied {
        /// Stable code.
        code: &'static str,
        /// Why, for people.
        message: &'static str,
    },
    /// 403: the personal access token lacks a scope (a write with a
    /// read-only token). The body names it in `error.requiredScope`.
    #[error("this token lacks the {0} scope")]
    InsufficientScope(Scope),
    /// 403: a cookie-authenticated write from an untrusted origin.
    #[error("the request's origin is not trusted")]
    CrossOrigin {
        /// Better Auth's code: MISSING_OR_NULL_ORIGIN or INVALID_ORIGIN.
        code: &'static str,
    },
    /// 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 409: it exists already.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What clashed.
        message: String,
    },
    /// 413.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 429: over an abuse limit ([`crate::limits`]); the client may try
    /// again after this many seconds (`Retry-After`, `X-Retry-After`).
    #[error("Too many requests. Please try again later.")]
    TooManyRequests {
        /// Whole seconds until the window closes.
        retry_after_secs: u64,
    },
    /// 503: the database is down or too slow.
    #[error("service unavailable")]
    Unavailable,
    /// 500: logged with its cause; the client learns nothing more.
    #[error("internal error")]
    Internal(String),
}

/// Every error response's body: Better Auth's `{code, message}` at the top level, and the same under `error`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
    /// Same as `error.code` (Better Auth's client reads it here).
    pub code: String,
    /// Same as `error.message`.
    pub message: String,
}

/// The `error` member of an [`ErrorBody`].
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
    /// The scope the token lacks (`INSUFFICIENT_SCOPE` only), e.g. `"write"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "write")]
    pub required_scope: Option<&'static str>,
}

impl ApiError {
    /// A 400 naming the invalid field.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        ApiError::BadRequest {
            code: "INVALID_INPUT",
            message: format!("invalid {field}: {reason}"),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            ApiError::Denied { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE"),
            ApiError::CrossOrigin { code } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")
            }
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(cause) = &self {
            // Debug, not Display: a cause may quote input, and escaped it
            // cannot start a forged log line.
            tracing::error!(?cause, "request failed");
        }
        let message = self.to_string();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.clone(),
                required_scope: match &self {
                    ApiError::InsufficientScope(scope) => Some(scope.as_str()),
                    _ => None,
                },
            },
            code: code.to_owned(),
            message,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            // Better Auth's client reads this one.
            headers.insert("x-retry-after", HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<tenantry_domain::InvalidInput> for ApiError {
    fn from(e: tenantry_domain::InvalidInput) -> Self {
        ApiError::invalid(e.field, e.reason)
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::InvalidInput { field, reason } => ApiError::invalid(field, reason),
            DbError::NotFound(what) => ApiError::NotFound(what),
            DbError::Refused { code, message } => ApiError::BadRequest {
                code,
                message: message.to_owned(),
            },
            DbError::Forbidden { code, message } => ApiError::Denied { code, message },
            DbError::Conflict { constraint } => conflict_for(&constraint),
            DbError::MissingReference { constraint } => ApiError::BadRequest {
                code: "INVALID_REFERENCE",
                message: format!("a referenced row does not exist ({constraint})"),
            },
            // Only a read-only token's work runs in read-only transactions.
            DbError::ReadOnly => ApiError::InsufficientScope(Scope::Write),
            DbError::PolicyViolation => ApiError::Denied {
                code: "FORBIDDEN",
                message: "the write is outside your organization",
            },
            e if e.is_unavailable() => {
                tracing::warn!(error = ?e, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// A unique violation, named for people by its constraint.
fn conflict_for(constraint: &str) -> ApiError {
    let (code, message) = match constraint {
        "user_email_key" => (
            "USER_ALREADY_EXISTS",
            "a user with this email already exists",
        ),
        "organization_slug_key" => (
            "ORGANIZATION_ALREADY_EXISTS",
            "an organization with this slug already exists",
        ),
        "project_organization_id_name_key" => (
            "PROJECT_NAME_TAKEN",
            "a project with this name already exists",
        ),
        "invitation_pending_email_key" => (
            "USER_IS_ALREADY_INVITED",
            "this email already has a pending invitation",
        ),
        "member_organization_id_user_id_key" => {
            ("ALREADY_A_MEMBER", "the user is already a member")
        }
        _ => ("CONFLICT", "this conflicts with an existing record"),
    };
    ApiError::Conflict {
        code,
        message: message.to_owned(),
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::InvalidInput { field, reason } => ApiError::invalid(field, reason),
            AppError::Forbidden { code, message } => ApiError::Denied { code, message },
            AppError::Refused { code, message } => ApiError::BadRequest {
                code,
                message: message.to_owned(),
            },
            AppError::NotFound(what) => ApiError::NotFound(what),
            AppError::MissingScope(scope) => ApiError::InsufficientScope(scope),
            AppError::TooManyRequests(limited) => ApiError::TooManyRequests {
                retry_after_secs: limited.retry_after_secs(),
            },
            AppError::Db(error) => ApiError::from(error),
            AppError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::from(AppError::from(error))
    }
}
