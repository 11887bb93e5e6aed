//! HorizontalPodAutoscalers: which workload an HPA scales, and how its
//! bounds are split when that workload is Divided.
//!
//! Any `autoscaling/*` version is read the same way (`spec.scaleTargetRef
//! {apiVersion?, kind, name}`, `spec.minReplicas` (default 1),
//! `spec.maxReplicas`). In split mode `maxReplicas` and `minReplicas` are
//! each split with [`crate::render::split::webster`] over the workload's weights; because the
//! split is monotone in the total, `min_i ≤ max_i` on every cluster. A
//! cluster whose max share is 0 gets neither the HPA nor the workload. A
//! cluster whose min share is 0 (but max share is not) gets `minReplicas: 1`,
//! since an HPA cannot scale to zero without a feature gate: the sum of the
//! clusters' minimums may then exceed the HPA's `minReplicas`.

use crate::render::migration::Split;
use serde_json::Value;
use std::collections::BTreeMap;

/// Largest replica count Kubernetes accepts (int32).
pub const MAX_REPLICAS: u64 = i32::MAX as u64;

/// The workload an HPA scales (`spec.scaleTargetRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleTarget {
    /// API group of `scaleTargetRef.apiVersion`, `None` when not given.
    pub group: Option<String>,
    /// `scaleTargetRef.kind`.
    pub kind: String,
    /// `scaleTargetRef.name`.
    pub name: String,
}

impl ScaleTarget {
    /// Reads `spec.scaleTargetRef`; `None` when kind or name is missing.
    pub fn of(hpa: &Value) -> Option<ScaleTarget> {
        let target = hpa.pointer("/spec/scaleTargetRef")?;
        let group =
            target
                .get("apiVersion")
                .and_then(Value::as_str)
                .map(|v| match v.split_once('/') {
                    Some((g, _)) => g.to_string(),
                    None => String::new(),
                });
        Some(ScaleTarget {
            group,
            kind: target.get("kind")?.as_str()?.to_string(),
            name: target.get("name")?.as_str()?.to_string(),
        })
    }

    /// Whether this target is the object `obj` (same kind and name, same
    /// group when the target names one; the namespace is the caller's).
    pub fn is(&self, obj: &crate::object::ObjectRef) -> bool {
        self.kind == obj.kind
            && self.name == obj.name
            && self.group.as_deref().is_none_or(|g| g == obj.group())
    }
}

/// An HPA's replica bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// `spec.minReplicas` (1 when absent).
    pub min: u64,
    /// `spec.maxReplicas`.
    pub max: u64,
}

/// Why an HPA's bounds cannot be read: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundsError {
    /// `spec.minReplicas` or `spec.maxReplicas`.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Bounds {
    /// Reads `spec.minReplicas` (default 1) and `spec.maxReplicas`.
    pub fn of(hpa: &Value) -> Result<Bounds, BoundsError> {
        let max = match hpa.pointer("/spec/maxReplicas") {
            None => {
                return Err(BoundsError {
                    field: "spec.maxReplicas",
                    message: "an HPA needs maxReplicas (an integer ≥ 1)".into(),
                })
            }
            Some(v) => replica_count(v).ok_or_else(|| BoundsError {
                field: "spec.maxReplicas",
                message: format!(
                    "{v} is not a replica count (an integer from 1 to {MAX_REPLICAS})"
                ),
            })?,
        };
        let min = match hpa.pointer("/spec/minReplicas") {
            None | Some(Value::Null) => 1,
            Some(v) => replica_count(v).ok_or_else(|| BoundsError {
                field: "spec.minReplicas",
                message: format!(
                    "{v} is not a replica count (an integer from 0 to {MAX_REPLICAS})"
                ),
            })?,
        };
        if max == 0 || min > max {
            return Err(BoundsError {
                field: "spec.maxReplicas",
                message: format!("maxReplicas {max} must be ≥ 1 and ≥ minReplicas {min}"),
            });
        }
        Ok(Bounds { min, max })
    }
}

/// A replica count: an integer in `0..=MAX_REPLICAS`.
pub fn replica_count(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n <= MAX_REPLICAS)
}

