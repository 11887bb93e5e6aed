//! Overrides: per-cluster changes to an app's objects, applied after the
//! replica split and before the tracking labels.
//!
//! Order (fixed, so a later rule wins where two touch the same field):
//! 1. by target specificity: rules for every cluster (no names, no
//!    selector) first, then label-selector targets, then targets that name
//!    clusters (names with a selector count as names);
//! 2. then by override file name;
//! 3. then by rule index in the file.
//!
//! Within a rule the overriders run in the field order of
//! [`crate::model::Overriders`]: plaintext, image, labels, annotations,
//! command, args. A rule touches only the objects its file's
//! `resourceSelectors` pick (none = every object of the app), matched on
//! the object as written in the manifest. A failing op is a
//! [`RenderError`] naming file, rule, op, cluster and object; the remaining
//! ops still run so that every failure is reported at once.

use crate::model::{App, Cluster, OverrideFile, OverrideOp, OverrideRule};
use crate::object::ObjectRef;
use crate::render::image::apply_image;
use crate::render::overriders::{apply_list, apply_map};
use crate::render::RenderError;
use json_patch::PatchOperation;
use serde_json::{json, Value};

/// One rule, ready to apply: its file and its plaintext ops parsed.
#[derive(Debug)]
pub struct OrderedRule<'a> {
    /// The file the rule is in.
    pub file: &'a OverrideFile,
    /// The rule.
    pub rule: &'a OverrideRule,
    /// `overriders.plaintext`, parsed once (same order).
    plaintext: Vec<PatchOperation>,
}

/// How specific a rule's target is: every cluster 0, selector 1, names 2.
pub fn specificity(rule: &OverrideRule) -> u8 {
    let t = &rule.target;
    if !t.cluster_names.is_empty() {
        2
    } else if t.label_selector.is_some() {
        1
    } else {
        0
    }
}

/// The app's override rules in application order, plaintext ops parsed.
/// Ops that cannot be parsed (a bad JSON pointer) are errors.
pub fn ordered_rules(app: &App) -> Result<Vec<OrderedRule<'_>>, Vec<RenderError>> {
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    for file in &app.overrides {
        for rule in &file.rules {
            let mut plaintext = Vec::with_capacity(rule.overriders.plaintext.len());
            for (i, op) in rule.overriders.plaintext.iter().enumerate() {
                let verb = verb(op.operator);
                let raw = match op.operator {
                    OverrideOp::Remove => json!({"op": verb, "path": op.path}),
                    _ => {
                        json!({"op": verb, "path": op.path, "value": op.value.clone().unwrap_or(Value::Null)})
                    }
                };
                match serde_json::from_value::<PatchOperation>(raw) {
                    Ok(parsed) => plaintext.push(parsed),
                    Err(e) => errors.push(RenderError {
                        file: file.file.clone(),
                        rule: rule.index,
                        op: format!("overriders.plaintext[{i}] ({verb} {})", op.path),
                        cluster: String::new(),
                        object: "every selected object".into(),
                        message: format!("not a JSON pointer ({e}); write it like /spec/replicas"),
                    }),
                }
            }
            rules.push(OrderedRule {
                file,
                rule,
                plaintext,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    rules.sort_by(|a, b| {
        (specificity(a.rule), &a.file.file, a.rule.index).cmp(&(
            specificity(b.rule),
            &b.file.file,
            b.rule.index,
        ))
    });
    Ok(rules)
}

impl OrderedRule<'_> {
    /// Whether the rule applies on `cluster`.
    pub fn targets(&self, cluster: &Cluster) -> bool {
        self.rule.target.matches(cluster)
    }

    /// Whether the rule's file picks the object (`id` as in the manifest).
    pub fn selects(&self, id: &ObjectRef) -> bool {
        let selectors = &self.file.resource_selectors;
        selectors.is_empty() || selectors.iter().any(|s| s.matches(id))
    }

    /// Applies every overrider of the rule to `obj` (whose pod spec, if
    /// any, is at `pod_spec`; described as `object` in errors) on
    /// `cluster`; failures are pushed to `errors`.
    pub fn apply(
        &self,
        obj: &mut Value,
        pod_spec: Option<&str>,
        cluster: &str,
        object: &str,
        errors: &mut Vec<RenderError>,
    ) {
        let ov = &self.rule.overriders;
        let mut fail = |op: String, message: String| {
            errors.push(RenderError {
                file: self.file.file.clone(),
                rule: self.rule.index,
                op,
                cluster: cluster.to_string(),
                object: object.to_string(),
                message,
            })
        };
        for (i, (op, parsed)) in ov.plaintext.iter().zip(&self.plaintext).enumerate() {
            if let Err(e) = json_patch::patch(obj, std::slice::from_ref(parsed)) {
                let verb = verb(op.operator);
                fail(
                    format!("overriders.plaintext[{i}] ({verb} {})", op.path),
                    explain(obj, op.operator, &op.path, &e),
                );
            }
        }
        for (i, o) in ov.image.iter().enumerate() {
            if let Err(m) = apply_image(obj, pod_spec, o) {
                fail(
                    format!(
                        "overriders.image[{i}] ({} {:?})",
                        verb(o.operator),
                        o.component
                    ),
                    m,
                );
            }
        }
        for (field, list) in [("labels", &ov.labels), ("annotations", &ov.annotations)] {
            for (i, o) in list.iter().enumerate() {
                if let Err(m) = apply_map(obj, field, o) {
                    fail(format!("overriders.{field}[{i}] ({})", verb(o.operator)), m);
                }
            }
        }
        for (field, list) in [("command", &ov.command), ("args", &ov.args)] {
            for (i, o) in list.iter().enumerate() {
                if let Err(m) = apply_list(obj, pod_spec, field, o) {
                    fail(
                        format!(
                            "overriders.{field}[{i}] ({}, container {})",
                            verb(o.operator),
                            o.container_name
                        ),
                        m,
                    );
                }
            }
        }
    }
}

fn verb(op: OverrideOp) -> &'static str {
    match op {
        OverrideOp::Add => "add",
        OverrideOp::Remove => "remove",
        OverrideOp::Replace => "replace",
    }
}

/// Says why a plaintext op failed, in terms of the object it ran on.
fn explain(obj: &Value, op: OverrideOp, path: &str, e: &json_patch::PatchError) -> String {
    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
    match op {
        OverrideOp::Remove | OverrideOp::Replace if obj.pointer(path).is_none() => {
            format!("nothing at {path} to {}; use add to create it", verb(op))
        }
        OverrideOp::Add if obj.pointer(parent).is_none() => {
            format!("{parent} does not exist; add creates only the last part of the path")
        }
        _ => format!("{} {path} failed: {}", verb(op), e.kind),
    }
}

#[cfg(test)]
mod tests;
