//! Whole rollouts driven by random step results (proptest), checking the
//! machine's guarantees at every step and after every simulated crash.

use super::super::*;
use super::fixtures::*;
use crate::outcome::RolloutOutcome::*;
use proptest::prelude::*;

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
        let mut terms = Terms::basic(
            vec![1, 2, 7],
            if w.pause { OnFailure::Pause } else { OnFailure::Rollback },
        );
        // Half the worlds wait between batches and tolerate one failure.
        if w.gates.len() % 2 == 0 {
            terms.pause = std::time::Duration::from_secs(5);
            terms.max_failures = crate::model::Allowance::Count(1);
        }
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
                        .map(|(c, p)| Participant { cluster: c.clone(), rank: Default::default(), previous: p.clone() })
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
                Step::Hold { .. } => unreachable!("no approvals in these terms"),
                Step::Wait { until: None, .. } => StepResult::WaitStarted { at: n as u64 },
                Step::Wait { until: Some(u), .. } => StepResult::Waited { at: *u },
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
