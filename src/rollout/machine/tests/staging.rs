//! The staging rules as machine transitions: waits before batches (pause,
//! minSuccessTime, windows) with their times kept in the record, and
//! `maxFailures` tables (which failures a batch tolerates).

use super::super::*;
use super::fixtures::*;
use crate::model::{Allowance, Steps, Target};
use crate::outcome::RolloutOutcome::*;
use std::time::Duration;

fn waiting_terms() -> Terms {
    Terms {
        pause: Duration::from_secs(600),
        min_success: Duration::from_secs(3600),
        ..rollback()
    }
}

#[test]
fn a_batch_waits_for_the_pause_and_min_success_time_and_the_record_keeps_it() {
    let terms = waiting_terms();
    let p = |c: &str| Participant {
        cluster: c.into(),
        rank: Default::default(),
        previous: Previous::Commit("old".into()),
    };
    let (r, step) = advance(
        RolloutRecord::new("new", 1),
        StepResult::Planned(vec![p("a"), p("b")]),
        &terms,
    );
    // Batch 1 waits too (windows apply to every batch); nothing before it.
    assert_eq!(
        step,
        Step::Wait {
            index: 0,
            until: None
        }
    );
    let (r, step) = advance(r, StepResult::WaitStarted { at: 1000 }, &terms);
    assert_eq!(
        step,
        Step::Wait {
            index: 0,
            until: Some(1000)
        }
    );
    let (r, step) = advance(r, StepResult::Waited { at: 1005 }, &terms);
    assert_eq!(r.batch_started[&0], 1005);
    assert!(matches!(step, Step::PrepareBatch { index: 0, .. }));
    let mut r = r;
    r.phase = Phase::Gating { batch: 0 };
    r.touched.insert("a".into());
    let (r, step) = advance(r, StepResult::GatePassed, &terms);
    assert_eq!(
        step,
        Step::Wait {
            index: 1,
            until: None
        }
    );
    // Gate passed at 1200: the pause ends at 1800, minSuccessTime at 4605.
    let (r, step) = advance(r, StepResult::WaitStarted { at: 1200 }, &terms);
    assert_eq!(
        step,
        Step::Wait {
            index: 1,
            until: Some(4605)
        }
    );
    // What a restart loads asks for the same wait.
    let saved: RolloutRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(resume(saved).1, step);
    // Pause longer than minSuccessTime: the pause wins.
    let long_pause = Terms {
        pause: Duration::from_secs(7200),
        ..terms.clone()
    };
    let mut again = r.clone();
    again.phase = Phase::Waiting {
        batch: 1,
        until: None,
    };
    let (_, step) = advance(again, StepResult::WaitStarted { at: 1200 }, &long_pause);
    assert_eq!(
        step,
        Step::Wait {
            index: 1,
            until: Some(8400)
        }
    );
    // A gate result while waiting changes nothing.
    let (same, _) = advance(r.clone(), StepResult::GatePassed, &terms);
    assert_eq!(same, r);
    let (r, step) = advance(r, StepResult::Waited { at: 4610 }, &terms);
    assert!(matches!(step, Step::PrepareBatch { index: 1, .. }));
    assert_eq!(r.progress(), "batch 2/2 · 1/2 clusters");
}

#[test]
fn without_waits_batches_follow_at_once() {
    let r = at(Phase::Gating { batch: 0 });
    let (_, step) = advance(r, StepResult::GatePassed, &rollback());
    assert!(matches!(step, Step::PrepareBatch { index: 1, .. }));
    let windowed = Terms {
        windowed: true,
        ..rollback()
    };
    let (r, step) = advance(
        at(Phase::Gating { batch: 0 }),
        StepResult::GatePassed,
        &windowed,
    );
    assert_eq!(
        step,
        Step::Wait {
            index: 1,
            until: None
        }
    );
    assert_eq!(r.progress(), "batch 2/3 · 1/4 clusters · waiting to start");
}

