//! Label selectors and cluster targets: syntax of keys and values, operator
//! rules (In/NotIn need values, Exists/DoesNotExist take none) and cluster
//! names that must exist.

use super::{Known, Loc, Problems};
use crate::model::raw;
use crate::model::{names, ClusterTarget, LabelSelector, SelectorOp, SelectorRequirement};

/// Checks a raw selector at `field` and converts it.
pub fn label_selector(
    loc: Loc<'_>,
    field: &str,
    raw: raw::LabelSelector,
    p: &mut Problems,
) -> LabelSelector {
    for (key, value) in &raw.match_labels {
        let at = format!("{field}.matchLabels.{key}");
        check_key(loc, &at, key, p);
        check_value(loc, &at, value, p);
    }
    let mut match_expressions = Vec::with_capacity(raw.match_expressions.len());
    for (i, req) in raw.match_expressions.into_iter().enumerate() {
        let at = format!("{field}.matchExpressions[{i}]");
        check_key(loc, &format!("{at}.key"), &req.key, p);
        let operator = match req.operator {
            raw::SelectorOperator::In => SelectorOp::In,
            raw::SelectorOperator::NotIn => SelectorOp::NotIn,
            raw::SelectorOperator::Exists => SelectorOp::Exists,
            raw::SelectorOperator::DoesNotExist => SelectorOp::DoesNotExist,
        };
        let needs_values = matches!(operator, SelectorOp::In | SelectorOp::NotIn);
        if needs_values && req.values.is_empty() {
            p.push(
                loc,
                &format!("{at}.values"),
                format!("operator {operator:?} needs at least one value"),
            );
        }
        if !needs_values && !req.values.is_empty() {
            p.push(
                loc,
                &format!("{at}.values"),
                format!("operator {operator:?} takes no values: remove them"),
            );
        }
        for (j, value) in req.values.iter().enumerate() {
            check_value(loc, &format!("{at}.values[{j}]"), value, p);
        }
        match_expressions.push(SelectorRequirement {
            key: req.key,
            operator,
            values: req.values,
        });
    }
    LabelSelector {
        match_labels: raw.match_labels,
        match_expressions,
    }
}

/// Checks a raw cluster target at `field` (names and exclusions must be
/// clusters, the selector must be valid) and converts it.
pub fn cluster_target(
    loc: Loc<'_>,
    field: &str,
    raw: raw::ClusterTarget,
    known: &Known,
    p: &mut Problems,
) -> ClusterTarget {
    known.check_clusters(loc, &format!("{field}.clusterNames"), &raw.cluster_names, p);
    known.check_clusters(loc, &format!("{field}.exclude"), &raw.exclude, p);
    let label_selector = raw
        .label_selector
        .map(|s| label_selector(loc, &format!("{field}.labelSelector"), s, p));
    ClusterTarget {
        cluster_names: raw.cluster_names,
        label_selector,
        exclude: raw.exclude,
    }
}

/// Reports a label key that Kubernetes would reject.
pub fn check_key(loc: Loc<'_>, field: &str, key: &str, p: &mut Problems) {
    if let Err(why) = names::label_key(key) {
        p.push(loc, field, format!("invalid label key {key:?}: {why}"));
    }
}

/// Reports a label value that Kubernetes would reject.
pub fn check_value(loc: Loc<'_>, field: &str, value: &str, p: &mut Problems) {
    if let Err(why) = names::label_value(value) {
        p.push(loc, field, format!("invalid label value {value:?}: {why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    fn check(yaml: &str) -> (LabelSelector, Vec<ModelError>) {
        let raw: raw::LabelSelector = crate::yaml::from_str(yaml).unwrap();
        let mut p = Problems::default();
        let sel = label_selector(Loc::file("f.yaml"), "spec.sel", raw, &mut p);
        (sel, p.finish(()).err().map(|e| e.0).unwrap_or_default())
    }

    #[test]
    fn valid_selector_converts() {
        let (sel, errors) = check(
            "matchLabels: {env: prod}\nmatchExpressions: [{key: region, operator: NotIn, values: [eu]}]",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(sel.match_labels["env"], "prod");
        assert_eq!(sel.match_expressions[0].operator, SelectorOp::NotIn);
    }

    #[test]
    fn in_without_values_is_an_error() {
        let (_, errors) = check("matchExpressions: [{key: env, operator: In}]");
        assert_eq!(
            errors,
            [ModelError::field(
                "f.yaml",
                "spec.sel.matchExpressions[0].values",
                "operator In needs at least one value"
            )]
        );
    }

    #[test]
    fn exists_with_values_is_an_error() {
        let (_, errors) = check("matchExpressions: [{key: env, operator: Exists, values: [a]}]");
        assert_eq!(
            errors,
            [ModelError::field(
                "f.yaml",
                "spec.sel.matchExpressions[0].values",
                "operator Exists takes no values: remove them"
            )]
        );
    }

    #[test]
    fn invalid_keys_and_values_are_errors() {
        let (_, errors) = check("matchLabels: {\"bad key\": ok, env: \"-prod\"}");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].location(), "f.yaml: spec.sel.matchLabels.bad key");
        assert!(errors[0]
            .message
            .starts_with("invalid label key \"bad key\": "));
        assert_eq!(errors[1].location(), "f.yaml: spec.sel.matchLabels.env");
        assert!(errors[1]
            .message
            .starts_with("invalid label value \"-prod\": "));
    }
}
