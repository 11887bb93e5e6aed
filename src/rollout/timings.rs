//! Where a rollout's time went, by kind of step: planning (the fleet and
//! each batch), writing (applying and restoring), gating (health and
//! analysis) and waiting (pauses and windows). A rollout report carries
//! them, so a user (and the latency bench) can tell tranche's own time
//! from the time the clusters' controllers take to make workloads healthy.

use super::machine::Step;
use serde::Serialize;
use std::time::Duration;

/// Time spent per kind of step in one run, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTimings {
    /// Planning the rollout and preparing batches (reads and dry-runs).
    pub planning_ms: u64,
    /// Applying batches and restoring clusters (writes).
    pub writing_ms: u64,
    /// Health and analysis gates, bake included.
    pub gating_ms: u64,
    /// Waits before batches (pauses, windows).
    pub waiting_ms: u64,
}

impl StepTimings {
    /// Counts `took` for `step`; steps that are not performed (finish,
    /// hold) count nowhere.
    pub fn add(&mut self, step: &Step, took: Duration) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let slot = match step {
            Step::PlanRollout | Step::PrepareBatch { .. } => &mut self.planning_ms,
            Step::ApplyBatch { .. } | Step::Restore { .. } => &mut self.writing_ms,
            Step::Gate { .. } => &mut self.gating_ms,
            Step::Wait { .. } => &mut self.waiting_ms,
            Step::Finish { .. } | Step::Hold { .. } => return,
        };
        *slot = slot.saturating_add(ms);
    }

    /// Everything but the gates and waits: tranche's own time.
    pub fn own_ms(&self) -> u64 {
        self.planning_ms.saturating_add(self.writing_ms)
    }
}

impl std::fmt::Display for StepTimings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "planning {} ms, writing {} ms, gating {} ms, waiting {} ms",
            self.planning_ms, self.writing_ms, self.gating_ms, self.waiting_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_count_by_kind() {
        let mut t = StepTimings::default();
        t.add(&Step::PlanRollout, Duration::from_millis(120));
        let batch = vec!["a".to_string()];
        t.add(
            &Step::PrepareBatch {
                index: 0,
                clusters: batch.clone(),
                reread: vec![],
            },
            Duration::from_millis(30),
        );
        t.add(
            &Step::ApplyBatch {
                index: 0,
                clusters: batch.clone(),
            },
            Duration::from_millis(400),
        );
        t.add(
            &Step::Gate {
                index: 0,
                clusters: batch,
            },
            Duration::from_secs(3),
        );
        assert_eq!(
            t,
            StepTimings {
                planning_ms: 150,
                writing_ms: 400,
                gating_ms: 3000,
                waiting_ms: 0
            }
        );
        assert_eq!(t.own_ms(), 550);
    }
}
