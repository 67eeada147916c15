//! Test support: the bypasses that only tests may take (feature `testing`,
//! which production builds never enable).
//!
//! The tests of this crate need the bare client itself (to hold a bare
//! connection while the server kills it) and its register of legitimate
//! uses (to check every source file against it).

/// The bare client, for tests only.
pub mod client {
    pub use crate::client::{BareClient, BareStatements, BypassReason, LEGITIMATE_USES, bare};
}
