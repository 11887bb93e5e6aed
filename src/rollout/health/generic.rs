//! Health of every kind without its own module: existing is healthy, with
//! three kinds whose status says more (the kind table picks the rule).
//!
//! * Namespace: `status.phase` `Active` or absent → healthy; `Terminating`
//!   → progressing (objects cannot be created in it; the timeout fails it).
//! * CustomResourceDefinition: `Established=True` → healthy;
//!   `NamesAccepted=False` → failed (the names clash with another CRD and
//!   will not resolve by themselves); else progressing.
//! * PersistentVolumeClaim: `Bound` → healthy; `Lost` → failed (its volume
//!   is gone); else progressing. A claim on a `WaitForFirstConsumer` storage
//!   class stays `Pending` until a pod uses it, which a workload in the same
//!   batch normally does.

use super::{condition_status_is, condition_text, status_condition, Health};
use serde_json::Value;

/// Any object that exists is healthy.
pub fn exists(_: &Value) -> Health {
    Health::Healthy
}

fn phase(obj: &Value) -> Option<&str> {
    obj.pointer("/status/phase").and_then(Value::as_str)
}

/// A Namespace: not Terminating.
pub fn namespace(obj: &Value) -> Health {
    match phase(obj) {
        None | Some("Active") => Health::Healthy,
        Some(other) => Health::progressing(format!("namespace is {other}")),
    }
}

/// A CRD: Established, names accepted.
pub fn crd(obj: &Value) -> Health {
    let names = status_condition(obj, "NamesAccepted");
    if let Some(c) = names.filter(|_| condition_status_is(names, "False")) {
        return Health::failed(format!("NamesAccepted=False: {}", condition_text(c)));
    }
    if condition_status_is(status_condition(obj, "Established"), "True") {
        Health::Healthy
    } else {
        Health::progressing("waiting for the CRD to be Established")
    }
}

/// A PersistentVolumeClaim: Bound.
pub fn pvc(obj: &Value) -> Health {
    match phase(obj) {
        Some("Bound") => Health::Healthy,
        Some("Lost") => Health::failed("claim Lost: its PersistentVolume no longer exists"),
        Some(other) => Health::progressing(format!("claim is {other}, not Bound")),
        None => Health::progressing("claim has no phase yet, not Bound"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::health::evaluate as health;
    use serde_json::json;

    #[test]
    fn plain_objects_are_healthy_when_they_exist() {
        for obj in [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
                   "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}, "status": {"loadBalancer": {}}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        ] {
            assert_eq!(health(&obj), Health::Healthy, "{obj}");
        }
    }

    #[test]
    fn namespace_phases() {
        let ns = |status: Value| {
            json!({"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": "shop"}, "status": status})
        };
        assert_eq!(health(&ns(json!({"phase": "Active"}))), Health::Healthy);
        assert_eq!(health(&ns(json!({}))), Health::Healthy);
        assert_eq!(
            health(&ns(json!({"phase": "Terminating"}))),
            Health::Progressing {
                reason: "namespace is Terminating".into()
            }
        );
    }

    fn crd(conditions: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"}},
            "status": {"conditions": conditions,
                       "acceptedNames": {"kind": "Widget", "plural": "widgets"}}
        })
    }

    #[test]
    fn crd_needs_established() {
        let established = crd(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"}
        ]));
        assert_eq!(health(&established), Health::Healthy);
        let fresh =
            crd(json!([{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}]));
        assert!(matches!(health(&fresh), Health::Progressing { .. }));
        let clash = crd(json!([
            {"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
             "message": "\"WidgetList\" is already in use"},
            {"type": "Established", "status": "False", "reason": "NotAccepted"}
        ]));
        assert_eq!(
            health(&clash),
            Health::Failed {
                reason: "NamesAccepted=False: ListKindConflict: \"WidgetList\" is already in use"
                    .into()
            }
        );
    }

    #[test]
    fn pvc_needs_bound() {
        let pvc = |phase: &str| {
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data", "namespace": "shop"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                "status": {"phase": phase}
            })
        };
        assert_eq!(health(&pvc("Bound")), Health::Healthy);
        assert_eq!(
            health(&pvc("Pending")),
            Health::Progressing {
                reason: "claim is Pending, not Bound".into()
            }
        );
        assert!(health(&pvc("Lost")).is_failed());
    }
}
