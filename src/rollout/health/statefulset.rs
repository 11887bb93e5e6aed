//! StatefulSet health, as `kubectl rollout status` judges it.
//!
//! * Always: the controller observed the latest generation and
//!   `readyReplicas` equals the desired count (`spec.replicas`, or
//!   `status.replicas` when an HPA owns it).
//! * `RollingUpdate` (the default): `updatedReplicas` reaches desired minus
//!   `rollingUpdate.partition`; with no partition the rollout must also have
//!   finished, `currentRevision == updateRevision`. A partition is a
//!   deliberate canary, so pods below it keep the old revision by design.
//! * `OnDelete`: the controller changes pods only when someone deletes them,
//!   so tranche cannot make them update; the set is healthy once the new spec
//!   is observed and enough replicas are ready. Waiting for updated pods would
//!   only time out and roll back.

use super::{desired_replicas, generation_observed, int_at, is_on_delete, Health, Rule};
use serde_json::Value;

/// Health of a live `apps/v1` StatefulSet.
pub fn health(obj: &Value) -> Health {
    let base = generation_observed.and(replicas_ready);
    if is_on_delete(obj, "/spec/updateStrategy/type") {
        return base.check(obj);
    }
    base.and(replicas_updated).and(revision_current).check(obj)
}

fn partition(obj: &Value) -> i64 {
    int_at(obj, "/spec/updateStrategy/rollingUpdate/partition")
}

fn replicas_ready(obj: &Value) -> Health {
    let desired = desired_replicas(obj);
    let ready = int_at(obj, "/status/readyReplicas");
    if ready == desired {
        Health::Healthy
    } else {
        Health::progressing(format!("{ready} of {desired} replicas ready"))
    }
}

fn replicas_updated(obj: &Value) -> Health {
    let wanted = (desired_replicas(obj) - partition(obj)).max(0);
    let updated = int_at(obj, "/status/updatedReplicas");
    if updated >= wanted {
        Health::Healthy
    } else {
        Health::progressing(format!("{updated} of {wanted} replicas updated"))
    }
}

fn revision_current(obj: &Value) -> Health {
    if partition(obj) > 0 {
        return Health::Healthy;
    }
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (current, update) = (
        text("/status/currentRevision"),
        text("/status/updateRevision"),
    );
    if current == update {
        Health::Healthy
    } else {
        Health::progressing(format!(
            "rolling update from revision {current} to {update} not finished"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rolled_out() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "generation": 3},
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
            },
            "status": {
                "observedGeneration": 3,
                "replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3,
                "currentRevision": "db-6d5b8c7f9", "updateRevision": "db-6d5b8c7f9",
                "collisionCount": 0
            }
        })
    }

    #[test]
    fn finished_rollout_is_healthy() {
        assert_eq!(health(&rolled_out()), Health::Healthy);
    }

    #[test]
    fn mid_rollout_is_progressing() {
        let mut s = rolled_out();
        s["status"]["currentReplicas"] = json!(2);
        s["status"]["updatedReplicas"] = json!(1);
        s["status"]["readyReplicas"] = json!(2);
        s["status"]["updateRevision"] = json!("db-84f7d9c6b");
        assert_eq!(
            health(&s),
            Health::Progressing {
                reason: "2 of 3 replicas ready".into()
            }
        );
        s["status"]["readyReplicas"] = json!(3);
        assert_eq!(
            health(&s),
            Health::Progressing {
                reason: "1 of 3 replicas updated".into()
            }
        );
    }

    #[test]
    fn revisions_must_meet_without_partition() {
        let mut s = rolled_out();
        s["status"]["updateRevision"] = json!("db-84f7d9c6b");
        assert_eq!(
            health(&s),
            Health::Progressing {
                reason: "rolling update from revision db-6d5b8c7f9 to db-84f7d9c6b not finished"
                    .into()
            }
        );
    }

    #[test]
    fn partition_keeps_old_pods_by_design() {
        let mut s = rolled_out();
        s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
        s["status"]["updatedReplicas"] = json!(1);
        s["status"]["currentReplicas"] = json!(2);
        s["status"]["updateRevision"] = json!("db-84f7d9c6b");
        assert_eq!(health(&s), Health::Healthy);
        s["status"]
            .as_object_mut()
            .unwrap()
            .remove("updatedReplicas");
        assert_eq!(
            health(&s),
            Health::Progressing {
                reason: "0 of 1 replicas updated".into()
            }
        );
    }

    #[test]
    fn old_generation_is_progressing() {
        let mut s = rolled_out();
        s["metadata"]["generation"] = json!(4);
        assert!(matches!(health(&s), Health::Progressing { .. }));
    }

    #[test]
    fn on_delete_needs_only_observed_and_ready() {
        let mut s = rolled_out();
        s["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        s["status"]["updatedReplicas"] = json!(0);
        s["status"]["updateRevision"] = json!("db-84f7d9c6b");
        assert_eq!(health(&s), Health::Healthy);
        s["status"]["readyReplicas"] = json!(1);
        assert_eq!(
            health(&s),
            Health::Progressing {
                reason: "1 of 3 replicas ready".into()
            }
        );
    }
}
