//! Every phase × every step result, and every phase's one next step.

use super::super::*;
use super::fixtures::*;
use crate::outcome::RolloutOutcome::*;

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
    assert_eq!(checked, 16 * 13);
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
