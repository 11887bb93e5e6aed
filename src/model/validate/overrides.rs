//! `overrides/*.yaml`: rules with a cluster target and overriders. Paths
//! must be JSON pointers, add/replace need a value, label and annotation
//! keys must be valid. Whether resource selectors match any object is a
//! fleet check (it needs the app's manifests).

use super::selector::{check_key, check_value, cluster_target};
use super::{Known, Loc, Problems};
use crate::model::raw;
use crate::model::{
    names, ImageComponent, ImageOverrider, ListOverrider, MapOverrider, OverrideFile, OverrideOp,
    OverrideRule, Overriders, PlaintextOp, ResourceSelector,
};

/// Checks one Override document read from `loc` and converts it.
pub fn override_file(
    loc: Loc<'_>,
    spec: raw::OverrideSpec,
    known: &Known,
    p: &mut Problems,
) -> OverrideFile {
    if spec.override_rules.is_empty() {
        p.push(
            loc,
            "spec.overrideRules",
            "no rules: an Override needs at least one rule",
        );
    }
    let rules = spec
        .override_rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let field = format!("spec.overrideRules[{index}]");
            let target = cluster_target(
                loc,
                &format!("{field}.targetCluster"),
                rule.target_cluster,
                known,
                p,
            );
            let overriders = overriders(loc, &format!("{field}.overriders"), rule.overriders, p);
            OverrideRule {
                index,
                target,
                overriders,
            }
        })
        .collect();
    let resource_selectors = spec
        .resource_selectors
        .into_iter()
        .map(|s| ResourceSelector {
            api_version: s.api_version,
            kind: s.kind,
            namespace: s.namespace,
            name: s.name,
        })
        .collect();
    OverrideFile {
        file: loc.file.to_string(),
        resource_selectors,
        rules,
    }
}

fn op(raw: raw::Operator) -> OverrideOp {
    match raw {
        raw::Operator::Add => OverrideOp::Add,
        raw::Operator::Remove => OverrideOp::Remove,
        raw::Operator::Replace => OverrideOp::Replace,
    }
}

fn check_pointer(loc: Loc<'_>, field: &str, path: &str, p: &mut Problems) {
    if let Err(why) = names::json_pointer(path) {
        p.push(loc, field, format!("invalid path {path:?}: {why}"));
    }
}

fn overriders(loc: Loc<'_>, field: &str, raw: raw::Overriders, p: &mut Problems) -> Overriders {
    let out = Overriders {
        plaintext: raw
            .plaintext
            .into_iter()
            .enumerate()
            .map(|(i, o)| plaintext(loc, &format!("{field}.plaintext[{i}]"), o, p))
            .collect(),
        image: raw
            .image_overrider
            .into_iter()
            .enumerate()
            .map(|(i, o)| image(loc, &format!("{field}.imageOverrider[{i}]"), o, p))
            .collect(),
        labels: maps(
            loc,
            &format!("{field}.labelsOverrider"),
            raw.labels_overrider,
            true,
            p,
        ),
        annotations: maps(
            loc,
            &format!("{field}.annotationsOverrider"),
            raw.annotations_overrider,
            false,
            p,
        ),
        command: lists(
            loc,
            &format!("{field}.commandOverrider"),
            raw.command_overrider,
            p,
        ),
        args: lists(
            loc,
            &format!("{field}.argsOverrider"),
            raw.args_overrider,
            p,
        ),
    };
    if out == Overriders::default() {
        p.push(
            loc,
            field,
            "no overriders: set plaintext, imageOverrider, labelsOverrider, \
             annotationsOverrider, commandOverrider or argsOverrider",
        );
    }
    out
}

fn plaintext(
    loc: Loc<'_>,
    field: &str,
    raw: raw::PlaintextOverrider,
    p: &mut Problems,
) -> PlaintextOp {
    check_pointer(loc, &format!("{field}.path"), &raw.path, p);
    let operator = op(raw.operator);
    match (operator, &raw.value) {
        (OverrideOp::Remove, Some(_)) => p.push(
            loc,
            &format!("{field}.value"),
            "remove takes no value: delete the value",
        ),
        (OverrideOp::Add | OverrideOp::Replace, None) => p.push(
            loc,
            &format!("{field}.value"),
            "missing: add and replace need a value",
        ),
        _ => {}
    }
    PlaintextOp {
        path: raw.path,
        operator,
        value: raw.value,
    }
}

fn image(loc: Loc<'_>, field: &str, raw: raw::ImageOverrider, p: &mut Problems) -> ImageOverrider {
    if let Some(pred) = &raw.predicate {
        check_pointer(loc, &format!("{field}.predicate.path"), &pred.path, p);
    }
    let operator = op(raw.operator);
    let needs_value = operator != OverrideOp::Remove;
    if needs_value && raw.value.as_deref().is_none_or(str::is_empty) {
        p.push(
            loc,
            &format!("{field}.value"),
            "missing: add and replace need a value",
        );
    }
    let component = match raw.component {
        raw::ImageComponentName::Registry => ImageComponent::Registry,
        raw::ImageComponentName::Repository => ImageComponent::Repository,
        raw::ImageComponentName::Tag => ImageComponent::Tag,
    };
    ImageOverrider {
        path: raw.predicate.map(|pr| pr.path),
        component,
        operator,
        value: raw.value.unwrap_or_default(),
    }
}

