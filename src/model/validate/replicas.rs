//! Replica counts, typed as Kubernetes types them: `spec.replicas` of the
//! replicated workloads is an int32 ≥ 0 (null or absent means the default),
//! and a HorizontalPodAutoscaler's `spec.maxReplicas` an int32 ≥ 1, its
//! `spec.minReplicas` (optional) an int32 ≥ 1 and ≤ maxReplicas. A float,
//! a string, a boolean, a list or a mapping is an error naming the field.
//! Whatever the app's placement, so a count the apiserver would refuse
//! (or that JSON would turn into something else) never gets rendered.
//!
//! Pure: [`problems`] returns the field and message of each problem, for
//! hand-written manifests and rendered objects alike. Counts are quoted in
//! messages: they are never Secret data.

use crate::kinds::KindTable;
use serde_json::Value;

/// The largest replica count (Kubernetes' fields are int32).
pub const MAX_REPLICAS: i64 = i32::MAX as i64;

/// The replica problems of one object: field path and message. Which
/// field is a replica count comes from the kind table (`kinds`).
pub fn problems(object: &Value, kinds: &KindTable) -> Vec<(String, String)> {
    let (group, kind) = crate::kinds::group_kind(object);
    let what = format!("{kind} {:?}", text(object, "/metadata/name"));
    let mut out = Vec::new();
    if let Some(pointer) = kinds.replicas_pointer(group, kind) {
        if let Some(v) = present(object, pointer) {
            if count(v, 0).is_none() {
                out.push((
                    field_of(pointer),
                    format!("{what}: {} is not a replica count {}", shown(v), range(0)),
                ));
            }
        }
    } else if kinds.is_hpa(group, kind) {
        hpa(object, &what, &mut out);
    }
    out
}

/// `/spec/replicas` as messages name it: `spec.replicas`.
fn field_of(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

fn hpa(object: &Value, what: &str, out: &mut Vec<(String, String)>) {
    let max = match present(object, "/spec/maxReplicas") {
        None => {
            out.push((
                "spec.maxReplicas".into(),
                format!("missing: {what} needs maxReplicas {}", range(1)),
            ));
            return;
        }
        Some(v) => match count(v, 1) {
            Some(max) => max,
            None => {
                out.push((
                    "spec.maxReplicas".into(),
                    format!("{what}: maxReplicas {} is invalid {}", shown(v), range(1)),
                ));
                return;
            }
        },
    };
    let min = match present(object, "/spec/minReplicas") {
        None => return,
        Some(v) => match count(v, 1) {
            Some(min) => min,
            None => {
                out.push((
                    "spec.minReplicas".into(),
                    format!("{what}: minReplicas {} is invalid {}", shown(v), range(1)),
                ));
                return;
            }
        },
    };
    if min > max {
        out.push((
            "spec.minReplicas".into(),
            format!("{what}: minReplicas {min} is greater than maxReplicas {max}"),
        ));
    }
}

/// An integer from `min` to [`MAX_REPLICAS`] (floats, even `2.0`, are not).
fn count(v: &Value, min: i64) -> Option<i64> {
    v.as_i64().filter(|n| (min..=MAX_REPLICAS).contains(n))
}

fn range(min: i64) -> String {
    format!("(an integer from {min} to {MAX_REPLICAS}, as Kubernetes' int32 fields take)")
}

/// The field unless it is absent or null (which mean the default).
fn present<'v>(object: &'v Value, pointer: &str) -> Option<&'v Value> {
    object.pointer(pointer).filter(|v| !v.is_null())
}

fn text<'v>(object: &'v Value, pointer: &str) -> &'v str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A value as a message shows it: numbers as written, the rest by type.
fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?} (a string)"),
        Value::String(_) => "a long string".into(),
        Value::Bool(b) => format!("{b} (a boolean)"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checked(object: &Value) -> Vec<(String, String)> {
        problems(object, KindTable::builtin())
    }

    fn deployment(replicas: Value) -> Vec<(String, String)> {
        checked(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": "web"}, "spec": {"replicas": replicas}}))
    }

    fn hpa(spec: Value) -> Vec<(String, String)> {
        checked(
            &json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                          "metadata": {"name": "web"}, "spec": spec}),
        )
    }

    #[test]
    fn workload_replicas_are_int32_counts() {
        for ok in [json!(0), json!(3), json!(MAX_REPLICAS), json!(null)] {
            assert_eq!(deployment(ok.clone()), [], "{ok}");
        }
        let range = "(an integer from 0 to 2147483647, as Kubernetes' int32 fields take)";
        for (bad, shown) in [
            (json!(-5), "-5"),
            (json!(2.5), "2.5"),
            (json!(2.0), "2.0"),
            (json!(MAX_REPLICAS + 1), "2147483648"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!("3"), "\"3\" (a string)"),
            (json!(true), "true (a boolean)"),
            (json!([3]), "a list"),
            (json!({"n": 3}), "a mapping"),
        ] {
            assert_eq!(
                deployment(bad),
                [(
                    "spec.replicas".to_string(),
                    format!("Deployment \"web\": {shown} is not a replica count {range}")
                )]
            );
        }
    }

    #[test]
    fn only_replicated_kinds_are_checked() {
        let rc = json!({"apiVersion": "v1", "kind": "ReplicationController",
                        "metadata": {"name": "r"}, "spec": {"replicas": -1}});
        assert_eq!(
            checked(&rc).len(),
            0,
            "not split, so not a count tranche reads"
        );
        let custom = json!({"apiVersion": "example.com/v1", "kind": "Deployment",
                            "metadata": {"name": "r"}, "spec": {"replicas": "many"}});
        assert_eq!(checked(&custom), []);
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                         "metadata": {"name": "db"}, "spec": {"replicas": "2"}});
        assert_eq!(checked(&sts)[0].0, "spec.replicas");
    }

    #[test]
    fn hpa_bounds_are_int32_with_min_at_most_max() {
        assert_eq!(hpa(json!({"minReplicas": 2, "maxReplicas": 2})), []);
        assert_eq!(hpa(json!({"maxReplicas": 1})), []);
        let range = "(an integer from 1 to 2147483647, as Kubernetes' int32 fields take)";
        assert_eq!(
            hpa(json!({"minReplicas": -1, "maxReplicas": 3})),
            [(
                "spec.minReplicas".to_string(),
                format!("HorizontalPodAutoscaler \"web\": minReplicas -1 is invalid {range}")
            )]
        );
        assert_eq!(
            hpa(json!({"maxReplicas": i64::MAX})),
            [(
                "spec.maxReplicas".to_string(),
                format!(
                    "HorizontalPodAutoscaler \"web\": maxReplicas 9223372036854775807 is invalid \
                     {range}"
                )
            )]
        );
        assert_eq!(
            hpa(json!({"maxReplicas": 0}))[0].1,
            format!("HorizontalPodAutoscaler \"web\": maxReplicas 0 is invalid {range}")
        );
        assert_eq!(
            hpa(json!({"minReplicas": 5, "maxReplicas": 3})),
            [(
                "spec.minReplicas".to_string(),
                "HorizontalPodAutoscaler \"web\": minReplicas 5 is greater than maxReplicas 3"
                    .to_string()
            )]
        );
        assert_eq!(
            hpa(json!({"minReplicas": 1})),
            [(
                "spec.maxReplicas".to_string(),
                format!("missing: HorizontalPodAutoscaler \"web\" needs maxReplicas {range}")
            )]
        );
        assert_eq!(hpa(json!({"maxReplicas": "4"}))[0].0, "spec.maxReplicas");
    }
}
