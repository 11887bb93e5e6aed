//! Rollout events: the engine tells what happens, observers (progress bars,
//! plain log lines, commit statuses, metrics) decide how to show it. No
//! status updates sprinkled through the steps.

use super::record::Failure;
use crate::apply::ClusterReport;
use crate::outcome::RolloutOutcome;
use std::time::Duration;

/// Something that happened during a rollout.
#[derive(Debug, Clone)]
pub enum RolloutEvent {
    /// Clusters were planned and batched.
    Planned {
        /// Commit.
        commit: String,
        /// Batches of clusters.
        batches: Vec<Vec<String>>,
    },
    /// A batch waits to start (pause, minSuccessTime or a time window).
    Waiting {
        /// 0-based batch index.
        index: usize,
        /// Why, and until when as far as known.
        reason: String,
    },
    /// A batch starts applying.
    BatchStarted {
        /// 0-based batch index.
        index: usize,
        /// Clusters in it.
        clusters: Vec<String>,
    },
    /// One cluster finished applying.
    ClusterApplied {
        /// Batch index.
        index: usize,
        /// What applying did.
        report: ClusterReport,
    },
    /// The gate is waiting on objects.
    GateWaiting {
        /// Batch index.
        index: usize,
        /// e.g. `eu-1 Deployment shop/web: 1/3 updated`.
        pending: Vec<String>,
    },
    /// The batch is healthy and baking.
    Baking {
        /// Batch index.
        index: usize,
        /// Bake time.
        bake: Duration,
    },
    /// One analysis check was evaluated on one cluster.
    Analysis {
        /// Batch index.
        index: usize,
        /// Cluster.
        cluster: String,
        /// Check name.
        check: String,
        /// Good, bad, or `None` while a Job runs.
        passed: Option<bool>,
        /// The value read (`0.002`, `status 503, wanted 200`, `Complete …`).
        value: String,
    },
    /// The batch passed its gate.
    BatchHealthy {
        /// Batch index.
        index: usize,
        /// Clusters done so far.
        done: usize,
        /// Clusters taking part.
        total: usize,
    },
    /// The rollout failed; rollback (or pause) follows.
    Failed {
        /// Why.
        failure: Failure,
        /// Whether touched clusters are rolled back next (else: paused).
        rolling_back: bool,
    },
    /// A touched cluster was set back to its previous commit.
    ClusterRolledBack {
        /// What re-applying did.
        report: ClusterReport,
    },
    /// The rollout ended.
    Finished {
        /// Outcome.
        outcome: RolloutOutcome,
        /// Description (as in the commit status).
        description: String,
    },
}

/// Receives rollout events. Must not block.
pub trait Observer: Send + Sync {
    /// Called for each event, in order.
    fn on_event(&self, event: &RolloutEvent);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn on_event(&self, _: &RolloutEvent) {}
}

/// Forwards events to several observers.
pub struct Fanout(pub Vec<Box<dyn Observer>>);

impl Observer for Fanout {
    fn on_event(&self, event: &RolloutEvent) {
        for o in &self.0 {
            o.on_event(event);
        }
    }
}
