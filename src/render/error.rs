//! Errors found while rendering: mostly overrides that cannot apply to an
//! object, and the few things about manifests and placement that only
//! rendering reads (replica counts, HPA bounds, follow cycles).

use std::fmt;

/// Start of `op` for errors raised by an override rule (`overriders.plaintext[0] …`,
/// or `overriders` alone for the rule's result).
const OVERRIDER_PREFIX: &str = "overriders";

/// A rendering failure, naming the file, the rule and op (for overrides),
/// the cluster and the object.
///
/// Displayed as `file: spec.overrideRules[rule].op: on cluster C, Kind
/// ns/name: message` for override errors (those whose `op` starts with
/// `overriders.`), and `file: op: [on cluster C, ]object: message` for the
/// others, where `op` is the field concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    /// Override file (or the manifest / placement file for other errors).
    pub file: String,
    /// Rule index in the override file (0 for errors that are not about a rule).
    pub rule: usize,
    /// Overrider and index, e.g. `overriders.plaintext[0] (replace /spec/x)`;
    /// for other errors the field concerned, e.g. `spec.replicas`.
    pub op: String,
    /// Cluster being rendered (empty when the error holds for every cluster).
    pub cluster: String,
    /// Object (`Kind ns/name`).
    pub object: String,
    /// What failed.
    pub message: String,
}

impl RenderError {
    /// An error that is not about an override rule: `field` of `file`
    /// (e.g. `spec.maxReplicas`), for every cluster.
    pub fn at(file: &str, field: &str, object: &str, message: impl Into<String>) -> Self {
        RenderError {
            file: file.to_string(),
            rule: 0,
            op: field.to_string(),
            cluster: String::new(),
            object: object.to_string(),
            message: message.into(),
        }
    }

    /// Whether the error was raised by an override rule.
    pub fn is_override(&self) -> bool {
        self.op.starts_with(OVERRIDER_PREFIX)
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if self.is_override() {
            write!(f, "spec.overrideRules[{}].", self.rule)?;
        }
        write!(f, "{}: ", self.op)?;
        if !self.cluster.is_empty() {
            write!(f, "on cluster {}, ", self.cluster)?;
        }
        write!(f, "{}: {}", self.object, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_errors_name_file_rule_op_cluster_and_object() {
        let e = RenderError {
            file: "apps/shop/overrides/prod.yaml".into(),
            rule: 2,
            op: "overriders.plaintext[1] (replace /spec/foo)".into(),
            cluster: "eu-1".into(),
            object: "Deployment shop/web".into(),
            message: "no value at /spec/foo to replace".into(),
        };
        assert_eq!(
            e.to_string(),
            "apps/shop/overrides/prod.yaml: spec.overrideRules[2].overriders.plaintext[1] \
             (replace /spec/foo): on cluster eu-1, Deployment shop/web: no value at /spec/foo to replace"
        );
    }

    #[test]
    fn other_errors_name_the_field() {
        let e = RenderError::at(
            "apps/shop/manifests/web.yaml[doc 1]",
            "spec.maxReplicas",
            "HorizontalPodAutoscaler shop/web",
            "missing",
        );
        assert!(!e.is_override());
        assert_eq!(
            e.to_string(),
            "apps/shop/manifests/web.yaml[doc 1]: spec.maxReplicas: HorizontalPodAutoscaler shop/web: missing"
        );
    }
}
