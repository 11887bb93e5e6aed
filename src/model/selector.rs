//! Kubernetes-style label selectors (matchLabels + matchExpressions) over
//! cluster labels.

use std::collections::BTreeMap;

/// A validated label selector. An empty selector matches every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// Every pair must be present with the same value.
    pub match_labels: BTreeMap<String, String>,
    /// Every requirement must hold.
    pub match_expressions: Vec<SelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// In | NotIn | Exists | DoesNotExist.
    pub operator: SelectorOp,
    /// Values for In/NotIn (non-empty); empty for Exists/DoesNotExist.
    pub values: Vec<String>,
}

/// Selector operators, as in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorOp {
    /// Label present with one of the values.
    In,
    /// Label absent, or present with none of the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
}

impl LabelSelector {
    /// Whether the labels satisfy every part of the selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl SelectorRequirement {
    /// Whether the labels satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.operator {
            SelectorOp::In => v.is_some_and(|v| self.values.contains(v)),
            SelectorOp::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            SelectorOp::Exists => v.is_some(),
            SelectorOp::DoesNotExist => v.is_none(),
        }
    }
}

/// A label map from `(key, value)` pairs, for tests of anything selected
/// by labels.
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::default().matches(&labels(&[])));
    }

    #[test]
    fn expressions_follow_kubernetes_semantics() {
        let req = |operator, values: &[&str]| SelectorRequirement {
            key: "env".into(),
            operator,
            values: values.iter().map(|s| s.to_string()).collect(),
        };
        let prod = labels(&[("env", "prod")]);
        let none = labels(&[]);
        assert!(req(SelectorOp::In, &["prod", "stage"]).matches(&prod));
        assert!(!req(SelectorOp::In, &["stage"]).matches(&prod));
        assert!(!req(SelectorOp::In, &["prod"]).matches(&none));
        assert!(req(SelectorOp::NotIn, &["stage"]).matches(&prod));
        assert!(req(SelectorOp::NotIn, &["prod"]).matches(&none));
        assert!(req(SelectorOp::Exists, &[]).matches(&prod));
        assert!(req(SelectorOp::DoesNotExist, &[]).matches(&none));
    }
}
