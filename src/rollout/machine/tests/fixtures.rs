//! Records in every phase and results of every kind, for the machine tests.

use super::super::*;
use crate::object::ObjectRef;
use crate::outcome::RolloutOutcome::*;

pub(super) fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub(super) fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub(super) fn rollback() -> Terms {
    Terms::basic(vec![1, 2, 7], OnFailure::Rollback)
}

pub(super) fn pause() -> Terms {
    Terms {
        on_failure: OnFailure::Pause,
        ..rollback()
    }
}

pub(super) fn failure(cluster: &str) -> Failure {
    Failure {
        cluster: cluster.into(),
        object: Some("Deployment shop/web".into()),
        reason: "ProgressDeadlineExceeded".into(),
    }
}

pub(super) fn obj(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("shop".into()),
        name: name.into(),
    }
}

/// Four clusters in batches [a] [b] [c, d], all ran `old` before.
pub(super) fn planned_record() -> RolloutRecord {
    let mut r = RolloutRecord::new("new", 1);
    r.batches = vec![s(&["a"]), s(&["b"]), s(&["c", "d"])];
    for c in ["a", "b", "c", "d"] {
        r.previous.insert(c.into(), Previous::Commit("old".into()));
    }
    r
}

pub(super) fn at(phase: Phase) -> RolloutRecord {
    let mut r = planned_record();
    match &phase {
        Phase::Planning => r = RolloutRecord::new("new", 1),
        Phase::Preparing { batch }
        | Phase::Waiting { batch, .. }
        | Phase::AwaitingApproval { batch } => {
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

pub(super) fn done_before(batch: usize) -> BTreeSet<String> {
    planned_record()
        .batches
        .iter()
        .take(batch)
        .flatten()
        .cloned()
        .collect()
}

pub(super) fn phases() -> Vec<Phase> {
    let mut v = vec![
        Phase::Planning,
        Phase::Waiting {
            batch: 1,
            until: None,
        },
        Phase::Waiting {
            batch: 1,
            until: Some(100),
        },
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

pub(super) fn prepared(cluster: &str, plan: PlanVerdict) -> Prepared {
    Prepared {
        cluster: cluster.into(),
        previous: None,
        plan,
    }
}

pub(super) fn applied(cluster: &str, failed: bool) -> Applied {
    Applied {
        cluster: cluster.into(),
        changed: [obj(&format!("{cluster}-cm"))].into_iter().collect(),
        failure: failed.then(|| failure(cluster)),
    }
}

/// Every kind of result, each in a variant that fits some phase.
pub(super) fn results() -> Vec<(&'static str, StepResult)> {
    let p = |c: &str| Participant {
        cluster: c.into(),
        rank: Default::default(),
        previous: Previous::Commit("old".into()),
    };
    vec![
        ("planned-none", StepResult::Planned(vec![])),
        ("planned-two", StepResult::Planned(vec![p("x"), p("y")])),
        ("wait-started", StepResult::WaitStarted { at: 50 }),
        ("waited", StepResult::Waited { at: 200 }),
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
pub(super) fn expected(phase: &Phase, result: &str) -> Option<Phase> {
    let rb = |c: &str| Phase::RollingBack { cluster: c.into() };
    let done = |outcome| Phase::Done { outcome };
    Some(match (phase, result) {
        (Phase::Planning, "planned-none") => done(NothingToDo),
        (Phase::Planning, "planned-two") => Phase::Preparing { batch: 0 },
        (
            Phase::Waiting {
                batch: 1,
                until: None,
            },
            "wait-started",
        ) => Phase::Waiting {
            batch: 1,
            until: Some(50),
        },
        (
            Phase::Waiting {
                batch: 1,
                until: Some(_),
            },
            "waited",
        ) => Phase::Preparing { batch: 1 },
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
