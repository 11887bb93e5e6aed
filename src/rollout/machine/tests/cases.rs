//! The rules that matter, one case each: planning, unknown previous
//! commits, pause, watched objects, resume, rollbacks to nothing.

use super::super::*;
use super::fixtures::*;
use crate::outcome::RolloutOutcome::*;

#[test]
fn planning_orders_and_cuts_batches_and_keeps_previous_commits() {
    let p = |c: &str, order, previous| Participant {
        cluster: c.into(),
        rank: crate::rollout::batch::Rank { cohort: 0, order },
        previous,
    };
    let (r, step) = advance(
        RolloutRecord::new("new", 1),
        StepResult::Planned(vec![
            p("a", None, Previous::Nothing),
            p("b", None, Previous::Commit("old".into())),
            p("canary", Some(0), Previous::Unknown("HTTP 500".into())),
            p("d", None, Previous::Commit("old".into())),
        ]),
        &rollback(),
    );
    assert_eq!(r.batches, vec![s(&["canary"]), s(&["a"]), s(&["b", "d"])]);
    assert_eq!(r.previous["a"], Previous::Nothing);
    assert_eq!(
        step,
        Step::PrepareBatch {
            index: 0,
            clusters: s(&["canary"]),
            reread: s(&["canary"]),
        },
        "an unknown previous commit is read again before the cluster is written"
    );
}

#[test]
fn an_unknown_previous_commit_is_never_written() {
    let mut r = at(Phase::Preparing { batch: 1 });
    r.previous
        .insert("b".into(), Previous::Unknown("HTTP 500".into()));
    // The re-read failed again.
    let still = Prepared {
        cluster: "b".into(),
        previous: Some(Previous::Unknown("HTTP 500 again".into())),
        plan: PlanVerdict::Changes(BTreeSet::new()),
    };
    let (after, step) = advance(r.clone(), StepResult::Prepared(vec![still]), &rollback());
    assert!(!after.touched.contains("b"), "b is not written");
    let f = after.failure.clone().unwrap();
    assert_eq!(f.cluster, "b");
    assert!(f.reason.contains("HTTP 500 again"), "{f}");
    assert_eq!(
        step,
        Step::Restore {
            cluster: "a".into(),
            to: Some("old".into())
        },
        "only the clusters written so far are rolled back"
    );
    // The re-read worked: b is written as usual.
    let known = Prepared {
        cluster: "b".into(),
        previous: Some(Previous::Commit("old".into())),
        plan: PlanVerdict::Changes(BTreeSet::new()),
    };
    let (after, step) = advance(r, StepResult::Prepared(vec![known]), &rollback());
    assert!(after.touched.contains("b"));
    assert_eq!(
        step,
        Step::ApplyBatch {
            index: 1,
            clusters: s(&["b"])
        }
    );
}

#[test]
fn a_touched_cluster_with_an_unknown_previous_ends_rollback_failed_deleting_nothing() {
    let mut r = at(Phase::Gating { batch: 1 });
    r.previous
        .insert("a".into(), Previous::Unknown("HTTP 500".into()));
    let (after, step) = advance(r, StepResult::GateFailed(failure("b")), &rollback());
    // No restore of a is ever asked for: b is next.
    assert_eq!(
        step,
        Step::Restore {
            cluster: "b".into(),
            to: Some("old".into())
        }
    );
    let (after, step) = advance(
        after,
        StepResult::Restored {
            cluster: "b".into(),
            failure: None,
        },
        &rollback(),
    );
    assert_eq!(
        step,
        Step::Finish {
            outcome: RollbackFailed
        }
    );
    let left = after.left_behind();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].cluster, "a");
    assert!(left[0].reason.contains("HTTP 500"), "{}", left[0].reason);
    assert!(left[0].reason.contains("nothing deleted"));
    assert!(after.describe().starts_with("rollback incomplete on a: "));
}

#[test]
fn pause_leaves_touched_clusters_as_they_are() {
    let (after, step) = advance(
        at(Phase::Gating { batch: 1 }),
        StepResult::GateFailed(failure("b")),
        &pause(),
    );
    assert_eq!(step, Step::Finish { outcome: Paused });
    assert_eq!(after.left_behind().len(), 1, "b was written, a is done");
    assert_eq!(
        after.describe(),
        "paused: b Deployment shop/web ProgressDeadlineExceeded; left as they are: b"
    );
}

#[test]
fn objects_about_to_change_are_watched_before_they_are_written() {
    let p = Prepared {
        cluster: "b".into(),
        previous: None,
        plan: PlanVerdict::Changes([obj("web")].into_iter().collect()),
    };
    let (after, _) = advance(
        at(Phase::Preparing { batch: 1 }),
        StepResult::Prepared(vec![p]),
        &rollback(),
    );
    // Saved before the apply step: a crash after the write still gates it.
    assert_eq!(after.changed["b"], [obj("web")].into_iter().collect());
    assert!(after.touched.contains("b"));
}

#[test]
fn applying_records_changed_objects_for_the_gate() {
    let (after, step) = advance(
        at(Phase::Applying { batch: 1 }),
        StepResult::Applied(vec![applied("b", false), applied("not-in-batch", false)]),
        &rollback(),
    );
    assert_eq!(
        after.changed.keys().collect::<Vec<_>>(),
        vec!["b"],
        "results for clusters not written in this batch are ignored"
    );
    assert_eq!(
        step,
        Step::Gate {
            index: 1,
            clusters: s(&["b"])
        }
    );
}

#[test]
fn resume_finishes_what_was_in_flight_and_retries_an_incomplete_rollback() {
    for phase in phases() {
        let r = at(phase.clone());
        let (again, step) = resume(r.clone());
        if phase
            == (Phase::Done {
                outcome: RollbackFailed,
            })
        {
            assert_eq!(again.rollback.len(), 1, "only a stays restored");
            assert_eq!(
                step,
                Step::Restore {
                    cluster: "b".into(),
                    to: Some("old".into())
                }
            );
        } else {
            assert_eq!(step, next(&r), "{phase:?}");
        }
    }
    // A record of an older version in the middle of a rollback.
    let mut old = at(Phase::RollingBack {
        cluster: String::new(),
    });
    old.rollback.insert("a".into(), RestoreResult::Restored);
    assert_eq!(
        resume(old).1,
        Step::Restore {
            cluster: "b".into(),
            to: Some("old".into())
        }
    );
}

#[test]
fn a_rollback_to_nothing_is_asked_only_for_clusters_that_ran_nothing() {
    let mut r = at(Phase::Gating { batch: 1 });
    r.previous.insert("a".into(), Previous::Nothing);
    let (_, step) = advance(r, StepResult::GateFailed(failure("b")), &rollback());
    assert_eq!(
        step,
        Step::Restore {
            cluster: "a".into(),
            to: None
        }
    );
}
