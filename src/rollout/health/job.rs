//! Job health: a Job is healthy when it has completed.
//!
//! * `Complete=True` → healthy.
//! * `Failed=True` (e.g. `BackoffLimitExceeded`, `DeadlineExceeded`) or
//!   `FailureTarget=True` (Kubernetes ≥ 1.31 sets it while terminating pods
//!   before `Failed`) → failed with the condition's reason and message.
//! * Suspended (`spec.suspend: true`) → healthy: someone holds it on purpose
//!   and it cannot complete until resumed, so waiting would only time out.
//! * Anything else → progressing. A Job gates the batch until it finishes,
//!   so long batch Jobs need a health timeout to match.

use super::{condition_status_is, condition_text, int_at, status_condition, Health};
use serde_json::Value;

/// Health of a live `batch/v1` Job.
pub fn health(obj: &Value) -> Health {
    for failure in ["Failed", "FailureTarget"] {
        let condition = status_condition(obj, failure);
        if let Some(c) = condition.filter(|_| condition_status_is(condition, "True")) {
            return Health::failed(condition_text(c));
        }
    }
    if condition_status_is(status_condition(obj, "Complete"), "True") {
        return Health::Healthy;
    }
    if obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Health::Healthy;
    }
    let succeeded = int_at(obj, "/status/succeeded");
    let active = int_at(obj, "/status/active");
    Health::progressing(format!(
        "not complete ({active} active, {succeeded} succeeded)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(status: Value) -> Value {
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop", "generation": 1},
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, "suspend": false},
            "status": status
        })
    }

    #[test]
    fn complete_is_healthy() {
        let j = job(json!({
            "startTime": "2024-05-01T10:00:00Z", "completionTime": "2024-05-01T10:00:09Z",
            "succeeded": 1, "ready": 0, "terminating": 0,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"}
            ]
        }));
        assert_eq!(health(&j), Health::Healthy);
    }

    #[test]
    fn failed_carries_reason_and_message() {
        let j = job(json!({
            "startTime": "2024-05-01T10:00:00Z", "failed": 7, "ready": 0, "terminating": 0,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
            ]
        }));
        assert_eq!(
            health(&j),
            Health::Failed {
                reason: "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            }
        );
    }

    #[test]
    fn running_is_progressing() {
        let j = job(json!({"startTime": "2024-05-01T10:00:00Z", "active": 1, "ready": 1}));
        assert_eq!(
            health(&j),
            Health::Progressing {
                reason: "not complete (1 active, 0 succeeded)".into()
            }
        );
    }

    #[test]
    fn false_conditions_do_not_count() {
        let j = job(json!({"active": 1, "conditions": [
            {"type": "Failed", "status": "False"}, {"type": "Complete", "status": "False"}
        ]}));
        assert!(matches!(health(&j), Health::Progressing { .. }));
    }

    #[test]
    fn suspended_is_healthy() {
        let mut j = job(json!({"conditions": [
            {"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}
        ]}));
        j["spec"]["suspend"] = json!(true);
        assert_eq!(health(&j), Health::Healthy);
    }
}
