//! Normalization before diffing: drop what the apiserver or controllers own
//! (status, bookkeeping metadata), the commit annotation (so a commit that
//! does not change an object never rewrites it) and the DiffPolicy's ignore
//! rules. Pure.

use crate::model::IgnoreRule;
use crate::object::{ObjectRef, ANNOTATION_COMMIT};
use serde_json::Value;

/// Metadata fields that are bookkeeping, never intent.
const DROPPED_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations that are bookkeeping (the commit that last changed the
/// object; kubectl's client-side apply record).
const DROPPED_ANNOTATIONS: &[&str] = &[
    ANNOTATION_COMMIT,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

/// Returns a copy of `obj` with status, bookkeeping metadata, the commit
/// annotation and every matching ignore rule's pointers removed.
pub fn normalize(obj: &Value, ignore: &[IgnoreRule]) -> Value {
    let mut out = obj.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in DROPPED_METADATA {
            meta.remove(*f);
        }
        let mut empty = false;
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            for a in DROPPED_ANNOTATIONS {
                ann.remove(*a);
            }
            empty = ann.is_empty();
        }
        if empty {
            meta.remove("annotations");
        }
        if meta
            .get("labels")
            .and_then(Value::as_object)
            .is_some_and(|l| l.is_empty())
        {
            meta.remove("labels");
        }
    }
    if let Some(id) = ObjectRef::from_object(obj) {
        for rule in ignore.iter().filter(|r| rule_matches(r, &id)) {
            for pointer in &rule.json_pointers {
                remove_pointer(&mut out, pointer);
            }
        }
    }
    out
}

/// Whether an ignore rule applies to the object (unset fields match all).
pub fn rule_matches(rule: &IgnoreRule, id: &ObjectRef) -> bool {
    rule.group.as_deref().is_none_or(|g| g == id.group())
        && rule.kind.as_deref().is_none_or(|k| k == id.kind)
        && rule
            .namespace
            .as_deref()
            .is_none_or(|ns| Some(ns) == id.namespace.as_deref())
        && rule.name.as_deref().is_none_or(|n| n == id.name)
}

/// Removes the value at an RFC 6901 pointer, if present.
fn remove_pointer(root: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    let parent = if parent.is_empty() {
        Some(root)
    } else {
        root.pointer_mut(parent)
    };
    match parent {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_bookkeeping_status_and_commit_annotation() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "7",
                "generation": 2, "creationTimestamp": "t", "managedFields": [],
                "annotations": {"tranche.dev/commit": "abc"}, "labels": {"x": "y"}},
            "data": {"k": "v"}, "status": {"phase": "x"}
        });
        let n = normalize(&live, &[]);
        assert_eq!(
            n,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "n", "labels": {"x": "y"}},
                "data": {"k": "v"}})
        );
    }

    #[test]
    fn ignore_rules_apply_only_to_matching_objects() {
        let rule = IgnoreRule {
            group: Some("apps".into()),
            kind: Some("Deployment".into()),
            json_pointers: vec!["/spec/replicas".into(), "/metadata/labels/a~1b".into()],
            ..Default::default()
        };
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a/b": "1", "c": "2"}}, "spec": {"replicas": 3}});
        let n = normalize(&dep, std::slice::from_ref(&rule));
        assert_eq!(n.pointer("/spec/replicas"), None);
        assert_eq!(n.pointer("/metadata/labels/c"), Some(&json!("2")));
        assert_eq!(n.pointer("/metadata/labels/a~1b"), None);
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "d"}, "spec": {"replicas": 3}});
        assert_eq!(
            normalize(&sts, &[rule]).pointer("/spec/replicas"),
            Some(&json!(3))
        );
    }
}
