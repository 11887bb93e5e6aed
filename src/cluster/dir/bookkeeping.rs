//! What the directory driver adds to applied objects, like an apiserver
//! would: `creationTimestamp` and `uid` once, `resourceVersion` and
//! `generation` bumped only when the content changes, so re-applying the
//! same object is visibly a no-op; and the status of a
//! CustomResourceDefinition, which the directory serves as soon as it is
//! stored ([`serve_crd`]). Pure: the clock and uid are passed in.

use serde_json::{Map, Value};

/// `metadata` fields the driver owns; whatever the caller sends for them
/// is ignored (as are `managedFields`, which no directory has).
const OWNED: &[&str] = &[
    "creationTimestamp",
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
];

/// The object without the driver-owned metadata: what "unchanged" compares.
pub fn content(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in OWNED {
            meta.remove(*key);
        }
    }
    out
}

/// Result of merging an applied object into what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The object as stored (or as it would be, on a dry run).
    pub object: Value,
    /// Whether it differs from what was stored (a write is needed).
    pub changed: bool,
}

/// Merges `incoming` over `existing`: unchanged content keeps the stored
/// object as is; changed content is stored as given, keeping creation
/// time and uid and bumping `resourceVersion` and `generation`.
pub fn merge(
    existing: Option<&Value>,
    incoming: &Value,
    now: &str,
    new_uid: impl FnOnce() -> String,
) -> Merged {
    let desired = content(incoming);
    if let Some(old) = existing {
        if content(old) == desired {
            return Merged {
                object: old.clone(),
                changed: false,
            };
        }
    }
    let old_meta = |key: &str| {
        existing
            .and_then(|o| o.pointer(&format!("/metadata/{key}")))
            .cloned()
    };
    let counter = |key: &str| -> u64 {
        match old_meta(key) {
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => 0,
        }
    };
    let creation = old_meta("creationTimestamp").unwrap_or_else(|| Value::String(now.to_string()));
    let uid = old_meta("uid").unwrap_or_else(|| Value::String(new_uid()));
    let resource_version = Value::String((counter("resourceVersion") + 1).to_string());
    let generation = Value::from(counter("generation") + 1);

    let mut object = desired;
    if let Some(map) = object.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("creationTimestamp".into(), creation);
            meta.insert("uid".into(), uid);
            meta.insert("resourceVersion".into(), resource_version);
            meta.insert("generation".into(), generation);
        }
    }
    Merged {
        object,
        changed: true,
    }
}

/// Gives a CustomResourceDefinition the status an apiserver reports once
/// it serves the kind: names accepted as given, `NamesAccepted` and
/// `Established` true, the storage version stored. A directory cluster
/// serves every kind at once, so nothing would ever set this otherwise (and
/// waiting for `Established` would time out). No timestamps, so re-applying
/// the same CRD stays a no-op. Other objects are left alone.
pub fn serve_crd(obj: &mut Value) {
    let (group, kind) = crate::kinds::group_kind(obj);
    if !crate::kinds::is_crd(group, kind) {
        return;
    }
    let names = obj.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let condition = |type_: &str, reason: &str| serde_json::json!({"type": type_, "status": "True", "reason": reason});
    if let Some(map) = obj.as_object_mut() {
        map.insert(
            "status".to_string(),
            serde_json::json!({
                "acceptedNames": names,
                "conditions": [
                    condition("NamesAccepted", "NoConflicts"),
                    condition("Established", "InitialNamesAccepted"),
                ],
                "storedVersions": stored,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": data}})
    }

    #[test]
    fn first_apply_gets_bookkeeping() {
        let m = merge(None, &cm("1"), "2026-01-01T00:00:00Z", || "uid-1".into());
        assert!(m.changed);
        assert_eq!(m.object["metadata"]["resourceVersion"], "1");
        assert_eq!(m.object["metadata"]["generation"], 1);
        assert_eq!(m.object["metadata"]["uid"], "uid-1");
        assert_eq!(
            m.object["metadata"]["creationTimestamp"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(m.object["data"]["k"], "1");
    }

    #[test]
    fn identical_apply_is_unchanged_even_with_stale_bookkeeping_sent() {
        let first = merge(None, &cm("1"), "t0", || "uid-1".into()).object;
        let mut again = cm("1");
        again["metadata"]["resourceVersion"] = json!("99");
        let m = merge(Some(&first), &again, "t1", || {
            panic!("no new uid for an existing object")
        });
        assert!(!m.changed);
        assert_eq!(m.object, first);
    }

    #[test]
    fn changed_content_bumps_versions_and_keeps_identity() {
        let first = merge(None, &cm("1"), "t0", || "uid-1".into()).object;
        let m = merge(Some(&first), &cm("2"), "t1", || "uid-2".into());
        assert!(m.changed);
        assert_eq!(m.object["metadata"]["resourceVersion"], "2");
        assert_eq!(m.object["metadata"]["generation"], 2);
        assert_eq!(m.object["metadata"]["uid"], "uid-1");
        assert_eq!(m.object["metadata"]["creationTimestamp"], "t0");
        assert_eq!(m.object["data"]["k"], "2");
    }

    #[test]
    fn stored_crds_are_established() {
        let mut crd = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true, "storage": true}]}
        });
        serve_crd(&mut crd);
        assert!(crate::rollout::health::generic::crd(&crd).is_healthy());
        assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
        assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));
        let mut cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"});
        serve_crd(&mut cm);
        assert!(cm.get("status").is_none());
    }
}
