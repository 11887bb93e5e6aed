//! HorizontalPodAutoscaler health, kept pragmatic: an HPA is healthy once it
//! exists, unless its `AbleToScale` condition is `False` for a real reason.
//!
//! * Conditions come from `status.conditions` (`autoscaling/v2`,
//!   `v2beta2`, `v2beta1`) or, for `autoscaling/v1`, which has no conditions
//!   field, from the JSON in the `autoscaling.alpha.kubernetes.io/conditions`
//!   annotation. A new HPA with no conditions yet, or an unreadable
//!   annotation, counts as healthy: existing is what is gated.
//! * `AbleToScale=False` with a backoff reason (`BackoffBoth`,
//!   `BackoffDownscale`, `BackoffUpscale`: the HPA just scaled and waits) is
//!   healthy. Any other reason (`FailedGetScale`: target missing,
//!   `FailedUpdateScale`) is progressing, not failed, because the target is
//!   often applied in the same batch and appears moments later; the health
//!   timeout turns a lasting problem into a failure.
//! * `ScalingActive=False` is ignored: it also means "no metrics yet" or
//!   "metrics server not installed", which says nothing about the rollout.

use super::{condition_status_is, condition_text, find_condition, Health};
use crate::object::annotation;
use serde_json::Value;

/// Annotation where `autoscaling/v1` serializes the v2 conditions.
const V1_CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// `AbleToScale=False` reasons that only mean "waiting after a recent scale".
const BENIGN_REASONS: [&str; 3] = ["BackoffBoth", "BackoffDownscale", "BackoffUpscale"];

/// Health of a live HorizontalPodAutoscaler (any `autoscaling` version).
pub fn health(obj: &Value) -> Health {
    let conditions = conditions(obj);
    let able = find_condition(&conditions, "AbleToScale");
    let Some(able) = able.filter(|_| condition_status_is(able, "False")) else {
        return Health::Healthy;
    };
    let reason = able.get("reason").and_then(Value::as_str).unwrap_or("");
    if BENIGN_REASONS.contains(&reason) {
        Health::Healthy
    } else {
        Health::progressing(format!("AbleToScale=False: {}", condition_text(able)))
    }
}

/// Conditions from `status.conditions`, else from the v1 annotation.
fn conditions(obj: &Value) -> Vec<Value> {
    if let Some(list) = obj.pointer("/status/conditions").and_then(Value::as_array) {
        return list.clone();
    }
    annotation(obj, V1_CONDITIONS_ANNOTATION)
        .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2(conditions: Value) -> Value {
        json!({
            "apiVersion": "autoscaling/v2beta2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
                "minReplicas": 2, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}}]
            },
            "status": {"currentReplicas": 2, "desiredReplicas": 2, "conditions": conditions}
        })
    }

    fn v1(annotation: Option<&str>) -> Value {
        let mut hpa = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "shop", "namespace": "shop", "annotations": {}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
                "minReplicas": 2, "maxReplicas": 10, "targetCPUUtilizationPercentage": 70
            },
            "status": {"currentReplicas": 2, "desiredReplicas": 2}
        });
        if let Some(text) = annotation {
            hpa["metadata"]["annotations"][V1_CONDITIONS_ANNOTATION] = json!(text);
        }
        hpa
    }

    #[test]
    fn working_v2_is_healthy_even_without_metrics() {
        let hpa = v2(json!([
            {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
             "message": "recommended size matches current size"},
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
             "message": "the HPA was unable to compute the replica count: unable to get metrics for resource cpu"},
            {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"}
        ]));
        assert_eq!(health(&hpa), Health::Healthy);
    }

    #[test]
    fn missing_target_is_progressing() {
        let hpa = v2(json!([
            {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
             "message": "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"shop\" not found"}
        ]));
        assert_eq!(
            health(&hpa),
            Health::Progressing {
                reason: "AbleToScale=False: FailedGetScale: the HPA controller was unable to get the target's current scale: deployments/scale.apps \"shop\" not found".into()
            }
        );
    }

    #[test]
    fn backoff_is_healthy() {
        let hpa = v2(json!([{"type": "AbleToScale", "status": "False", "reason": "BackoffBoth"}]));
        assert_eq!(health(&hpa), Health::Healthy);
    }

    #[test]
    fn v1_reads_conditions_from_the_annotation() {
        assert_eq!(health(&v1(None)), Health::Healthy);
        let ok = r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-05-01T10:00:00Z","reason":"SucceededGetScale","message":"the HPA controller was able to get the target's current scale"}]"#;
        assert_eq!(health(&v1(Some(ok))), Health::Healthy);
        let failing = r#"[{"type":"AbleToScale","status":"False","lastTransitionTime":"2024-05-01T10:00:00Z","reason":"FailedGetScale","message":"no such target"}]"#;
        assert_eq!(
            health(&v1(Some(failing))),
            Health::Progressing {
                reason: "AbleToScale=False: FailedGetScale: no such target".into()
            }
        );
        assert_eq!(health(&v1(Some("not json"))), Health::Healthy);
    }

    #[test]
    fn fresh_hpa_without_status_is_healthy() {
        let mut hpa = v2(json!([]));
        hpa.as_object_mut().unwrap().remove("status");
        assert_eq!(health(&hpa), Health::Healthy);
    }
}