#[test]
fn percent_steps_cut_the_batches() {
    let terms = Terms {
        steps: Steps::Targets(vec![
            Target::Count(1),
            Target::Percent(50),
            Target::Percent(100),
        ]),
        ..rollback()
    };
    let participants = (0..6)
        .map(|i| Participant {
            cluster: format!("c{i}"),
            rank: Default::default(),
            previous: Previous::Nothing,
        })
        .collect();
    let (r, _) = advance(
        RolloutRecord::new("new", 1),
        StepResult::Planned(participants),
        &terms,
    );
    assert_eq!(
        r.batches,
        vec![s(&["c0"]), s(&["c1", "c2"]), s(&["c3", "c4", "c5"])]
    );
}

/// Batch [c, d] of the planned record, with `failing` clusters failing
/// to apply, under `max_failures`: the phase after, and the tolerated set.
fn apply_with(max_failures: Allowance, failing: &[&str]) -> (Phase, Vec<String>) {
    let terms = Terms {
        max_failures,
        ..rollback()
    };
    let r = at(Phase::Applying { batch: 2 });
    let results = ["c", "d"]
        .iter()
        .map(|c| applied(c, failing.contains(c)))
        .collect();
    let (after, _) = advance(r, StepResult::Applied(results), &terms);
    (after.phase, after.tolerated.keys().cloned().collect())
}

#[test]
fn max_failures_table() {
    let gating = Phase::Gating { batch: 2 };
    let rolling = Phase::RollingBack {
        cluster: "a".into(),
    };
    let table: &[(Allowance, &[&str], &Phase, &[&str])] = &[
        (Allowance::Count(0), &[], &gating, &[]),
        (Allowance::Count(0), &["d"], &rolling, &[]),
        (Allowance::Count(1), &["d"], &gating, &["d"]),
        (Allowance::Count(1), &["c", "d"], &rolling, &["c"]),
        (Allowance::Count(2), &["c", "d"], &gating, &["c", "d"]),
        // 50 % of a batch of 2 is 1; 49 % is 0 (rounded down).
        (Allowance::Percent(50), &["c"], &gating, &["c"]),
        (Allowance::Percent(49), &["c"], &rolling, &[]),
        (Allowance::Percent(100), &["c", "d"], &gating, &["c", "d"]),
    ];
    for (allowance, failing, phase, tolerated) in table {
        let (got, got_tolerated) = apply_with(*allowance, failing);
        assert_eq!(&got, *phase, "{allowance:?} with {failing:?} failing");
        assert_eq!(
            got_tolerated,
            s(tolerated),
            "{allowance:?} with {failing:?}"
        );
    }
}

#[test]
fn a_tolerated_cluster_leaves_the_gate_and_the_outcome_names_it() {
    let terms = Terms {
        max_failures: Allowance::Count(1),
        ..rollback()
    };
    let r = at(Phase::Gating { batch: 2 });
    let (r, step) = advance(r, StepResult::GateFailed(failure("d")), &terms);
    assert_eq!(
        step,
        Step::Gate {
            index: 2,
            clusters: s(&["c"])
        },
        "the gate runs again without d"
    );
    // A second failure in the same batch is one too many.
    let (failed, _) = advance(r.clone(), StepResult::GateFailed(failure("c")), &terms);
    assert_eq!(failed.failure.as_ref().unwrap().cluster, "c");
    assert!(matches!(failed.phase, Phase::RollingBack { .. }));
    let (r, step) = advance(r, StepResult::GatePassed, &terms);
    assert_eq!(step, Step::Finish { outcome: Succeeded });
    assert!(!r.done.contains("d") && r.done.contains("c"));
    assert_eq!(
        r.describe(),
        "deployed to 3/4 cluster(s) in 3 batch(es); failed within maxFailures: \
         d Deployment shop/web ProgressDeadlineExceeded"
    );
    assert_eq!(r.left_behind().len(), 1);
    assert_eq!(r.left_behind()[0].cluster, "d");
}
