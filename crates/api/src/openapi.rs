//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "tenantry", description = "Multi-tenant SaaS backend on PostgreSQL row-level security."),
    paths(
        routes::auth::sign_up, routes::auth::sign_in, routes::auth::sign_out, routes::auth::get_session,
        routes::auth::request_password_reset, routes::auth::reset_password,
        routes::auth::send_verification_email, routes::auth::verify_email,
        routes::organization::create, routes::organization::list, routes::organization::set_active,
        routes::organization::get_full_organization, routes::organization::invite_member,
        routes::organization::accept_invitation, routes::organization::remove_member,
        routes::organization::update_member_role,
        routes::tokens::list, routes::tokens::create, routes::tokens::revoke,
        routes::projects::list, routes::projects::show, routes::projects::create, routes::projects::update,
        routes::projects::remove,
        routes::usage::record, routes::usage::report,
        routes::members::members, routes::members::audit_log,
        routes::health::health,
    ),
    modifiers(&BearerAuth),
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

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
