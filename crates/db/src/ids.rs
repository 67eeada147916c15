//! Typed identifiers, defined in `tenantry-domain` and re-exported here so
//! the data layer's signatures can name them.

pub use tenantry_domain::ids::*;
