//! One module per resource, each exporting its own `router()`.

pub mod account;
pub mod auth;
pub mod delete_user;
pub mod health;
pub mod members;
pub mod organization;
pub mod projects;
pub mod tokens;
pub mod usage;
