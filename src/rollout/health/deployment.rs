//! Deployment health, as `kubectl rollout status` judges it.
//!
//! * Progressing while the controller has not observed the latest
//!   generation: its status (conditions included) describes an older spec,
//!   so a ProgressDeadlineExceeded left from a bad version must not fail the
//!   version that replaced it (a rollback, typically).
//! * Failed when the `Progressing` condition is `False` with reason
//!   `ProgressDeadlineExceeded` (the controller gave up after
//!   `spec.progressDeadlineSeconds`).
//! * Healthy when paused (`spec.paused: true`): the operator stopped the
//!   rollout on purpose and the controller will not move it, so waiting
//!   could only end in a timeout and a rollback of someone else's pause.
//!   The paused Deployment still carries the new spec; it rolls out on resume.
//! * Otherwise progressing until the controller observed the latest
//!   generation and updated = available = desired replicas with no old
//!   replicas left (`status.replicas == updatedReplicas`). Desired is
//!   `spec.replicas`, or `status.replicas` when an HPA owns the count.

use super::{
    condition_status_is, condition_text, desired_replicas, generation_observed, int_at,
    status_condition, Health, Rule,
};
use serde_json::Value;

/// Health of a live `apps/v1` (or `extensions/v1beta1`) Deployment.
pub fn health(obj: &Value) -> Health {
    let observed = generation_observed(obj);
    if !observed.is_healthy() {
        return observed;
    }
    let deadline = deadline_exceeded(obj);
    if deadline.is_failed() {
        return deadline;
    }
    if obj.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Health::Healthy;
    }
    replicas_updated
        .and(old_replicas_gone)
        .and(replicas_available)
        .check(obj)
}

fn deadline_exceeded(obj: &Value) -> Health {
    let condition = status_condition(obj, "Progressing");
    let timed_out = condition_status_is(condition, "False")
        && condition
            .and_then(|c| c.get("reason"))
            .and_then(Value::as_str)
            == Some("ProgressDeadlineExceeded");
    match condition {
        Some(c) if timed_out => Health::failed(condition_text(c)),
        _ => Health::Healthy,
    }
}

fn replicas_updated(obj: &Value) -> Health {
    let desired = desired_replicas(obj);
    let updated = int_at(obj, "/status/updatedReplicas");
    if updated == desired {
        Health::Healthy
    } else {
        Health::progressing(format!("{updated} of {desired} replicas updated"))
    }
}

fn old_replicas_gone(obj: &Value) -> Health {
    let total = int_at(obj, "/status/replicas");
    let updated = int_at(obj, "/status/updatedReplicas");
    if total <= updated {
        Health::Healthy
    } else {
        Health::progressing(format!(
            "{} old replicas pending termination",
            total - updated
        ))
    }
}

fn replicas_available(obj: &Value) -> Health {
    let desired = desired_replicas(obj);
    let available = int_at(obj, "/status/availableReplicas");
    if available == desired {
        Health::Healthy
    } else {
        Health::progressing(format!(
            "{available} of {desired} updated replicas available"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Deployment as `kubectl get -o json` shows it after a finished rollout.
    fn rolled_out() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "shop", "namespace": "shop", "generation": 4,
                "annotations": {"deployment.kubernetes.io/revision": "3"}
            },
            "spec": {
                "replicas": 3,
                "progressDeadlineSeconds": 600,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
            },
            "status": {
                "observedGeneration": 4,
                "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": "ReplicaSet \"shop-7c9d8f6b5\" has successfully progressed."}
                ]
            }
        })
    }

    #[test]
    fn stale_deadline_condition_does_not_fail_a_newer_generation() {
        let mut d = rolled_out();
        d["metadata"]["generation"] = json!(5);
        d["status"]["conditions"][1] = json!({"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "old version timed out"});
        assert!(
            matches!(health(&d), Health::Progressing { .. }),
            "{:?}",
            health(&d)
        );
        d["status"]["observedGeneration"] = json!(5);
        assert!(health(&d).is_failed());
    }

    #[test]
    fn finished_rollout_is_healthy() {
        assert_eq!(health(&rolled_out()), Health::Healthy);
    }

    #[test]
    fn progress_deadline_exceeded_fails_with_reason_and_message() {
        let mut d = rolled_out();
        d["status"] = json!({
            "observedGeneration": 4, "replicas": 4, "updatedReplicas": 1,
            "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": "ReplicaSet \"shop-5f4d7c8b9\" has timed out progressing."}
            ]
        });
        assert_eq!(
            health(&d),
            Health::Failed {
                reason: "ProgressDeadlineExceeded: ReplicaSet \"shop-5f4d7c8b9\" has timed out progressing."
                    .into()
            }
        );
    }

    #[test]
    fn old_generation_is_progressing() {
        let mut d = rolled_out();
        d["metadata"]["generation"] = json!(5);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "waiting for the controller to observe generation 5 (observed 4)".into()
            }
        );
    }

    #[test]
    fn partially_updated_replicas_are_progressing() {
        let mut d = rolled_out();
        d["status"]["replicas"] = json!(4);
        d["status"]["updatedReplicas"] = json!(2);
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "2 of 3 replicas updated".into()
            }
        );
    }

    #[test]
    fn old_replicas_still_terminating_are_progressing() {
        let mut d = rolled_out();
        d["status"]["replicas"] = json!(4);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "1 old replicas pending termination".into()
            }
        );
    }

    #[test]
    fn updated_but_not_yet_available_is_progressing() {
        let mut d = rolled_out();
        d["status"]["availableReplicas"] = json!(2);
        d["status"]["unavailableReplicas"] = json!(1);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "2 of 3 updated replicas available".into()
            }
        );
    }

    #[test]
    fn hpa_owned_deployment_without_spec_replicas_uses_status() {
        let mut d = rolled_out();
        d["spec"].as_object_mut().unwrap().remove("replicas");
        for key in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            d["status"][key] = json!(7);
        }
        assert_eq!(health(&d), Health::Healthy);
        d["status"]["availableReplicas"] = json!(6);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "6 of 7 updated replicas available".into()
            }
        );
    }

    #[test]
    fn new_deployment_without_status_is_progressing() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "shop", "generation": 1},
            "spec": {"replicas": 2}
        });
        assert!(matches!(health(&d), Health::Progressing { .. }));
    }

    #[test]
    fn scaled_to_zero_is_healthy() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "shop", "generation": 2},
            "spec": {"replicas": 0},
            "status": {"observedGeneration": 2}
        });
        assert_eq!(health(&d), Health::Healthy);
    }

    #[test]
    fn paused_is_healthy_but_deadline_still_fails() {
        let mut d = rolled_out();
        d["metadata"]["generation"] = json!(6);
        d["spec"]["paused"] = json!(true);
        assert!(
            matches!(health(&d), Health::Progressing { .. }),
            "not observed yet"
        );
        d["status"]["observedGeneration"] = json!(6);
        assert_eq!(health(&d), Health::Healthy);
        d["status"]["conditions"][1] = json!({
            "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"
        });
        assert_eq!(
            health(&d),
            Health::Failed {
                reason: "ProgressDeadlineExceeded".into()
            }
        );
    }
}
