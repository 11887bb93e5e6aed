//! What the directory driver adds to applied objects, like an apiserver
//! would: `creationTimestamp` and `uid` once, `resourceVersion` and
//! `generation` bumped only when the content changes, so re-applying the
//! same object is visibly a no-op. Pure: the clock and uid are passed in.

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
}
