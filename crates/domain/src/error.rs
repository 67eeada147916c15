//! The one error of this crate: input that does not parse.

/// Input that does not parse, naming the field it came from (in the API's
/// camelCase spelling) and why, in words fit to show the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The input field, as the client named it (`"name"`, `"projectId"`).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidInput {
    /// An error about `field`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}
