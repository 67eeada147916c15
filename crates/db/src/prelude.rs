//! What code running statements needs in scope: `use
//! tenantry_db::prelude::*;` makes `tx.query(..)` and its siblings callable
//! on a [`TenantTx`](crate::TenantTx) or an [`Autocommit`](crate::Autocommit).

pub use crate::context::TenantStatements;
pub use crate::statements::Query;
