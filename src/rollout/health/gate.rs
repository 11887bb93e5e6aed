//! The health gate of one batch: every changed object on every cluster of
//! the batch must be healthy. Pure: it judges results the orchestrator has
//! collected, and leaves polling, timeouts and bake time to the caller.

use super::Health;
use crate::object::ObjectRef;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One object not healthy yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Cluster the object lives on.
    pub cluster: String,
    /// The object.
    pub object: ObjectRef,
    /// What it is still waiting for.
    pub reason: String,
}

/// What the gate says about a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum GateVerdict {
    /// Every object is healthy (or there was nothing to check).
    Passed,
    /// Nothing failed, but some objects are still progressing; poll again
    /// until the health timeout, then see [`GateVerdict::timed_out`].
    Waiting {
        /// Objects not healthy yet, by cluster then object.
        pending: Vec<Pending>,
    },
    /// An object failed: the batch fails now, without waiting for the rest.
    Failed {
        /// Cluster of the failed object.
        cluster: String,
        /// The failed object.
        object: ObjectRef,
        /// Why it failed, e.g. `ProgressDeadlineExceeded: …` or `not found`.
        reason: String,
    },
}

/// Judges one batch from `(cluster, object, health)` results.
///
/// One failed object fails the gate; when several fail, the first by
/// cluster name then object identity is reported, so the verdict does not
/// depend on the order results arrived in. A missing object should be passed
/// as failed (`not found`, see [`super::evaluate_live`]). No results pass.
pub fn gate(results: &[(String, ObjectRef, Health)]) -> GateVerdict {
    let mut sorted: Vec<&(String, ObjectRef, Health)> = results.iter().collect();
    sorted.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut pending = Vec::new();
    for (cluster, object, health) in sorted {
        match health {
            Health::Healthy => {}
            Health::Failed { reason } => {
                return GateVerdict::Failed {
                    cluster: cluster.clone(),
                    object: object.clone(),
                    reason: reason.clone(),
                }
            }
            Health::Progressing { reason } => pending.push(Pending {
                cluster: cluster.clone(),
                object: object.clone(),
                reason: reason.clone(),
            }),
        }
    }
    if pending.is_empty() {
        GateVerdict::Passed
    } else {
        GateVerdict::Waiting { pending }
    }
}

impl GateVerdict {
    /// The verdict once the health timeout has run out: still waiting
    /// becomes a failure of the first pending object, with its last reason
    /// and the timeout in the message. Passed and failed are unchanged.
    pub fn timed_out(self, timeout: Duration) -> GateVerdict {
        let GateVerdict::Waiting { pending } = self else {
            return self;
        };
        let others = pending.len().saturating_sub(1);
        let Some(first) = pending.into_iter().next() else {
            return GateVerdict::Passed;
        };
        let more = match others {
            0 => String::new(),
            1 => " (and 1 more object)".to_string(),
            n => format!(" (and {n} more objects)"),
        };
        GateVerdict::Failed {
            cluster: first.cluster,
            object: first.object,
            reason: format!(
                "not healthy within {}: {}{more}",
                humantime::format_duration(timeout),
                first.reason
            ),
        }
    }
}

impl fmt::Display for GateVerdict {
    /// `passed`, `waiting for N objects: <first cluster> <object>: <reason>`,
    /// or `failed: <cluster> <object>: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateVerdict::Passed => f.write_str("passed"),
            GateVerdict::Waiting { pending } => {
                write!(f, "waiting for {} object", pending.len())?;
                if pending.len() != 1 {
                    f.write_str("s")?;
                }
                if let Some(p) = pending.first() {
                    write!(f, ": {} {}: {}", p.cluster, p.object, p.reason)?;
                }
                Ok(())
            }
            GateVerdict::Failed {
                cluster,
                object,
                reason,
            } => {
                write!(f, "failed: {cluster} {object}: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    fn progressing(reason: &str) -> Health {
        Health::Progressing {
            reason: reason.into(),
        }
    }

    fn failed(reason: &str) -> Health {
        Health::Failed {
            reason: reason.into(),
        }
    }

    #[test]
    fn nothing_to_check_passes() {
        assert_eq!(gate(&[]), GateVerdict::Passed);
    }

    #[test]
    fn all_healthy_passes() {
        let results = vec![
            ("a".to_string(), obj("Deployment", "web"), Health::Healthy),
            ("b".to_string(), obj("Deployment", "web"), Health::Healthy),
        ];
        assert_eq!(gate(&results), GateVerdict::Passed);
    }

    #[test]
    fn progressing_objects_wait_in_order() {
        let results = vec![
            (
                "b".to_string(),
                obj("Deployment", "web"),
                progressing("1 of 3"),
            ),
            (
                "a".to_string(),
                obj("StatefulSet", "db"),
                progressing("0 of 1"),
            ),
            ("a".to_string(), obj("Deployment", "web"), Health::Healthy),
        ];
        let verdict = gate(&results);
        let GateVerdict::Waiting { pending } = &verdict else {
            panic!("expected waiting, got {verdict:?}");
        };
        let order: Vec<&str> = pending.iter().map(|p| p.cluster.as_str()).collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(
            verdict.to_string(),
            "waiting for 2 objects: a StatefulSet shop/db: 0 of 1"
        );
    }

    #[test]
    fn one_failure_fails_deterministically() {
        let mut results = vec![
            (
                "prod-c".to_string(),
                obj("Deployment", "web"),
                failed("ProgressDeadlineExceeded"),
            ),
            (
                "prod-b".to_string(),
                obj("Deployment", "web"),
                progressing("1 of 3"),
            ),
            (
                "prod-b".to_string(),
                obj("StatefulSet", "db"),
                failed("not found"),
            ),
            (
                "prod-b".to_string(),
                obj("Deployment", "api"),
                failed("ProgressDeadlineExceeded"),
            ),
        ];
        let want = GateVerdict::Failed {
            cluster: "prod-b".into(),
            object: obj("Deployment", "api"),
            reason: "ProgressDeadlineExceeded".into(),
        };
        assert_eq!(gate(&results), want);
        results.reverse();
        assert_eq!(gate(&results), want);
        assert_eq!(
            want.to_string(),
            "failed: prod-b Deployment shop/api: ProgressDeadlineExceeded"
        );
    }

    #[test]
    fn timeout_turns_waiting_into_failure() {
        let results = vec![
            (
                "a".to_string(),
                obj("Deployment", "web"),
                progressing("1 of 3 updated replicas available"),
            ),
            (
                "b".to_string(),
                obj("Deployment", "web"),
                progressing("0 of 3"),
            ),
        ];
        assert_eq!(
            gate(&results).timed_out(Duration::from_secs(300)),
            GateVerdict::Failed {
                cluster: "a".into(),
                object: obj("Deployment", "web"),
                reason:
                    "not healthy within 5m: 1 of 3 updated replicas available (and 1 more object)"
                        .into(),
            }
        );
        assert_eq!(
            GateVerdict::Passed.timed_out(Duration::from_secs(1)),
            GateVerdict::Passed
        );
    }
}
