//! Secret values never appear in a diff, a log line or a status. Masking
//! keeps the *shape* of a change visible (which keys changed) without the
//! values: equal values on both sides get the same mask, different values
//! different masks, so a diff says "key changed" and nothing more.

use serde_json::{Map, Value};

/// Mask for a value that is the same on both sides.
pub const MASK: &str = "***";
/// Mask for the live side of a changed value.
pub const MASK_OLD: &str = "*** (before)";
/// Mask for the desired side of a changed value.
pub const MASK_NEW: &str = "*** (after)";

/// Whether the object is a core/v1 Secret.
pub fn is_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Masks one object on its own (logs, JSON output): every value of
/// `data` and `stringData`, and kubectl's last-applied annotation.
pub fn mask(obj: &Value) -> Value {
    mask_pair(Some(obj), Some(obj)).0.unwrap_or(Value::Null)
}

/// Masks a (live, desired) pair of Secrets so that their diff shows which
/// keys were added, removed or changed, but no value. Non-Secrets are
/// returned unchanged.
pub fn mask_pair(live: Option<&Value>, desired: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let secret = live.is_some_and(is_secret) || desired.is_some_and(is_secret);
    if !secret {
        return (live.cloned(), desired.cloned());
    }
    let mut l = live.cloned();
    let mut d = desired.cloned();
    for field in ["data", "stringData"] {
        let lmap = l
            .as_ref()
            .and_then(|v| v.get(field))
            .and_then(Value::as_object)
            .cloned();
        let dmap = d
            .as_ref()
            .and_then(|v| v.get(field))
            .and_then(Value::as_object)
            .cloned();
        if let Some(v) = l.as_mut() {
            replace_field(v, field, lmap.as_ref(), dmap.as_ref(), MASK_OLD);
        }
        if let Some(v) = d.as_mut() {
            replace_field(v, field, dmap.as_ref(), lmap.as_ref(), MASK_NEW);
        }
    }
    for v in [l.as_mut(), d.as_mut()].into_iter().flatten() {
        if let Some(ann) = v
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            if ann.contains_key("kubectl.kubernetes.io/last-applied-configuration") {
                ann.insert(
                    "kubectl.kubernetes.io/last-applied-configuration".into(),
                    Value::String(MASK.into()),
                );
            }
        }
    }
    (l, d)
}

/// Removes from `text` every value of a Secret's `data`/`stringData` (a
/// message from the apiserver about a Secret may quote one). Values shorter
/// than 4 characters are left, as they would match innocent text.
pub fn redact_values(text: &str, obj: &Value) -> String {
    if !is_secret(obj) {
        return text.to_string();
    }
    let mut out = text.to_string();
    for field in ["data", "stringData"] {
        let values = obj
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values());
        for v in values.filter_map(Value::as_str).filter(|v| v.len() >= 4) {
            out = out.replace(v, MASK);
        }
    }
    out
}

/// Replaces `obj[field]` with a map of the same keys whose values are masks:
/// `MASK` when `other` has the same value, `changed` otherwise.
fn replace_field(
    obj: &mut Value,
    field: &str,
    mine: Option<&Map<String, Value>>,
    other: Option<&Map<String, Value>>,
    changed: &str,
) {
    let Some(mine) = mine else { return };
    let masked: Map<String, Value> = mine
        .iter()
        .map(|(k, v)| {
            let same = other.and_then(|o| o.get(k)) == Some(v);
            (
                k.clone(),
                Value::String(if same { MASK } else { changed }.into()),
            )
        })
        .collect();
    if let Some(m) = obj.as_object_mut() {
        m.insert(field.to_string(), Value::Object(masked));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data})
    }

    #[test]
    fn single_object_masks_every_value() {
        let s = mask(&secret(
            json!({"password": "aHVudGVyMg==", "user": "YWRtaW4="}),
        ));
        let text = s.to_string();
        assert!(!text.contains("aHVudGVyMg=="));
        assert!(!text.contains("YWRtaW4="));
        assert_eq!(s.pointer("/data/password"), Some(&json!(MASK)));
    }

    #[test]
    fn pair_shows_which_keys_changed_without_values() {
        let live = secret(json!({"password": "b2xk", "user": "dQ==", "gone": "eA=="}));
        let desired = secret(json!({"password": "bmV3", "user": "dQ==", "added": "eQ=="}));
        let (l, d) = mask_pair(Some(&live), Some(&desired));
        let (l, d) = (l.unwrap(), d.unwrap());
        assert_eq!(l.pointer("/data/user"), d.pointer("/data/user"));
        assert_ne!(l.pointer("/data/password"), d.pointer("/data/password"));
        let patch = json_patch::diff(&l, &d);
        let text = serde_json::to_string(&patch).unwrap();
        for secret in ["b2xk", "bmV3", "dQ==", "eA==", "eQ=="] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        assert!(text.contains("/data/password") && text.contains("/data/added"));
    }

    #[test]
    fn messages_lose_secret_values() {
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"password": "hunter2-long"}, "data": {"k": "c2VjcmV0"}});
        let text = redact_values("invalid value \"hunter2-long\" and c2VjcmV0", &s);
        assert_eq!(text, "invalid value \"***\" and ***");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "visible"}});
        assert_eq!(redact_values("visible", &cm), "visible");
    }

    #[test]
    fn non_secrets_are_untouched() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(mask(&cm), cm);
    }
}