fn maps(
    loc: Loc<'_>,
    field: &str,
    raw: Vec<raw::MapOverrider>,
    labels: bool,
    p: &mut Problems,
) -> Vec<MapOverrider> {
    raw.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("{field}[{i}].value");
            if m.value.is_empty() {
                p.push(loc, &at, "empty: list the keys to change");
            }
            let operator = op(m.operator);
            for (key, value) in &m.value {
                let at = format!("{at}.{key}");
                check_key(loc, &at, key, p);
                if labels && operator != OverrideOp::Remove {
                    check_value(loc, &at, value, p);
                }
            }
            MapOverrider {
                operator,
                value: m.value,
            }
        })
        .collect()
}

fn lists(
    loc: Loc<'_>,
    field: &str,
    raw: Vec<raw::ListOverrider>,
    p: &mut Problems,
) -> Vec<ListOverrider> {
    raw.into_iter()
        .enumerate()
        .map(|(i, l)| {
            if l.container_name.is_empty() {
                p.push(
                    loc,
                    &format!("{field}[{i}].containerName"),
                    "must name a container",
                );
            }
            ListOverrider {
                container_name: l.container_name,
                operator: op(l.operator),
                value: l.value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    const FILE: &str = "apps/shop/overrides/eu.yaml";

    fn check(yaml: &str) -> (OverrideFile, Vec<ModelError>) {
        let spec: raw::OverrideSpec = crate::yaml::from_str(yaml).unwrap();
        let known = Known {
            clusters: ["eu-1", "eu-2"].iter().map(|s| s.to_string()).collect(),
            apps: Default::default(),
        };
        let mut p = Problems::default();
        let file = override_file(Loc::file(FILE), spec, &known, &mut p);
        (file, p.finish(()).err().map(|e| e.0).unwrap_or_default())
    }

    #[test]
    fn full_override_converts() {
        let (file, errors) = check(
            "resourceSelectors: [{kind: Deployment, name: web}]\noverrideRules:\n\
             - targetCluster: {clusterNames: [eu-1]}\n  overriders:\n    \
             plaintext: [{path: /spec/paused, operator: add, value: true}]\n    \
             imageOverrider: [{component: Registry, operator: replace, value: eu.example.com}]\n    \
             labelsOverrider: [{operator: add, value: {region: eu}}]\n    \
             argsOverrider: [{containerName: web, operator: add, value: [--eu]}]\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            file.resource_selectors[0].kind.as_deref(),
            Some("Deployment")
        );
        let o = &file.rules[0].overriders;
        assert_eq!(o.plaintext[0].value, Some(serde_json::json!(true)));
        assert_eq!(o.image[0].component, ImageComponent::Registry);
        assert_eq!(o.labels[0].value["region"], "eu");
        assert_eq!(o.args[0].value, ["--eu"]);
    }

    #[test]
    fn plaintext_paths_must_be_json_pointers() {
        let (_, errors) = check(
            "overrideRules: [{overriders: {plaintext: [{path: spec/replicas, operator: replace, value: 1}]}}]",
        );
        assert_eq!(
            errors,
            [ModelError::field(
                FILE,
                "spec.overrideRules[0].overriders.plaintext[0].path",
                "invalid path \"spec/replicas\": must be a JSON pointer starting with '/', e.g. /spec/replicas"
            )]
        );
    }

    #[test]
    fn unknown_target_clusters_are_located() {
        let (_, errors) = check(
            "overrideRules: [{targetCluster: {exclude: [eu-7]}, overriders: {labelsOverrider: [{operator: add, value: {a: b}}]}}]",
        );
        assert_eq!(
            errors,
            [ModelError::field(
                FILE,
                "spec.overrideRules[0].targetCluster.exclude[0]",
                "unknown cluster \"eu-7\": there is no clusters/eu-7.yaml"
            )]
        );
    }

    #[test]
    fn empty_rules_and_missing_values_are_errors() {
        let (_, errors) = check(
            "overrideRules: [{overriders: {}}, {overriders: {plaintext: [{path: /a, operator: add}]}}]",
        );
        let locations: Vec<_> = errors.iter().map(|e| e.location()).collect();
        assert_eq!(
            locations,
            [
                "apps/shop/overrides/eu.yaml: spec.overrideRules[0].overriders",
                "apps/shop/overrides/eu.yaml: spec.overrideRules[1].overriders.plaintext[0].value",
            ]
        );
        let (_, errors) = check("{}");
        assert_eq!(
            errors,
            [ModelError::field(
                FILE,
                "spec.overrideRules",
                "no rules: an Override needs at least one rule"
            )]
        );
    }
}