/// Splits an HPA's bounds over the clusters of `weights`. Clusters whose
/// max share is 0 are left out (they get neither HPA nor workload); a min
/// share of 0 becomes 1.
pub fn split_bounds(bounds: Bounds, weights: &BTreeMap<String, u64>) -> BTreeMap<String, Bounds> {
    split_bounds_by(bounds, &Split::plain(weights.clone()))
}

/// [`split_bounds`] with any [`Split`] (a migration's, too).
pub fn split_bounds_by(bounds: Bounds, split: &Split) -> BTreeMap<String, Bounds> {
    let max = split.of(bounds.max);
    let min = split.of(bounds.min);
    max.into_iter()
        .filter(|(_, m)| *m > 0)
        .map(|(cluster, max)| {
            let min = min.get(&cluster).copied().unwrap_or(0).max(1);
            (cluster, Bounds { min, max })
        })
        .collect()
}

/// Writes split bounds into a copy of the HPA.
pub fn set_bounds(hpa: &mut Value, bounds: Bounds) {
    if let Some(spec) = hpa.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("minReplicas".into(), bounds.min.into());
        spec.insert("maxReplicas".into(), bounds.max.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::render::testkit::{deployment, hpa, weights as w};
    use serde_json::json;

    #[test]
    fn bounds_split_by_weight_with_min_share_zero_raised_to_one() {
        let split = split_bounds(
            Bounds { min: 2, max: 10 },
            &w(&[("a", 3), ("b", 1), ("c", 1)]),
        );
        // max 10 over 3:1:1 → 6,2,2; min 2 → 1,1,0 → c raised to 1.
        assert_eq!(split["a"], Bounds { min: 1, max: 6 });
        assert_eq!(split["b"], Bounds { min: 1, max: 2 });
        assert_eq!(split["c"], Bounds { min: 1, max: 2 });
        let total_min: u64 = split.values().map(|b| b.min).sum();
        assert!(
            total_min > 2,
            "documented: Σmin may exceed the HPA's minReplicas"
        );
    }

    #[test]
    fn clusters_with_max_share_zero_are_left_out() {
        let split = split_bounds(
            Bounds { min: 1, max: 2 },
            &w(&[("a", 5), ("b", 5), ("c", 1)]),
        );
        assert_eq!(split.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(split["a"], Bounds { min: 1, max: 1 });
    }

    #[test]
    fn bounds_are_read_from_any_autoscaling_version() {
        for v in ["v1", "v2", "v2beta2"] {
            assert_eq!(
                Bounds::of(&hpa(v, "web", None, 7)),
                Ok(Bounds { min: 1, max: 7 })
            );
            assert_eq!(
                Bounds::of(&hpa(v, "web", Some(3), 7)),
                Ok(Bounds { min: 3, max: 7 })
            );
        }
    }

    #[test]
    fn bad_bounds_name_the_field() {
        let mut h = hpa("v2", "web", None, 7);
        h["spec"].as_object_mut().unwrap().remove("maxReplicas");
        assert_eq!(Bounds::of(&h).unwrap_err().field, "spec.maxReplicas");
        h["spec"]["maxReplicas"] = json!("ten");
        assert!(Bounds::of(&h)
            .unwrap_err()
            .message
            .contains("\"ten\" is not a replica count"));
        h["spec"]["maxReplicas"] = json!(3);
        h["spec"]["minReplicas"] = json!(-1);
        assert_eq!(Bounds::of(&h).unwrap_err().field, "spec.minReplicas");
        h["spec"]["minReplicas"] = json!(4);
        assert!(Bounds::of(&h)
            .unwrap_err()
            .message
            .contains("≥ minReplicas 4"));
    }

    #[test]
    fn scale_target_matches_kind_name_and_group() {
        let t = ScaleTarget::of(&hpa("v1", "web", None, 3)).unwrap();
        let web = ObjectRef::from_object(&deployment("web", None)).unwrap();
        let api = ObjectRef::from_object(&deployment("api", None)).unwrap();
        assert!(t.is(&web) && !t.is(&api));
        let other_group = ScaleTarget {
            group: Some("example.com".into()),
            ..t.clone()
        };
        assert!(!other_group.is(&web));
        let no_group = ScaleTarget { group: None, ..t };
        assert!(no_group.is(&web));
        assert_eq!(ScaleTarget::of(&json!({"spec": {}})), None);
    }
}
