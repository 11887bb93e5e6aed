//! DaemonSet health, as `kubectl rollout status` judges it.
//!
//! * Always: the controller observed the latest generation and
//!   `numberAvailable == desiredNumberScheduled` (a DaemonSet that matches no
//!   node wants 0 pods and is healthy).
//! * `RollingUpdate` (the default): also `updatedNumberScheduled ==
//!   desiredNumberScheduled`.
//! * `OnDelete`: pods change only when someone deletes them, so updated pods
//!   are not awaited (same reasoning as for StatefulSets).

use super::{generation_observed, int_at, is_on_delete, Health, Rule};
use serde_json::Value;

/// Health of a live `apps/v1` DaemonSet.
pub fn health(obj: &Value) -> Health {
    let base = generation_observed.and(pods_available);
    if is_on_delete(obj, "/spec/updateStrategy/type") {
        return base.check(obj);
    }
    base.and(pods_updated).check(obj)
}

fn desired(obj: &Value) -> i64 {
    int_at(obj, "/status/desiredNumberScheduled")
}

fn pods_updated(obj: &Value) -> Health {
    let updated = int_at(obj, "/status/updatedNumberScheduled");
    let desired = desired(obj);
    if updated == desired {
        Health::Healthy
    } else {
        Health::progressing(format!("{updated} of {desired} pods updated"))
    }
}

fn pods_available(obj: &Value) -> Health {
    let available = int_at(obj, "/status/numberAvailable");
    let desired = desired(obj);
    if available == desired {
        Health::Healthy
    } else {
        Health::progressing(format!("{available} of {desired} updated pods available"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rolled_out() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "node-agent", "namespace": "kube-system", "generation": 2},
            "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
            "status": {
                "observedGeneration": 2,
                "currentNumberScheduled": 5, "desiredNumberScheduled": 5,
                "numberAvailable": 5, "numberMisscheduled": 0, "numberReady": 5,
                "updatedNumberScheduled": 5
            }
        })
    }

    #[test]
    fn finished_rollout_is_healthy() {
        assert_eq!(health(&rolled_out()), Health::Healthy);
    }

    #[test]
    fn partially_updated_is_progressing() {
        let mut d = rolled_out();
        d["status"]["updatedNumberScheduled"] = json!(2);
        d["status"]["numberAvailable"] = json!(4);
        d["status"]["numberUnavailable"] = json!(1);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "4 of 5 updated pods available".into()
            }
        );
        d["status"]["numberAvailable"] = json!(5);
        assert_eq!(
            health(&d),
            Health::Progressing {
                reason: "2 of 5 pods updated".into()
            }
        );
    }

    #[test]
    fn old_generation_is_progressing() {
        let mut d = rolled_out();
        d["metadata"]["generation"] = json!(3);
        assert!(matches!(health(&d), Health::Progressing { .. }));
    }

    #[test]
    fn no_matching_nodes_is_healthy() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "gpu-agent", "generation": 1},
            "status": {"observedGeneration": 1, "currentNumberScheduled": 0,
                       "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0}
        });
        assert_eq!(health(&d), Health::Healthy);
    }

    #[test]
    fn on_delete_does_not_wait_for_updates() {
        let mut d = rolled_out();
        d["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        d["status"]["updatedNumberScheduled"] = json!(0);
        assert_eq!(health(&d), Health::Healthy);
    }
}
