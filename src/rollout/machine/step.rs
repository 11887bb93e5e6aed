//! The machine's vocabulary: the steps it asks for, the results it takes,
//! and the policy terms it decides with. Plain data.

use crate::model::{OnFailure, RolloutPolicy};
use crate::object::ObjectRef;
use crate::outcome::RolloutOutcome;
use crate::rollout::record::{Failure, Previous};
use std::collections::BTreeSet;

/// The parts of the commit's RolloutPolicy the machine decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Batch ratio.
    pub steps: Vec<u32>,
    /// What a failed batch does.
    pub on_failure: OnFailure,
}

impl From<&RolloutPolicy> for Terms {
    fn from(p: &RolloutPolicy) -> Terms {
        Terms {
            steps: p.steps.clone(),
            on_failure: p.on_failure,
        }
    }
}

/// What the executor is asked to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Plan every cluster; read what each participant ran before.
    PlanRollout,
    /// Re-plan batch `index`'s `clusters` (reads only); re-read the
    /// previous commit of `reread` (it was unknown).
    PrepareBatch {
        /// Batch index.
        index: usize,
        /// Clusters of the batch not yet done.
        clusters: Vec<String>,
        /// Clusters whose previous commit must be read again.
        reread: Vec<String>,
    },
    /// Write batch `index`'s `clusters` (those with changes).
    ApplyBatch {
        /// Batch index.
        index: usize,
        /// Clusters to write.
        clusters: Vec<String>,
    },
    /// Wait for the health gate of batch `index`: the objects the record
    /// says changed on `clusters`, then the bake time.
    Gate {
        /// Batch index.
        index: usize,
        /// Clusters of the batch not yet done.
        clusters: Vec<String>,
    },
    /// Re-apply `to` (`None`: nothing) on `cluster` and gate it.
    Restore {
        /// Touched cluster.
        cluster: String,
        /// The commit it ran before, or `None` for nothing.
        to: Option<String>,
    },
    /// Record the outcome in the fleet memory and clear the record (kept
    /// when the rollback is incomplete, so the next start retries it).
    Finish {
        /// How it ended.
        outcome: RolloutOutcome,
    },
}

/// A cluster that takes part in the rollout (its plan is not empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Cluster.
    pub cluster: String,
    /// Its `spec.rolloutOrder`.
    pub order: Option<i64>,
    /// What it ran before.
    pub previous: Previous,
}

/// What re-planning one cluster of a batch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanVerdict {
    /// It has changes to write; these objects will be created or
    /// changed (the gate watches them, even if a crash comes between the
    /// write and the record of it).
    Changes(BTreeSet<ObjectRef>),
    /// It already runs this commit.
    NoChanges,
    /// It could not be planned (unreachable, or an error listing it).
    Failed(Failure),
}

/// One cluster's share of [`StepResult::Prepared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Cluster.
    pub cluster: String,
    /// Its previous commit, read again when the step asked.
    pub previous: Option<Previous>,
    /// What its plan says.
    pub plan: PlanVerdict,
}

/// One cluster's share of [`StepResult::Applied`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Cluster.
    pub cluster: String,
    /// Objects created or changed (the gate watches them).
    pub changed: BTreeSet<ObjectRef>,
    /// Why applying failed, if it did.
    pub failure: Option<Failure>,
}

/// What performing a step gave. Every error of a step is one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// [`Step::PlanRollout`]: the participants.
    Planned(Vec<Participant>),
    /// [`Step::PrepareBatch`]: one entry per cluster asked about.
    Prepared(Vec<Prepared>),
    /// [`Step::ApplyBatch`]: one entry per cluster written.
    Applied(Vec<Applied>),
    /// [`Step::Gate`]: healthy through the bake time.
    GatePassed,
    /// [`Step::Gate`]: an object failed, timed out or regressed.
    GateFailed(Failure),
    /// [`Step::Restore`]: restored, or why not.
    Restored {
        /// Cluster.
        cluster: String,
        /// Why it is not back on its previous commit and healthy.
        failure: Option<String>,
    },
}
