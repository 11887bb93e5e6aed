//! Errors found while rendering (overrides that cannot apply to an object).

/// A rendering failure, naming the override file, rule, op and object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: spec.overrideRules[{rule}].{op}: on cluster {cluster}, {object}: {message}")]
pub struct RenderError {
    /// Override file.
    pub file: String,
    /// Rule index in the file.
    pub rule: usize,
    /// Overrider and index, e.g. `overriders.plaintext[0] (replace /spec/x)`.
    pub op: String,
    /// Cluster being rendered.
    pub cluster: String,
    /// Object (`Kind ns/name`).
    pub object: String,
    /// What failed.
    pub message: String,
}
