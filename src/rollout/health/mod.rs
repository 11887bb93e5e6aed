//! Health of live objects after an apply: pure rules per kind over the JSON
//! the apiserver returns, and the gate that turns a batch's results into a
//! verdict.
//!
//! Each kind has a small module ([`deployment`], [`statefulset`],
//! [`daemonset`], [`job`], [`hpa`], [`expression`] for the CEL health of
//! custom workload kinds, and [`generic`] for the rest) whose rules
//! compose with [`Rule::and`]. [`evaluate`] dispatches on the health rule
//! the kind table gives for the object's API group and kind (any version;
//! [`crate::kinds`]), so a custom `example.com/Deployment` only needs to
//! exist. Rules read only `metadata` and `status`; they never call a
//! cluster, so the orchestrator decides when to read objects and how long to
//! wait.
//!
//! Only clusters with controllers have meaningful status
//! (`ClusterApi::has_controllers`); objects written to a directory cluster
//! have no status and should not be gated.
//!
//! The apiserver omits zero-valued integer status fields (`availableReplicas:
//! 0` is absent), so a missing count reads as 0 throughout.

pub mod daemonset;
pub mod deployment;
pub mod expression;
pub mod gate;
pub mod generic;
pub mod hpa;
pub mod job;
pub mod rule;
pub mod statefulset;

pub use gate::{gate, GateVerdict, Pending};
pub use rule::Rule;

use crate::kinds::{HealthRule, KindTable};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// How one live object is doing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Health {
    /// The object has reached the state it was given.
    Healthy,
    /// Not there yet; it may still get there (the gate keeps waiting).
    Progressing {
        /// What is still awaited, e.g. `1 of 3 updated replicas available`.
        reason: String,
    },
    /// It will not get there by itself (the gate fails at once).
    Failed {
        /// Why, e.g. `ProgressDeadlineExceeded: ReplicaSet "web-5d" has timed out progressing.`
        reason: String,
    },
}

impl Health {
    /// Whether the object is healthy.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }

