//! The rollout of a merged pull request, batch by batch, for its comment:
//! a fold of the rollout's events. Pure.

use crate::outcome::RolloutOutcome;
use crate::rollout::event::RolloutEvent;

/// Where one batch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchState {
    /// Not started.
    Pending,
    /// Holding before it starts (approval, pause, window, …), with why.
    Waiting(String),
    /// Being applied or waiting for health.
    Applying,
    /// Applied and healthy.
    Healthy,
    /// Where the rollout failed, with why.
    Failed(String),
}

/// The rollout of one commit, as the comment shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutProgress {
    /// The commit rolled out (the merge commit).
    pub commit: String,
    /// Batches and their clusters, once planned.
    pub batches: Vec<(Vec<String>, BatchState)>,
    /// Clusters rolled back so far.
    pub rolled_back: Vec<String>,
    /// How it ended, with the status line.
    pub outcome: Option<(RolloutOutcome, String)>,
}

impl RolloutProgress {
    /// Nothing known yet about the rollout of `commit`.
    pub fn new(commit: &str) -> RolloutProgress {
        RolloutProgress {
            commit: commit.to_string(),
            batches: vec![],
            rolled_back: vec![],
            outcome: None,
        }
    }

    /// Folds one event in; returns whether the comment should change.
    pub fn apply(&mut self, event: &RolloutEvent) -> bool {
        let set = |p: &mut RolloutProgress, index: usize, state: BatchState| match p
            .batches
            .get_mut(index)
        {
            Some((_, s)) if *s != state => {
                *s = state;
                true
            }
            _ => false,
        };
        match event {
            RolloutEvent::Planned { batches, .. } => {
                self.batches = batches
                    .iter()
                    .map(|b| (b.clone(), BatchState::Pending))
                    .collect();
                true
            }
            RolloutEvent::Waiting { index, reason } => {
                set(self, *index, BatchState::Waiting(reason.clone()))
            }
            RolloutEvent::BatchStarted { index, .. } => set(self, *index, BatchState::Applying),
            RolloutEvent::BatchHealthy { index, .. } => set(self, *index, BatchState::Healthy),
            RolloutEvent::Failed { failure, .. } => {
                let at = self
                    .batches
                    .iter()
                    .position(|(_, s)| !matches!(s, BatchState::Healthy | BatchState::Pending))
                    .or_else(|| {
                        self.batches
                            .iter()
                            .position(|(c, _)| c.contains(&failure.cluster))
                    });
                match at {
                    Some(i) => set(self, i, BatchState::Failed(failure.to_string())),
                    None => false,
                }
            }
            RolloutEvent::ClusterRolledBack { report } => {
                self.rolled_back.push(report.cluster.clone());
                true
            }
            RolloutEvent::Finished {
                outcome,
                description,
            } => {
                self.outcome = Some((*outcome, description.clone()));
                true
            }
            RolloutEvent::ClusterApplied { .. }
            | RolloutEvent::GateWaiting { .. }
            | RolloutEvent::Analysis { .. }
            | RolloutEvent::Baking { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::record::Failure;

    #[test]
    fn batches_move_from_pending_to_healthy_or_failed() {
        let mut p = RolloutProgress::new("abc");
        assert!(p.apply(&RolloutEvent::Planned {
            commit: "abc".into(),
            batches: vec![vec!["a".into()], vec!["b".into()]],
        }));
        p.apply(&RolloutEvent::BatchStarted {
            index: 0,
            clusters: vec!["a".into()],
        });
        p.apply(&RolloutEvent::BatchHealthy {
            index: 0,
            done: 1,
            total: 2,
        });
        assert!(p.apply(&RolloutEvent::Waiting {
            index: 1,
            reason: "waiting for approval".into()
        }));
        assert!(!p.apply(&RolloutEvent::Waiting {
            index: 1,
            reason: "waiting for approval".into()
        }));
        p.apply(&RolloutEvent::Failed {
            failure: Failure {
                cluster: "batch 2".into(),
                object: None,
                reason: "aborted by alice".into(),
            },
            rolling_back: true,
        });
        assert_eq!(p.batches[0].1, BatchState::Healthy);
        assert_eq!(
            p.batches[1].1,
            BatchState::Failed("batch 2 aborted by alice".into())
        );
    }
}
