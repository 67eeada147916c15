//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::routes;

/// The OpenAPI 3.1 document of every route, served at `/openapi.json`:
/// `ApiDoc::openapi()` (trait [`utoipa::OpenApi`]) builds it, with bearer
/// authentication and the error responses every operation can give.
#[derive(OpenApi)]
#[openapi(
    info(title = "tenantry", description = "Multi-tenant SaaS backend on PostgreSQL row-level security."),
    paths(
        routes::auth::sign_up, routes::auth::sign_in, routes::auth::sign_out, routes::auth::get_session,
        routes::auth::request_password_reset, routes::auth::reset_password,
        routes::auth::send_verification_email, routes::auth::verify_email,
        routes::account::list_sessions, routes::account::revoke_session, routes::account::revoke_sessions,
        routes::account::revoke_other_sessions, routes::account::update_user,
        routes::account::change_password, routes::account::change_email,
        routes::organization::create, routes::organization::list, routes::organization::set_active,
        routes::organization::get_full_organization, routes::organization::invite_member,
        routes::organization::accept_invitation, routes::organization::remove_member,
        routes::organization::update_member_role,
        routes::organization::update, routes::organization::delete, routes::organization::leave,
        routes::organization::check_slug, routes::organization::list_members,
        routes::organization::get_active_member, routes::organization::has_permission,
        routes::organization::list_invitations, routes::organization::list_user_invitations,
        routes::organization::get_invitation, routes::organization::reject_invitation,
        routes::organization::cancel_invitation,
        routes::delete_user::delete_user,
        routes::tokens::list, routes::tokens::create, routes::tokens::revoke,
        routes::projects::list, routes::projects::show, routes::projects::create, routes::projects::update,
        routes::projects::remove,
        routes::usage::record, routes::usage::report,
        routes::members::members, routes::members::audit_log,
        routes::health::health,
    ),
    modifiers(&BearerAuth, &ErrorResponses),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token (tnty_...) or a session token",
                    ))
                    .build(),
            ),
        );
    }
}

/// Operations that take no credential.
const PUBLIC: &[&str] = &[
    "/api/auth/sign-up/email",
    "/api/auth/sign-in/email",
    "/api/auth/request-password-reset",
    "/api/auth/reset-password",
    "/api/auth/send-verification-email",
    "/api/auth/verify-email",
    "/health",
];

/// Operations that read a credential when there is one (`null` otherwise).
const OPTIONAL_AUTH: &[&str] = &["/api/auth/get-session"];

/// Operations that act in an organization chosen by `X-Organization-Id` (a
/// malformed one is a 400, one the caller is not a member of a 404).
const TENANT_SCOPED: &[&str] = &[
    "/api/projects",
    "/api/usage",
    "/api/members",
    "/api/audit-log",
];

/// The error statuses the server answers beyond each handler's own, added to
/// every operation they apply to, so the document lists every status a
/// client can get (the schemathesis run in `scripts/bad-input` checks it):
///
/// - 400 where there is input: a JSON body, query or path parameters, or
///   `X-Organization-Id` on tenant routes;
/// - 401 where a credential is required; 404 on tenant routes;
/// - 403 on writes: a cookie-authenticated write from an untrusted origin
///   ([`crate::origin`]);
/// - 413 where there is a body ([`crate::extract::BODY_LIMIT`]);
/// - 429 under `/api/auth` (the per-route limits) and wherever a credential
///   is read (the failed-credential limit), with `Retry-After` ([`crate::limits`]);
/// - 503 everywhere: the database is down or too slow.
///
/// Operations that need no credential get `security: []`, and
/// `get-session` gets an optional one.
struct ErrorResponses;

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for_each_operation(openapi, document_errors);
    }
}

/// `visit(path, is_write, operation)` for every operation of `openapi`.
fn for_each_operation(
    openapi: &mut utoipa::openapi::OpenApi,
    mut visit: impl FnMut(&str, bool, &mut Operation),
) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (write, operation) in operations {
            if let Some(operation) = operation {
                visit(path, write, operation);
            }
        }
    }
}

/// The statuses of [`ErrorResponses`] on an application's paths: each is
/// taken to act in an organization (what an extension's routes are for),
/// with a credential.
fn document_extension_errors(openapi: &mut utoipa::openapi::OpenApi) {
    for_each_operation(openapi, |path, write, operation| {
        document_errors_as(path, write, operation, true)
    });
}

fn document_errors(path: &str, write: bool, operation: &mut Operation) {
    let tenant = TENANT_SCOPED
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")));
    document_errors_as(path, write, operation, tenant);
}

fn document_errors_as(path: &str, write: bool, operation: &mut Operation, tenant: bool) {
    let public = PUBLIC.contains(&path);
    let optional = OPTIONAL_AUTH.contains(&path);
    let has_body = operation.request_body.is_some();
    let has_params = operation
        .parameters
        .as_ref()
        .is_some_and(|parameters| !parameters.is_empty());
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    };
    if has_body || has_params || tenant {
        add(
            "400",
            "Invalid input: the error names the field, parameter or header",
        );
    }
    if !public && !optional {
        add(
            "401",
            "No credential, or one that is invalid, expired or revoked",
        );
    }
    if write {
        add(
            "403",
            "A cookie-authenticated write from an untrusted origin",
        );
    }
    if tenant {
        add(
            "404",
            "Not found in the caller's organization, or not a member of the organization named",
        );
    }
    if has_body {
        add("413", "The request body is larger than the limit");
    }
    add(
        "503",
        "The database is unavailable or did not answer in time",
    );
    if path.starts_with("/api/auth/") || !public {
        operation
            .responses
            .responses
            .entry("429".to_owned())
            .or_insert_with(|| RefOr::T(too_many_requests()));
    }
    if public {
        operation.security = Some(Vec::new());
    } else if optional {
        operation.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn too_many_requests() -> utoipa::openapi::Response {
    let seconds = || {
        utoipa::openapi::HeaderBuilder::new()
            .schema(utoipa::openapi::schema::Object::with_type(
                utoipa::openapi::schema::Type::Integer,
            ))
            .description(Some("Seconds until the client may try again"))
            .build()
    };
    let mut response = error_response(
        "Over an abuse limit: too many requests from this address to this route, or too many refused credentials",
    );
    response.headers.insert("Retry-After".to_owned(), seconds());
    response
        .headers
        .insert("X-Retry-After".to_owned(), seconds());
    response
}

/// The document of tenantry's own routes.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The schema names of `extension` that tenantry's document already uses
/// for a different schema. Merging keeps tenantry's, so each of these would
/// silently describe the application's operation with tenantry's type:
/// `tenantry_server::Application::build` refuses to start with one.
pub fn clashing_schemas(extension: &utoipa::openapi::OpenApi) -> Vec<String> {
    let own = ApiDoc::openapi();
    let (Some(own), Some(theirs)) = (own.components, extension.components.as_ref()) else {
        return Vec::new();
    };
    theirs
        .schemas
        .iter()
        .filter(|(name, schema)| own.schemas.get(*name).is_some_and(|mine| mine != *schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// tenantry's document with an application's paths and schemas merged in
/// (see [`crate::ApiExtension`]). The application's operations get the
/// error statuses every tenant route has, and tenantry's bearer security;
/// a path tenantry already serves is left as tenantry documents it.
pub fn document_with(mut extension: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document_extension_errors(&mut extension);
    document.merge(extension);
    document
}
