//! The machine over every phase × every step result, then whole rollouts
//! driven by random results (proptest) checking the guarantees.

use super::*;
use crate::outcome::RolloutOutcome::*;
use proptest::prelude::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn rollback() -> Terms {
    Terms {
        steps: vec![1, 2, 7],
        on_failure: OnFailure::Rollback,
    }
}

fn pause() -> Terms {
    Terms {
        on_failure: OnFailure::Pause,
        ..rollback()
    }
}

fn failure(cluster: &str) -> Failure {
    Failure {
        cluster: cluster.into(),
        object: Some("Deployment shop/web".into()),
        reason: "ProgressDeadlineExceeded".into(),
    }
}

fn obj(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("shop".into()),
        name: name.into(),
    }
}

/// Four clusters in batches [a] [b] [c, d], all ran `old` before.
fn planned_record() -> RolloutRecord {
    let mut r = RolloutRecord::new("new", 1);
    r.batches = vec![s(&["a"]), s(&["b"]), s(&["c", "d"])];
    for c in ["a", "b", "c", "d"] {
        r.previous.insert(c.into(), Previous::Commit("old".into()));
    }
    r
}

fn at(phase: Phase) -> RolloutRecord {
    let mut r = planned_record();
    match &phase {
        Phase::Planning => r = RolloutRecord::new("new", 1),
        Phase::Preparing { batch } => {
            r.done = done_before(*batch);
            r.touched = r.done.clone();
        }
        Phase::Applying { batch } | Phase::Gating { batch } => {
            r.done = done_before(*batch);
            r.touched = r.done.clone();
            r.touched.extend(r.batch(*batch).to_vec());
        }
        Phase::RollingBack { .. } => {
            r.done = set(&["a"]);
            r.touched = set(&["a", "b"]);
            r.failure = Some(failure("b"));
        }
        Phase::Done { outcome } if !outcome.is_success() => {
            r.touched = set(&["a", "b"]);
            r.failure = Some(failure("b"));
            r.rollback.insert("a".into(), RestoreResult::Restored);
            r.rollback
                .insert("b".into(), RestoreResult::Failed("unreachable".into()));
        }
        Phase::Done { .. } => r.done = set(&["a", "b", "c", "d"]),
    }
    r.phase = phase;
    r
}

fn done_before(batch: usize) -> BTreeSet<String> {
    planned_record()
        .batches
        .iter()
        .take(batch)
        .flatten()
        .cloned()
        .collect()
}

fn phases() -> Vec<Phase> {
    let mut v = vec![
        Phase::Planning,
        Phase::Preparing { batch: 0 },
        Phase::Preparing { batch: 2 },
        Phase::Applying { batch: 1 },
        Phase::Gating { batch: 0 },
        Phase::Gating { batch: 2 },
        Phase::RollingBack {
            cluster: "a".into(),
        },
    ];
    for outcome in [
        NothingToDo,
        Succeeded,
        RolledBack,
        Paused,
        RollbackFailed,
        Superseded,
        Invalid,
    ] {
        v.push(Phase::Done { outcome });
    }
    v
}

fn prepared(cluster: &str, plan: PlanVerdict) -> Prepared {
    Prepared {
        cluster: cluster.into(),
        previous: None,
        plan,
    }
}

fn applied(cluster: &str, failed: bool) -> Applied {
    Applied {
        cluster: cluster.into(),
        changed: [obj(&format!("{cluster}-cm"))].into_iter().collect(),
        failure: failed.then(|| failure(cluster)),
    }
}

/// Every kind of result, each in a variant that fits some phase.
fn results() -> Vec<(&'static str, StepResult)> {
    let p = |c: &str| Participant {
        cluster: c.into(),
        order: None,
        previous: Previous::Commit("old".into()),
    };
    vec![
        ("planned-none", StepResult::Planned(vec![])),
        ("planned-two", StepResult::Planned(vec![p("x"), p("y")])),
        (
            "prepared-changes",
            StepResult::Prepared(vec![
                prepared("a", PlanVerdict::Changes(BTreeSet::new())),
                prepared("c", PlanVerdict::Changes(BTreeSet::new())),
                prepared("d", PlanVerdict::NoChanges),
            ]),
        ),
        (
            "prepared-nothing",
            StepResult::Prepared(vec![
                prepared("a", PlanVerdict::NoChanges),
                prepared("c", PlanVerdict::NoChanges),
                prepared("d", PlanVerdict::NoChanges),
            ]),
        ),
        (
            "prepared-unreachable",
            StepResult::Prepared(vec![
                prepared("a", PlanVerdict::Failed(failure("a"))),
                prepared("c", PlanVerdict::Changes(BTreeSet::new())),
                prepared("d", PlanVerdict::Failed(failure("d"))),
            ]),
        ),
        ("applied-ok", StepResult::Applied(vec![applied("b", false)])),
        (
            "applied-failed",
            StepResult::Applied(vec![applied("b", true)]),
        ),
        ("gate-passed", StepResult::GatePassed),
        ("gate-failed", StepResult::GateFailed(failure("a"))),
        (
            "restored-a",
            StepResult::Restored {
                cluster: "a".into(),
                failure: None,
            },
        ),
        (
            "restore-a-failed",
            StepResult::Restored {
                cluster: "a".into(),
                failure: Some("unreachable".into()),
            },
        ),
    ]
}

