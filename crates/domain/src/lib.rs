//! # tenantry-domain: the vocabulary every layer shares
//!
//! Pure types and rules, decided without a database, a network or a clock:
//!
//! - [`ids`]: typed identifiers ([`OrganizationId`], [`UserId`],
//!   [`ProjectId`], [`MemberId`], [`InvitationId`], [`PatId`]), parsed once
//!   at the edge so a malformed id is one 400 from one place;
//! - [`name`]: [`BoundedName`], the one "trimmed, 1 to N characters, no
//!   control characters" rule, with the bound of every kind of name;
//! - [`role`]: [`MemberRole`] and what each role may do;
//! - [`scope`]: [`Scope`] and [`Scopes`], what a personal access token may do.
//!
//! Nothing here depends on another tenantry crate: every other crate depends
//! on this one. A parse failure is an [`InvalidInput`] naming the field, which
//! each layer turns into its own error type.
//!
//! ```
//! use tenantry_domain::{BoundedName, MemberRole, ProjectId, name};
//!
//! let name = BoundedName::parse("name", "  Billing  ", name::MAX_PROJECT_NAME_CHARS).unwrap();
//! assert_eq!(name.as_str(), "Billing");
//! assert!(ProjectId::parse("not-a-uuid").is_err());
//! assert!(MemberRole::Admin.can_manage_role(MemberRole::Member));
//! ```
#![deny(missing_docs)]

mod error;
pub mod ids;
pub mod name;
pub mod role;
pub mod scope;

pub use error::InvalidInput;
pub use ids::{InvitationId, MemberId, OrganizationId, PatId, ProjectId, UserId};
pub use name::BoundedName;
pub use role::MemberRole;
pub use scope::{Scope, Scopes};

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
