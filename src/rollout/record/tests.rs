//! Tests of the rollout record.

use super::*;
use serde_json::json;

#[test]
fn the_phase_sits_beside_its_fields_and_previous_is_tagged() {
    let mut r = RolloutRecord::new("abc", 7);
    r.phase = Phase::Gating { batch: 1 };
    r.previous
        .insert("a".into(), Previous::Commit("old".into()));
    r.previous.insert("b".into(), Previous::Nothing);
    r.previous
        .insert("c".into(), Previous::Unknown("HTTP 500".into()));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["phase"], "gating");
    assert_eq!(v["batch"], 1);
    assert_eq!(
        v["previous"],
        json!({"a": {"commit": "old"}, "b": "nothing", "c": {"unknown": "HTTP 500"}})
    );
    let back: RolloutRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

#[test]
fn records_of_older_versions_still_load() {
    let old = json!({
        "commit": "abc", "phase": "rollingBack", "batches": [["a"], ["b"]], "batch": 1,
        "done": ["a"], "touched": ["a", "b"], "previous": {"a": "old", "b": null},
        "changed": {}, "startedAt": 1
    });
    let r: RolloutRecord = serde_json::from_value(old).unwrap();
    assert_eq!(
        r.phase,
        Phase::RollingBack {
            cluster: String::new()
        }
    );
    assert_eq!(r.previous["a"], Previous::Commit("old".into()));
    assert_eq!(r.previous["b"], Previous::Nothing);
}

#[test]
fn left_behind_names_what_a_failed_rollback_left() {
    let mut r = RolloutRecord::new("abcdef123", 0);
    r.batches = vec![vec!["a".into()], vec!["b".into(), "c".into()]];
    r.touched = ["a", "b"].iter().map(|s| s.to_string()).collect();
    r.failure = Some(Failure {
        cluster: "b".into(),
        object: None,
        reason: "cluster unreachable".into(),
    });
    r.rollback.insert("a".into(), RestoreResult::Restored);
    r.rollback
        .insert("b".into(), RestoreResult::Failed("unreachable".into()));
    r.phase = Phase::Done {
        outcome: RolloutOutcome::RollbackFailed,
    };
    assert_eq!(
        r.left_behind(),
        vec![LeftBehind {
            cluster: "b".into(),
            reason: "rollback failed: unreachable".into()
        }]
    );
    assert_eq!(
        r.describe(),
        "rollback incomplete on b: b cluster unreachable; left behind: b (rollback failed: unreachable)"
    );
}