/// What each (phase, result) pair must give: `None` means the result
/// does not belong to the phase and nothing may change.
fn expected(phase: &Phase, result: &str) -> Option<Phase> {
    let rb = |c: &str| Phase::RollingBack { cluster: c.into() };
    let done = |outcome| Phase::Done { outcome };
    Some(match (phase, result) {
        (Phase::Planning, "planned-none") => done(NothingToDo),
        (Phase::Planning, "planned-two") => Phase::Preparing { batch: 0 },
        (Phase::Preparing { batch: 0 }, "prepared-changes") => Phase::Applying { batch: 0 },
        (Phase::Preparing { batch: 0 }, "prepared-nothing") => Phase::Gating { batch: 0 },
        // Nothing was touched yet: the failure ends the rollout at once.
        (Phase::Preparing { batch: 0 }, "prepared-unreachable") => done(RolledBack),
        (Phase::Preparing { batch: 2 }, "prepared-changes") => Phase::Applying { batch: 2 },
        (Phase::Preparing { batch: 2 }, "prepared-nothing") => Phase::Gating { batch: 2 },
        (Phase::Preparing { batch: 2 }, "prepared-unreachable") => rb("a"),
        (Phase::Applying { batch: 1 }, "applied-ok") => Phase::Gating { batch: 1 },
        (Phase::Applying { batch: 1 }, "applied-failed") => rb("a"),
        (Phase::Gating { batch: 0 }, "gate-passed") => Phase::Preparing { batch: 1 },
        (Phase::Gating { batch: 2 }, "gate-passed") => done(Succeeded),
        (Phase::Gating { batch: 0 }, "gate-failed") => rb("a"),
        (Phase::Gating { batch: 2 }, "gate-failed") => rb("a"),
        (Phase::RollingBack { .. }, "restored-a") => rb("b"),
        (Phase::RollingBack { .. }, "restore-a-failed") => rb("b"),
        _ => return None,
    })
}

