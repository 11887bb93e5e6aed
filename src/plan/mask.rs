//! Secret values never appear in a diff, a log line or a status. Masking
//! keeps the *shape* of a change visible (which keys changed) without the
//! values: equal values on both sides get the same mask, different values
//! different masks, so a diff says "key changed" and nothing more.
//!
//! Any shape is masked: `data` and `stringData` are meant to be maps of
//! strings, but whatever a manifest puts there (a string, a list, nested
//! maps, numbers) never shows: a map's values are masked key by key, any
//! other value as a whole.

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
    for field in SECRET_FIELDS {
        let lval = l.as_ref().and_then(|v| v.get(field)).cloned();
        let dval = d.as_ref().and_then(|v| v.get(field)).cloned();
        if let Some(v) = l.as_mut() {
            replace_field(v, field, lval.as_ref(), dval.as_ref(), MASK_OLD);
        }
        if let Some(v) = d.as_mut() {
            replace_field(v, field, dval.as_ref(), lval.as_ref(), MASK_NEW);
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

/// Removes from `text` every value of a Secret's `data`/`stringData`,
/// whatever their shape (a message from the apiserver or an overrider about
/// a Secret may quote one): every string and number found under them,
/// longest first. Values shorter than 4 characters are left, as they would
/// match innocent text.
pub fn redact_values(text: &str, obj: &Value) -> String {
    if !is_secret(obj) {
        return text.to_string();
    }
    let mut values = Vec::new();
    for field in SECRET_FIELDS {
        if let Some(v) = obj.get(field) {
            leaves(v, &mut values);
        }
    }
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for v in values.iter().filter(|v| v.len() >= 4) {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

/// The fields of a Secret whose values are secret.
const SECRET_FIELDS: [&str; 2] = ["data", "stringData"];

/// Every string and number (as text) inside `v`, at any depth.
fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        Value::Object(map) => map.values().for_each(|i| leaves(i, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Replaces `obj[field]` (`mine`) with masks: a map keeps its keys, each
/// value `MASK` when `other` holds the same value under that key and
/// `changed` otherwise; any other value becomes one mask, `MASK` when
/// `other` is equal. A null field stays null.
fn replace_field(
    obj: &mut Value,
    field: &str,
    mine: Option<&Value>,
    other: Option<&Value>,
    changed: &str,
) {
    let mask = |same: bool| Value::String(if same { MASK } else { changed }.into());
    let masked = match mine {
        None | Some(Value::Null) => return,
        Some(Value::Object(map)) => {
            let other = other.and_then(Value::as_object);
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), mask(other.and_then(|o| o.get(k)) == Some(v))))
                    .collect::<Map<String, Value>>(),
            )
        }
        Some(v) => mask(other == Some(v)),
    };
    if let Some(m) = obj.as_object_mut() {
        m.insert(field.to_string(), masked);
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

    #[test]
    fn secrets_of_any_shape_are_masked() {
        let shapes = [
            json!("c2VjcmV0LWFzLWEtc3RyaW5n"),
            json!(["c2VjcmV0LWluLWEtbGlzdA==", 12345678]),
            json!({"nested": {"deeper": "c2VjcmV0LW5lc3RlZA=="}, "list": ["c2VjcmV0LWl0ZW0="]}),
            json!(987654321),
        ];
        for shape in shapes {
            let live = secret(shape.clone());
            let mut desired = secret(shape.clone());
            desired["stringData"] = shape.clone();
            let mut values = Vec::new();
            leaves(&shape, &mut values);
            let (l, d) = mask_pair(Some(&live), Some(&desired));
            let text = format!(
                "{} {} {}",
                serde_json::to_string(&l).unwrap(),
                serde_json::to_string(&d).unwrap(),
                serde_json::to_string(&json_patch::diff(&l.unwrap(), &d.unwrap())).unwrap()
            );
            let single = mask(&live).to_string();
            let message = redact_values(&format!("bad value {shape}"), &desired);
            for v in &values {
                assert!(!text.contains(v.as_str()), "{v} leaked into {text}");
                assert!(!single.contains(v.as_str()), "{v} leaked into {single}");
                assert!(!message.contains(v.as_str()), "{v} leaked into {message}");
            }
        }
    }

    #[test]
    fn a_changed_non_map_value_shows_as_changed() {
        let (l, d) = mask_pair(
            Some(&secret(json!("b2xkLXZhbHVl"))),
            Some(&secret(json!("bmV3LXZhbHVl"))),
        );
        assert_eq!(l.unwrap()["data"], json!(MASK_OLD));
        assert_eq!(d.unwrap()["data"], json!(MASK_NEW));
        let (l, d) = mask_pair(
            Some(&secret(json!(["x1234"]))),
            Some(&secret(json!(["x1234"]))),
        );
        assert_eq!(l.unwrap()["data"], d.unwrap()["data"]);
    }
}