    /// Whether the object has failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Health::Failed { .. })
    }

    /// The reason, for progressing and failed objects.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::Progressing { reason } | Health::Failed { reason } => Some(reason),
        }
    }

    /// Combines with a second judgement of the same object: a failure wins
    /// (this one first), then this one if still progressing, else `other`.
    /// `other` is not computed when this one has already failed.
    pub fn and(self, other: impl FnOnce() -> Health) -> Health {
        match self {
            Health::Failed { .. } => self,
            Health::Progressing { .. } => match other() {
                failed @ Health::Failed { .. } => failed,
                _ => self,
            },
            Health::Healthy => other(),
        }
    }

    fn progressing(reason: impl Into<String>) -> Health {
        Health::Progressing {
            reason: reason.into(),
        }
    }

    fn failed(reason: impl Into<String>) -> Health {
        Health::Failed {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Health {
    /// `healthy`, `progressing: <reason>` or `failed: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Healthy => f.write_str("healthy"),
            Health::Progressing { reason } => write!(f, "progressing: {reason}"),
            Health::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// Health of one live object, by the built-in kind table.
pub fn evaluate(obj: &Value) -> Health {
    evaluate_with(KindTable::builtin(), obj)
}

/// Health of one live object, by the health rule `kinds` gives for its API
/// group and kind (any version).
///
/// Every object must first not be in deletion; then Deployments,
/// StatefulSets, DaemonSets, Jobs, HorizontalPodAutoscalers, Namespaces,
/// CRDs and PersistentVolumeClaims follow their own rules, and every other
/// kind is healthy once it exists.
pub fn evaluate_with(kinds: &KindTable, obj: &Value) -> Health {
    let (group, kind) = crate::kinds::group_kind(obj);
    if let Some(exprs) = kinds.health_expressions(group, kind) {
        return not_being_deleted
            .and(|o: &Value| expression::health(exprs, o))
            .check(obj);
    }
    let by_kind: fn(&Value) -> Health = match kinds.health_rule(group, kind) {
        HealthRule::Deployment => deployment::health,
        HealthRule::StatefulSet => statefulset::health,
        HealthRule::DaemonSet => daemonset::health,
        HealthRule::Job => job::health,
        HealthRule::HorizontalPodAutoscaler => hpa::health,
        HealthRule::Namespace => generic::namespace,
        HealthRule::CustomResourceDefinition => generic::crd,
        HealthRule::PersistentVolumeClaim => generic::pvc,
        // Without expressions (not from a policy) there is nothing to ask.
        HealthRule::Exists | HealthRule::Expression => generic::exists,
    };
    not_being_deleted.and(by_kind).check(obj)
}

/// Health of an object that may be missing, by the kind table `kinds`:
/// `None` (the apiserver said not found) fails with `not found`, since an
/// object just applied that is gone was removed by someone else and will
/// not come back by itself.
pub fn evaluate_live(kinds: &KindTable, obj: Option<&Value>) -> Health {
    match obj {
        Some(obj) => evaluate_with(kinds, obj),
        None => Health::failed("not found"),
    }
}

/// An object with a deletion timestamp is going away (finalizers pending).
fn not_being_deleted(obj: &Value) -> Health {
    match obj.pointer("/metadata/deletionTimestamp") {
        Some(Value::String(at)) => Health::progressing(format!("being deleted since {at}")),
        _ => Health::Healthy,
    }
}

/// Integer at a JSON pointer; absent (as the apiserver writes zero) reads as 0.
fn int_at(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The controller has seen the latest spec: `status.observedGeneration ≥
/// metadata.generation`. Without a generation (not from an apiserver) there
/// is nothing to compare.
fn generation_observed(obj: &Value) -> Health {
    let Some(generation) = obj.pointer("/metadata/generation").and_then(Value::as_i64) else {
        return Health::Healthy;
    };
    let observed = int_at(obj, "/status/observedGeneration");
    if observed >= generation {
        Health::Healthy
    } else {
        Health::progressing(format!(
            "waiting for the controller to observe generation {generation} (observed {observed})"
        ))
    }
}

/// Desired replicas of a scalable workload: `spec.replicas`, or when that is
/// absent because an HPA owns it, `status.replicas`, else the API default 1.
fn desired_replicas(obj: &Value) -> i64 {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .or_else(|| obj.pointer("/status/replicas").and_then(Value::as_i64))
        .unwrap_or(1)
}

/// Whether the update strategy at `pointer` is `OnDelete` (pods change only
/// when someone deletes them). Absent means `RollingUpdate`.
fn is_on_delete(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer).and_then(Value::as_str) == Some("OnDelete")
}

/// The condition of `type_` in a list of Kubernetes conditions.
fn find_condition<'a>(conditions: &'a [Value], type_: &str) -> Option<&'a Value> {
    conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// The condition of `type_` in `status.conditions`.
fn status_condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    let conditions = obj.pointer("/status/conditions")?.as_array()?;
    find_condition(conditions, type_)
}

/// Whether a condition has the given status (`True`, `False`, `Unknown`).
fn condition_status_is(condition: Option<&Value>, status: &str) -> bool {
    condition
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some(status)
}

/// `Reason: message` of a condition (either part may be missing).
fn condition_text(condition: &Value) -> String {
    let reason = condition
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = condition
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("");
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        (true, false) => message.to_string(),
        (true, true) => "no reason given".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatches_on_group_and_kind_any_version() {
        let stuck = |api_version: &str| {
            json!({
                "apiVersion": api_version, "kind": "Deployment",
                "metadata": {"name": "web", "generation": 2},
                "spec": {"replicas": 1},
                "status": {"observedGeneration": 1}
            })
        };
        assert!(matches!(
            evaluate(&stuck("apps/v1")),
            Health::Progressing { .. }
        ));
        assert!(matches!(
            evaluate(&stuck("extensions/v1beta1")),
            Health::Progressing { .. }
        ));
        // A custom resource that happens to be called Deployment only needs to exist.
        assert_eq!(evaluate(&stuck("example.com/v1")), Health::Healthy);
    }

    #[test]
    fn missing_object_fails() {
        assert_eq!(
            evaluate_live(KindTable::builtin(), None),
            Health::Failed {
                reason: "not found".into()
            }
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(
            evaluate_live(KindTable::builtin(), Some(&cm)),
            Health::Healthy
        );
    }

    #[test]
    fn object_in_deletion_is_not_healthy() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "deletionTimestamp": "2024-05-01T10:00:00Z", "finalizers": ["x/y"]}
        });
        assert_eq!(
            evaluate(&cm),
            Health::Progressing {
                reason: "being deleted since 2024-05-01T10:00:00Z".into()
            }
        );
    }

    #[test]
    fn display_and_accessors() {
        let p = Health::Progressing {
            reason: "1 of 3".into(),
        };
        assert_eq!(p.to_string(), "progressing: 1 of 3");
        assert_eq!(p.reason(), Some("1 of 3"));
        assert_eq!(Health::Healthy.to_string(), "healthy");
        assert_eq!(
            Health::Failed { reason: "x".into() }.to_string(),
            "failed: x"
        );
        assert!(Health::Failed { reason: "x".into() }.is_failed());
        assert!(Health::Healthy.is_healthy());
    }

    #[test]
    fn serializes_with_a_status_tag() {
        let h = Health::Failed {
            reason: "BackoffLimitExceeded".into(),
        };
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(
            text,
            r#"{"status":"failed","reason":"BackoffLimitExceeded"}"#
        );
        assert_eq!(serde_json::from_str::<Health>(&text).unwrap(), h);
    }

    #[test]
    fn condition_text_handles_missing_parts() {
        assert_eq!(
            condition_text(&json!({"reason": "R", "message": "m"})),
            "R: m"
        );
        assert_eq!(condition_text(&json!({"reason": "R"})), "R");
        assert_eq!(condition_text(&json!({})), "no reason given");
    }
}