#[test]
fn every_phase_times_every_step_result() {
    let mut checked = 0;
    for phase in phases() {
        for (name, result) in results() {
            let before = at(phase.clone());
            let (after, step) = advance(before.clone(), result, &rollback());
            assert_eq!(
                step,
                next(&after),
                "{phase:?} × {name}: step follows the record"
            );
            match expected(&phase, name) {
                Some(want) => assert_eq!(after.phase, want, "{phase:?} × {name}"),
                None => assert_eq!(after, before, "{phase:?} × {name} must change nothing"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14 * 11);
}

#[test]
fn every_phase_has_its_one_next_step() {
    let cases = [
        (Phase::Planning, Step::PlanRollout),
        (
            Phase::Preparing { batch: 2 },
            Step::PrepareBatch {
                index: 2,
                clusters: s(&["c", "d"]),
                reread: vec![],
            },
        ),
        (
            Phase::Applying { batch: 1 },
            Step::ApplyBatch {
                index: 1,
                clusters: s(&["b"]),
            },
        ),
        (
            Phase::Gating { batch: 2 },
            Step::Gate {
                index: 2,
                clusters: s(&["c", "d"]),
            },
        ),
        (
            Phase::RollingBack {
                cluster: "b".into(),
            },
            Step::Restore {
                cluster: "b".into(),
                to: Some("old".into()),
            },
        ),
        (
            Phase::Done { outcome: Succeeded },
            Step::Finish { outcome: Succeeded },
        ),
    ];
    for (phase, step) in cases {
        assert_eq!(next(&at(phase.clone())), step, "{phase:?}");
    }
}

#[test]
fn planning_orders_and_cuts_batches_and_keeps_previous_commits() {
    let p = |c: &str, order, previous| Participant {
        cluster: c.into(),
        order,
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

/// A simulated fleet: what each step would give, drawn at random.
#[derive(Debug, Clone)]
struct World {
    clusters: Vec<(String, Previous)>,
    verdicts: Vec<u8>,
    gates: Vec<bool>,
    restores: Vec<bool>,
    pause: bool,
}

fn world() -> impl Strategy<Value = World> {
    let previous = prop_oneof![
        Just(Previous::Nothing),
        Just(Previous::Commit("old".into())),
        Just(Previous::Unknown("HTTP 500".into())),
    ];
    (
        prop::collection::vec(previous, 0..7),
        prop::collection::vec(0u8..6, 1..40),
        prop::collection::vec(any::<bool>(), 1..10),
        prop::collection::vec(any::<bool>(), 1..10),
        any::<bool>(),
    )
        .prop_map(|(prev, verdicts, gates, restores, pause)| World {
            clusters: prev
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("c{i}"), p))
                .collect(),
            verdicts,
            gates,
            restores,
            pause,
        })
}

proptest! {
    /// Whatever the steps give, the machine never writes or restores a
    /// cluster whose previous commit is unknown, adds every cluster to
    /// `touched` before the step that writes it, and finishes.
    #[test]
    fn random_rollouts_keep_the_guarantees(w in world()) {
        let terms = Terms {
            steps: vec![1, 2, 7],
            on_failure: if w.pause { OnFailure::Pause } else { OnFailure::Rollback },
        };
        let mut record = RolloutRecord::new("new", 1);
        let mut step = next(&record);
        let mut n = 0usize;
        let mut written: BTreeSet<String> = BTreeSet::new();
        loop {
            n += 1;
            prop_assert!(n < 200, "the machine did not finish");
            let result = match &step {
                Step::PlanRollout => StepResult::Planned(
                    w.clusters
                        .iter()
                        .map(|(c, p)| Participant { cluster: c.clone(), order: None, previous: p.clone() })
                        .collect(),
                ),
                Step::PrepareBatch { clusters, reread, .. } => StepResult::Prepared(
                    clusters
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let v = w.verdicts[(n + i) % w.verdicts.len()];
                            Prepared {
                                cluster: c.clone(),
                                previous: reread.contains(c).then(|| {
                                    if v % 2 == 0 {
                                        Previous::Commit("old".into())
                                    } else {
                                        Previous::Unknown("still failing".into())
                                    }
                                }),
                                plan: match v {
                                    0 => PlanVerdict::Failed(failure(c)),
                                    1 => PlanVerdict::NoChanges,
                                    _ => PlanVerdict::Changes(BTreeSet::new()),
                                },
                            }
                        })
                        .collect(),
                ),
                Step::ApplyBatch { clusters, .. } => {
                    for c in clusters {
                        prop_assert!(record.touched.contains(c), "{c} written before it is touched");
                        prop_assert!(
                            !matches!(record.previous_of(c), Previous::Unknown(_)),
                            "{c} written with an unknown previous commit"
                        );
                        written.insert(c.clone());
                    }
                    StepResult::Applied(
                        clusters
                            .iter()
                            .map(|c| applied(c, w.verdicts[n % w.verdicts.len()] == 5))
                            .collect(),
                    )
                }
                Step::Gate { .. } => {
                    if w.gates[n % w.gates.len()] {
                        StepResult::GatePassed
                    } else {
                        StepResult::GateFailed(failure("g"))
                    }
                }
                Step::Restore { cluster, to } => {
                    let prev = record.previous_of(cluster);
                    prop_assert!(!matches!(prev, Previous::Unknown(_)), "restore of unknown {cluster}");
                    prop_assert_eq!(to.as_deref(), prev.restore_target().flatten());
                    let ok = w.restores[n % w.restores.len()];
                    StepResult::Restored {
                        cluster: cluster.clone(),
                        failure: (!ok).then(|| "unreachable".to_string()),
                    }
                }
                Step::Finish { outcome } => {
                    prop_assert_eq!(Some(*outcome), record.outcome());
                    prop_assert!(written.is_subset(&record.touched));
                    if *outcome == RolledBack {
                        prop_assert!(record.left_behind().is_empty());
                    }
                    if *outcome == RollbackFailed {
                        prop_assert!(!record.left_behind().is_empty());
                    }
                    break;
                }
            };
            // A process killed here resumes from the saved record.
            let (r, s) = advance(record, result, &terms);
            let (resumed, resumed_step) = resume(r.clone());
            if r.outcome() != Some(RollbackFailed) {
                prop_assert_eq!(&resumed, &r);
                prop_assert_eq!(&resumed_step, &s);
            }
            record = r;
            step = s;
        }
    }
}
